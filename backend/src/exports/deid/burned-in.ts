/**
 * Whether an image's pixels may carry burned-in identifying text, which no header
 * de-identification removes (PS3.15 E.1.1: the Clean Pixel Data option is not applied here).
 */

/** SOP classes whose images often have text (names, dates, IDs) burned into the pixels. */
const riskySopClasses: ReadonlyMap<string, string> = new Map([
  ['1.2.840.10008.5.1.4.1.1.6.1', 'Ultrasound Image'],
  ['1.2.840.10008.5.1.4.1.1.6', 'Ultrasound Image (retired)'],
  ['1.2.840.10008.5.1.4.1.1.3.1', 'Ultrasound Multi-frame Image'],
  ['1.2.840.10008.5.1.4.1.1.3', 'Ultrasound Multi-frame Image (retired)'],
  ['1.2.840.10008.5.1.4.1.1.6.2', 'Enhanced US Volume'],
  ['1.2.840.10008.5.1.4.1.1.6.3', 'Photoacoustic Image'],
  ['1.2.840.10008.5.1.4.1.1.7', 'Secondary Capture Image'],
  ['1.2.840.10008.5.1.4.1.1.7.1', 'Multi-frame Single Bit Secondary Capture Image'],
  ['1.2.840.10008.5.1.4.1.1.7.2', 'Multi-frame Grayscale Byte Secondary Capture Image'],
  ['1.2.840.10008.5.1.4.1.1.7.3', 'Multi-frame Grayscale Word Secondary Capture Image'],
  ['1.2.840.10008.5.1.4.1.1.7.4', 'Multi-frame True Color Secondary Capture Image'],
  ['1.2.840.10008.5.1.4.1.1.77.1.1', 'VL Endoscopic Image'],
  ['1.2.840.10008.5.1.4.1.1.77.1.1.1', 'Video Endoscopic Image'],
  ['1.2.840.10008.5.1.4.1.1.77.1.2', 'VL Microscopic Image'],
  ['1.2.840.10008.5.1.4.1.1.77.1.2.1', 'Video Microscopic Image'],
  ['1.2.840.10008.5.1.4.1.1.77.1.3', 'VL Slide-Coordinates Microscopic Image'],
  ['1.2.840.10008.5.1.4.1.1.77.1.4', 'VL Photographic Image'],
  ['1.2.840.10008.5.1.4.1.1.77.1.4.1', 'Video Photographic Image'],
  ['1.2.840.10008.5.1.4.1.1.77.1.5.1', 'Ophthalmic Photography 8 Bit Image'],
  ['1.2.840.10008.5.1.4.1.1.77.1.5.2', 'Ophthalmic Photography 16 Bit Image'],
  ['1.2.840.10008.5.1.4.1.1.77.1.7', 'Dermoscopic Photography Image'],
  ['1.2.840.10008.5.1.4.1.1.104.1', 'Encapsulated PDF'],
  ['1.2.840.10008.5.1.4.1.1.104.2', 'Encapsulated CDA'],
]);

/** Modalities whose images often have burned-in text. */
const riskyModalities: ReadonlyMap<string, string> = new Map([
  ['US', 'ultrasound'],
  ['IVUS', 'intravascular ultrasound'],
  ['SC', 'secondary capture'],
  ['XC', 'external-camera photography'],
  ['ES', 'endoscopy'],
  ['GM', 'general microscopy'],
  ['OP', 'ophthalmic photography'],
  ['DOC', 'document'],
]);

function firstString(dataset: Record<string, unknown>, tag: string, keyword: string): string | null {
  const el = dataset[tag] ?? dataset[keyword];
  let v: unknown = el;
  if (el && typeof el === 'object' && !Array.isArray(el) && 'Value' in el) v = (el as { Value?: unknown }).Value;
  if (Array.isArray(v)) v = v[0];
  return typeof v === 'string' && v.trim() ? v.trim().toUpperCase() : null;
}

/**
 * Flags an instance (or a series, from its first instance) when BurnedInAnnotation (0028,0301) is
 * YES, when RecognizableVisualFeatures (0028,0302) is YES, or when its SOP class or modality is one
 * that often carries burned-in text (ultrasound, secondary capture, video/visible-light photography,
 * encapsulated documents) — whatever BurnedInAnnotation says for those, since it is often absent or
 * wrong there; the reason says which. Accepts a dcmjs denaturalized dataset ('00280301': { Value })
 * or a naturalized one (BurnedInAnnotation: 'YES').
 */
export function burnedInRisk(dataset: Record<string, unknown>): { flagged: boolean; reason: string | null } {
  const burnedIn = firstString(dataset, '00280301', 'BurnedInAnnotation');
  const faces = firstString(dataset, '00280302', 'RecognizableVisualFeatures');
  const sopClass = firstString(dataset, '00080016', 'SOPClassUID');
  const modality = firstString(dataset, '00080060', 'Modality');
  if (burnedIn === 'YES') return { flagged: true, reason: 'BurnedInAnnotation (0028,0301) is YES: the pixels carry identifying text' };
  if (faces === 'YES') return { flagged: true, reason: 'RecognizableVisualFeatures (0028,0302) is YES: the pixels may show a face' };
  const kind = (sopClass && riskySopClasses.get(sopClass)) ?? (modality && riskyModalities.get(modality)) ?? null;
  if (!kind) return { flagged: false, reason: null };
  const said = burnedIn === 'NO' ? 'BurnedInAnnotation says NO, which is often wrong for this kind of image' : 'BurnedInAnnotation (0028,0301) is absent';
  const what = sopClass && riskySopClasses.has(sopClass) ? `${kind} (SOP class ${sopClass})` : `modality ${modality} (${kind})`;
  return { flagged: true, reason: `${what} often has burned-in patient text; ${said}` };
}
