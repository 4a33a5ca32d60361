/**
 * Test helper (used by the unit and integration tests, not by production code): a BINARY SEG read back
 * onto a source grid. Parses with dcmjs, unpacks the 1-bit frames, and places each frame by its own
 * PlanePosition (projected on the grid's normal) rather than by its order, so a SEG that misplaces a
 * frame decodes to a different label map. Written independently of the encoder's bookkeeping.
 */
import { lpsToVoxel, type VolumeGrid } from '../volume/volume.js';
import { bitAt } from './bits.js';
import { readPart10, type NaturalDataset } from './dcmjs.js';
import type { LabelMap } from './label-map.js';

export type DecodedSegment = {
  number: number;
  label: string;
  /** The label value named in SegmentDescription ("… label value N …"), when there is one. */
  labelValue: number | null;
  algorithmType: string;
  category: { value: string; scheme: string; meaning: string };
  type: { value: string; scheme: string; meaning: string };
  cielab: number[];
};

export type DecodedSeg = LabelMap & {
  /** SegmentSequence as read. */
  segments: DecodedSegment[];
  /** Per frame, in file order: its segment, its slice index k on the grid, the SOP instance it derives from. */
  frames: { segment: number; k: number; sourceSopInstanceUid: string; dimensionIndexValues: number[] }[];
  dataset: NaturalDataset;
};

const first = <T = NaturalDataset>(value: unknown, what: string): T => {
  const item = Array.isArray(value) ? value[0] : value;
  if (item === undefined || item === null) throw new Error(`SEG: ${what} is missing`);
  return item as T;
};
const numbers = (value: unknown): number[] => (Array.isArray(value) ? value : [value]).map(Number);

/**
 * The label map (i fastest, then j, then k in grid order) a SEG decodes to on `grid`: each voxel holds
 * the label value of its segment — from `labelValues` (e.g. EncodedSeg.segments) when given, else from
 * the "label value N" the writer puts in each SegmentDescription, else the segment number.
 */
export function decodeSegToLabelMap(part10: Buffer, grid: VolumeGrid, labelValues?: { number: number; labelValue: number }[]): Uint8Array | Uint16Array {
  return decodeSeg(part10, grid, labelValues).data;
}

/**
 * Decodes `part10` onto `grid`, with the segments and frames as read. Throws when a frame is off the
 * grid, references an unknown segment, or two segments claim one voxel (BINARY segments from a label
 * map never overlap).
 */
export function decodeSeg(part10: Buffer, grid: VolumeGrid, labelValues?: { number: number; labelValue: number }[], tolerance = 1e-3): DecodedSeg {
  const { dataset } = readPart10(part10);
  if (dataset.SOPClassUID !== '1.2.840.10008.5.1.4.1.1.66.4') throw new Error(`SEG: SOPClassUID is ${String(dataset.SOPClassUID)}`);
  if (dataset.SegmentationType !== 'BINARY') throw new Error(`SEG: SegmentationType is ${String(dataset.SegmentationType)}`);
  if (dataset.BitsAllocated !== 1) throw new Error(`SEG: BitsAllocated is ${String(dataset.BitsAllocated)}`);
  const rows = Number(dataset.Rows);
  const columns = Number(dataset.Columns);
  if (rows !== grid.rows || columns !== grid.columns) throw new Error(`SEG: ${columns}×${rows} frames on a ${grid.columns}×${grid.rows} grid`);
  const frameCount = Number(dataset.NumberOfFrames);
  const perFrame = (dataset.PerFrameFunctionalGroupsSequence as NaturalDataset[] | undefined) ?? [];
  if (perFrame.length !== frameCount) throw new Error(`SEG: NumberOfFrames ${frameCount}, ${perFrame.length} per-frame items`);

  const shared = first(dataset.SharedFunctionalGroupsSequence, 'SharedFunctionalGroupsSequence');
  const iop = numbers(first(shared.PlaneOrientationSequence, 'PlaneOrientationSequence').ImageOrientationPatient);
  const expected = [...grid.rowDirection, ...grid.columnDirection];
  if (iop.length !== 6 || iop.some((v, n) => Math.abs(v - expected[n]!) > tolerance)) throw new Error(`SEG: orientation ${iop.join('\\')} is not the grid's ${expected.join('\\')}`);

  const segments: DecodedSegment[] = ((dataset.SegmentSequence as NaturalDataset[] | undefined) ?? []).map((s) => {
    const c = first(s.SegmentedPropertyCategoryCodeSequence, 'SegmentedPropertyCategoryCodeSequence');
    const t = first(s.SegmentedPropertyTypeCodeSequence, 'SegmentedPropertyTypeCodeSequence');
    const described = /label value (\d+)/i.exec(String(s.SegmentDescription ?? ''));
    return {
      number: Number(s.SegmentNumber),
      label: String(s.SegmentLabel ?? ''),
      labelValue: described ? Number(described[1]) : null,
      algorithmType: String(s.SegmentAlgorithmType ?? ''),
      category: { value: String(c.CodeValue), scheme: String(c.CodingSchemeDesignator), meaning: String(c.CodeMeaning) },
      type: { value: String(t.CodeValue), scheme: String(t.CodingSchemeDesignator), meaning: String(t.CodeMeaning) },
      cielab: numbers(s.RecommendedDisplayCIELabValue),
    };
  });
  const valueOf = new Map<number, number>();
  for (const s of segments) valueOf.set(s.number, s.labelValue ?? s.number);
  if (labelValues) for (const { number, labelValue } of labelValues) if (valueOf.has(number)) valueOf.set(number, labelValue);
  const maxValue = Math.max(0, ...valueOf.values());

  const pixelData = first<ArrayBuffer>(dataset.PixelData, 'PixelData');
  const bytes = new Uint8Array(pixelData);
  const framePixels = rows * columns;
  if (bytes.length < Math.ceil((frameCount * framePixels) / 8)) throw new Error(`SEG: ${bytes.length} bytes of pixel data for ${frameCount} frames of ${columns}×${rows}`);

  const data = maxValue > 255 ? new Uint16Array(framePixels * grid.slices) : new Uint8Array(framePixels * grid.slices);
  const frames: DecodedSeg['frames'] = [];
  perFrame.forEach((item, f) => {
    const segment = Number(first(item.SegmentIdentificationSequence, 'SegmentIdentificationSequence').ReferencedSegmentNumber);
    const value = valueOf.get(segment);
    if (value === undefined) throw new Error(`SEG: frame ${f + 1} references segment ${segment}, which SegmentSequence does not define`);
    const ipp = numbers(first(item.PlanePositionSequence, `frame ${f + 1} PlanePositionSequence`).ImagePositionPatient);
    const [i, j, kf] = lpsToVoxel(grid, ipp);
    const k = Math.round(kf);
    if (Math.abs(i) > tolerance || Math.abs(j) > tolerance || Math.abs(kf - k) * grid.spacing[2] > tolerance || k < 0 || k >= grid.slices) {
      throw new Error(`SEG: frame ${f + 1} at ${ipp.join('\\')} is not on a slice of the grid (voxel ${i}, ${j}, ${kf})`);
    }
    const derivation = first(item.DerivationImageSequence, `frame ${f + 1} DerivationImageSequence`);
    const sourceImage = first(derivation.SourceImageSequence, `frame ${f + 1} SourceImageSequence`);
    const dimensionIndexValues = numbers(first(item.FrameContentSequence, `frame ${f + 1} FrameContentSequence`).DimensionIndexValues);
    frames.push({ segment, k, sourceSopInstanceUid: String(sourceImage.ReferencedSOPInstanceUID), dimensionIndexValues });

    const bitBase = f * framePixels;
    const voxelBase = k * framePixels;
    for (let p = 0; p < framePixels; p += 1) {
      if (bitAt(bytes, bitBase + p) === 0) continue;
      const at = voxelBase + p;
      if (data[at] !== 0) throw new Error(`SEG: voxel ${p % columns}, ${Math.floor(p / columns)}, ${k} belongs to two segments`);
      data[at] = value;
    }
  });

  return { data, dims: [grid.columns, grid.rows, grid.slices], affineLps: grid.affineLps.map((r) => [...r]), segments, frames, dataset };
}
