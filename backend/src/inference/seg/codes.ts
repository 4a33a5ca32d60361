/**
 * Coded segment properties (SegmentedPropertyCategory/Type) for the labels models usually output.
 *
 * Source of every code: DICOM PS3.16 context groups as published in the standard and mirrored in
 * pydicom's generated tables (pydicom/sr/_concepts_dict.py, which lists the CIDs each code belongs to):
 *   CID 7150 Segmentation Property Categories: Anatomical Structure SCT 91723000, Tissue SCT 85756007.
 *   CID 7151 Segmentation Property Types, via its included groups:
 *     CID 7192 Anatomical Structure Segmentation Types: Entire body SCT 38266002, Lung SCT 39607008;
 *     CID 7153 CNS Segmentation Types: Brain SCT 12738006;
 *     CID 7154 Abdominal Segmentation Types: Liver SCT 10200004, Spleen SCT 78961009, Kidney SCT 64033007;
 *     CID 7166 Common Tissue Segmentation Types: Tissue SCT 85756007, Bone SCT 3138006 (bone *tissue*;
 *       "Bone structure" SCT 272673000 is not in any segmentation CID, so it is not used).
 *   CID 244 Laterality: Left SCT 7771000, Right SCT 24028007 (type modifiers for "left …"/"right …").
 * Note: older dcmqi/Slicer files use SCT 123037004 for "Anatomical Structure" (the pre-2019 mapping of
 * SRT T-D000A); current CID 7150 has SCT 91723000, which is what is written here.
 *
 * Fallback for a label not in the catalogue: category Tissue / type Tissue (SCT 85756007), the most
 * generic true statement about an automatically segmented region. "Morphologically Abnormal Structure /
 * Mass" was rejected: it would assert a finding the model never claimed.
 */
export type Code = { value: string; scheme: 'SCT' | 'DCM'; meaning: string };

const sct = (value: string, meaning: string): Code => ({ value, scheme: 'SCT', meaning });

export const ANATOMICAL_STRUCTURE = sct('91723000', 'Anatomical Structure');
export const TISSUE = sct('85756007', 'Tissue');
export const LEFT = sct('7771000', 'Left');
export const RIGHT = sct('24028007', 'Right');

type Entry = { category: Code; type: Code; color: [number, number, number] };

// Colours: 3D Slicer's GenericAnatomyColors where it has the structure, else a distinct hue.
export const labelCatalogue: Record<string, Entry> = {
  body: { category: ANATOMICAL_STRUCTURE, type: sct('38266002', 'Entire body'), color: [177, 122, 101] },
  lung: { category: ANATOMICAL_STRUCTURE, type: sct('39607008', 'Lung'), color: [197, 165, 145] },
  bone: { category: TISSUE, type: sct('3138006', 'Bone'), color: [241, 214, 145] },
  tissue: { category: TISSUE, type: TISSUE, color: [128, 174, 128] },
  liver: { category: ANATOMICAL_STRUCTURE, type: sct('10200004', 'Liver'), color: [221, 130, 101] },
  spleen: { category: ANATOMICAL_STRUCTURE, type: sct('78961009', 'Spleen'), color: [157, 108, 162] },
  kidney: { category: ANATOMICAL_STRUCTURE, type: sct('64033007', 'Kidney'), color: [185, 102, 83] },
  brain: { category: ANATOMICAL_STRUCTURE, type: sct('12738006', 'Brain'), color: [250, 250, 225] },
};

/** Other spellings models use for the same structures. */
const ALIASES: Record<string, string> = {
  'entire body': 'body',
  'whole body': 'body',
  lungs: 'lung',
  bones: 'bone',
  skeleton: 'bone',
  foreground: 'tissue',
  kidneys: 'kidney',
};

/** Fallback colours for labels not in the catalogue, picked by segment number. */
const PALETTE: [number, number, number][] = [
  [230, 25, 75],
  [60, 180, 75],
  [255, 225, 25],
  [0, 130, 200],
  [245, 130, 48],
  [145, 30, 180],
  [70, 240, 240],
  [240, 50, 230],
  [210, 245, 60],
  [250, 190, 212],
];

export type ResolvedCodes = { category: Code; type: Code; modifier?: Code; color: [number, number, number]; known: boolean };

/**
 * Category, type, laterality modifier and colour for a label name: the catalogue entry for the name
 * (case, "_" and "-" ignored; a leading/trailing "left"/"right" becomes a type modifier), else Tissue.
 */
export function codesForLabel(label: string, fallbackIndex = 0): ResolvedCodes {
  let name = label.toLowerCase().replace(/[_\-.]+/g, ' ').replace(/\s+/g, ' ').trim();
  let modifier: Code | undefined;
  const side = /^(left|right) (.+)$/.exec(name) ?? /^(.+) (left|right)$/.exec(name);
  if (side) {
    const [a, b] = [side[1]!, side[2]!];
    const isPrefix = a === 'left' || a === 'right';
    const sideName = isPrefix ? a : b;
    const rest = isPrefix ? b : a;
    const key = ALIASES[rest] ?? rest;
    if (labelCatalogue[key]) {
      modifier = sideName === 'left' ? LEFT : RIGHT;
      name = rest;
    }
  }
  const entry = labelCatalogue[ALIASES[name] ?? name];
  if (entry) return { ...entry, ...(modifier ? { modifier } : {}), known: true };
  return { category: TISSUE, type: TISSUE, color: PALETTE[fallbackIndex % PALETTE.length]!, known: false };
}
