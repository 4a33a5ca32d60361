import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DATA_DIR, readSeries, shuffled, sourceOf, sphereLabels, syntheticSeries } from '../volume/test-support.js';
import { buildGrid, niftiFromLabels, voxelToLps, type SliceMeta, type VolumeGrid } from '../volume/volume.js';
import { packedLength } from './bits.js';
import { codesForLabel, labelCatalogue } from './codes.js';
import { readPart10, type NaturalDataset } from './dcmjs.js';
import { decodeSeg, decodeSegToLabelMap } from './decode.js';
import { checkLabelMapOnGrid, ds, encodeSeg, readLabelMap, SegEmptyError, SegGridError, SEGMENTATION_STORAGE, type EncodeSegInput, type SegSource } from './seg-writer.js';

const tmp = mkdtempSync(join(tmpdir(), 'seg-writer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SOURCE: SegSource = {
  studyInstanceUid: '1.2.826.0.1.3680043.10.999.1',
  seriesInstanceUid: '1.2.826.0.1.3680043.10.999.2',
  frameOfReferenceUid: '1.2.826.0.1.3680043.10.999.3',
  sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
  patient: { PatientName: 'Doe^Jane', PatientID: 'P-1', PatientBirthDate: '1970-01-02', PatientSex: 'f' },
  study: { StudyDate: '20240131', StudyTime: '101500', StudyID: 'S1', AccessionNumber: 'A1', ReferringPhysicianName: 'Who^Dr', StudyDescription: 'CT abdomen' },
};

const input = (grid: VolumeGrid, data: Uint8Array | Uint16Array, segments: EncodeSegInput['segments'], extra: Partial<EncodeSegInput> = {}): EncodeSegInput => ({
  source: SOURCE,
  grid,
  labelMap: { data, dims: [grid.columns, grid.rows, grid.slices], affineLps: grid.affineLps },
  segments,
  algorithm: { name: 'test model', version: '2.1' },
  seriesDescription: 'Test segmentation',
  ...extra,
});

const first = (v: unknown) => (v as NaturalDataset[])[0]!;
const obliqueIop = (): SliceMeta['imageOrientationPatient'] => {
  const a = (35 * Math.PI) / 180;
  const b = (15 * Math.PI) / 180;
  return [Math.cos(b), Math.sin(b), 0, -Math.sin(b) * Math.cos(a), Math.cos(b) * Math.cos(a), Math.sin(a)];
};

describe('encodeSeg: segments and frames', () => {
  // 5×3 frames (15 pixels: frames start mid-byte), 4 slices.
  const grid = buildGrid(syntheticSeries({ columns: 5, rows: 3, slices: 4, iop: [1, 0, 0, 0, 1, 0], origin: [0, 0, 0], pixelSpacing: [2, 1], step: 3 }));
  const data = new Uint8Array(60);
  const at = (i: number, j: number, k: number) => i + 5 * (j + 3 * k);
  data[at(0, 0, 1)] = 2; // spleen on slices 1 and 3
  data[at(4, 2, 3)] = 2;
  data[at(1, 1, 3)] = 2;
  data[at(2, 1, 0)] = 1; // liver on slices 0 and 2
  data[at(3, 0, 2)] = 1;
  data[at(4, 2, 2)] = 9; // a label no one asked for

  const encoded = encodeSeg(input(grid, data, [
    { labelValue: 2, label: 'spleen' },
    { labelValue: 1, label: 'liver', color: [10, 20, 30] },
    { labelValue: 5, label: 'brain' },
  ]));
  const { dataset } = readPart10(encoded.part10);

  it('numbers the non-empty segments 1.. in request order, drops and reports the empty one and the unlisted value', () => {
    expect(encoded.segments.map((s) => [s.number, s.labelValue, s.label, s.voxelCount, s.frames])).toEqual([
      [1, 2, 'spleen', 3, 2],
      [2, 1, 'liver', 2, 2],
    ]);
    expect(encoded.emptySegments).toEqual([{ labelValue: 5, label: 'brain' }]);
    expect(encoded.unlistedLabelValues).toEqual([9]);
    // 2 × 1 × 3 mm voxels: 6 mm³ each.
    expect(encoded.segments.map((s) => s.volumeCm3)).toEqual([0.018, 0.012]);
    expect(encoded.segments[1]!.color).toEqual([10, 20, 30]);
    expect((dataset.SegmentSequence as NaturalDataset[]).map((s) => [s.SegmentNumber, s.SegmentLabel])).toEqual([
      [1, 'spleen'],
      [2, 'liver'],
    ]);
  });

  it('orders frames segment by segment, then by position along the normal, omitting empty frames', () => {
    const frames = dataset.PerFrameFunctionalGroupsSequence as NaturalDataset[];
    expect(dataset.NumberOfFrames).toBe(4);
    expect(frames.map((f) => first(f.FrameContentSequence).DimensionIndexValues)).toEqual([
      [1, 2],
      [1, 4],
      [2, 1],
      [2, 3],
    ]);
    expect(frames.map((f) => first(f.SegmentIdentificationSequence).ReferencedSegmentNumber)).toEqual([1, 1, 2, 2]);
    expect(frames.map((f) => first(f.PlanePositionSequence).ImagePositionPatient)).toEqual([
      [0, 0, 3],
      [0, 0, 9],
      [0, 0, 0],
      [0, 0, 6],
    ]);
  });

  it('packs the frames bit by bit without per-frame padding, padded to an even length', () => {
    const pixels = new Uint8Array((dataset.PixelData as ArrayBuffer[])[0]!);
    expect(pixels.length).toBe(packedLength(4 * 15)); // 60 bits → 8 bytes
    const set: number[] = [];
    for (let b = 0; b < 64; b += 1) if ((pixels[b >> 3]! >> (b & 7)) & 1) set.push(b);
    // frame 0 (spleen k=1): pixel 0 → bit 0; frame 1 (spleen k=3): pixels 6 (1,1) and 14 (4,2) → bits 21, 29;
    // frame 2 (liver k=0): pixel 7 (2,1) → bit 37; frame 3 (liver k=2): pixel 3 (3,0) → bit 48.
    expect(set).toEqual([0, 21, 29, 37, 48]);
  });

  it('decodes back to the same label map voxel for voxel (the unlisted label excepted)', () => {
    const expected = Uint8Array.from(data, (v) => (v === 9 ? 0 : v));
    expect(Array.from(decodeSegToLabelMap(encoded.part10, grid))).toEqual(Array.from(expected));
    expect(Array.from(decodeSegToLabelMap(encoded.part10, grid, encoded.segments))).toEqual(Array.from(expected));
  });

  it('refuses a map with no requested label, a map off the grid size, and bad specs', () => {
    expect(() => encodeSeg(input(grid, new Uint8Array(60), [{ labelValue: 1, label: 'liver' }]))).toThrow(SegEmptyError);
    expect(() => encodeSeg(input(grid, new Uint8Array(60), [{ labelValue: 1, label: 'liver' }]))).toThrow('the label map contains none of the requested labels (1 liver); there is no segmentation to store');
    expect(() => encodeSeg({ ...input(grid, data, [{ labelValue: 1, label: 'liver' }]), labelMap: { data: new Uint8Array(45), dims: [5, 3, 3], affineLps: grid.affineLps } })).toThrow(SegGridError);
    expect(() => encodeSeg(input(grid, data, [{ labelValue: 1, label: 'a' }, { labelValue: 1, label: 'b' }]))).toThrow(/listed twice/);
    expect(() => encodeSeg(input(grid, data, [{ labelValue: 0, label: 'background' }]))).toThrow(/from 1 to 65535/);
    expect(() => encodeSeg({ ...input(grid, data, [{ labelValue: 1, label: 'liver' }]), source: { ...SOURCE, frameOfReferenceUid: '' } })).toThrow(/no FrameOfReferenceUID/);
  });
});

describe('encodeSeg: the attributes OHIF and the IOD need', () => {
  const grid = buildGrid(shuffled(syntheticSeries({ columns: 8, rows: 6, slices: 5, iop: [1, 0, 0, 0, 1, 0], origin: [-10, 20, -30], pixelSpacing: [0.75, 0.5], step: 1.25 })));
  const data = sphereLabels(grid, [{ label: 1, centre: [4, 3, 2], radiusMm: 2 }]);
  const now = new Date(2025, 0, 2, 3, 4, 5);
  const encoded = encodeSeg(input(grid, data, [{ labelValue: 1, label: 'left kidney' }], { now, contentLabel: 'kidney-v2.1 (beta)', seriesNumber: 77, uids: { seriesInstanceUid: '2.25.1234', sopInstanceUid: '2.25.5678' } }));
  const { meta, dataset } = readPart10(encoded.part10);

  it('is a BINARY Segmentation Storage object in explicit VR little endian, in the source study and frame of reference', () => {
    expect(meta.MediaStorageSOPClassUID).toBe(SEGMENTATION_STORAGE);
    expect(meta.TransferSyntaxUID).toBe('1.2.840.10008.1.2.1');
    expect(dataset).toMatchObject({
      SOPClassUID: SEGMENTATION_STORAGE,
      SOPInstanceUID: '2.25.5678',
      SeriesInstanceUID: '2.25.1234',
      StudyInstanceUID: SOURCE.studyInstanceUid,
      FrameOfReferenceUID: SOURCE.frameOfReferenceUid,
      Modality: 'SEG',
      SegmentationType: 'BINARY',
      BitsAllocated: 1,
      BitsStored: 1,
      HighBit: 0,
      PixelRepresentation: 0,
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      LossyImageCompression: '00',
      ImageType: ['DERIVED', 'PRIMARY'],
      Rows: 6,
      Columns: 8,
      SeriesNumber: 77,
      InstanceNumber: 1,
      ContentLabel: 'KIDNEY_V2_1_BETA',
      ContentDescription: 'Test segmentation',
      SeriesDescription: 'Test segmentation',
      ContentDate: '20250102',
      ContentTime: '030405',
      Manufacturer: 'Preview-DICOM',
      ManufacturerModelName: 'Preview-DICOM segmentation',
      DeviceSerialNumber: 'preview-dicom',
      SoftwareVersions: ['Preview-DICOM SEG writer 1', 'test model 2.1'],
      PatientID: 'P-1',
      PatientBirthDate: '19700102',
      PatientSex: 'F',
      StudyDate: '20240131',
      StudyTime: '101500',
      StudyID: 'S1',
      AccessionNumber: 'A1',
      StudyDescription: 'CT abdomen',
    });
    expect(encoded).toMatchObject({ seriesInstanceUid: '2.25.1234', sopInstanceUid: '2.25.5678' });
    // New UIDs are 2.25.<UUID as a decimal> when not given.
    const fresh = encodeSeg(input(grid, data, [{ labelValue: 1, label: 'x' }]));
    expect(fresh.sopInstanceUid).toMatch(/^2\.25\.[1-9][0-9]{20,38}$/);
    expect(fresh.seriesInstanceUid).not.toBe(fresh.sopInstanceUid);
  });

  it('references every source instance, and each frame its own source slice', () => {
    const referenced = first(dataset.ReferencedSeriesSequence);
    expect(referenced.SeriesInstanceUID).toBe(SOURCE.seriesInstanceUid);
    expect((referenced.ReferencedInstanceSequence as NaturalDataset[]).map((r) => r.ReferencedSOPInstanceUID)).toEqual(grid.order.map((s) => s.sopInstanceUid));
    const frames = dataset.PerFrameFunctionalGroupsSequence as NaturalDataset[];
    for (const frame of frames) {
      const k = (first(frame.FrameContentSequence).DimensionIndexValues as number[])[1]! - 1;
      const derivation = first(frame.DerivationImageSequence);
      expect(first(derivation.DerivationCodeSequence)).toMatchObject({ CodeValue: '113076', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Segmentation' });
      const source = first(derivation.SourceImageSequence);
      expect(source).toMatchObject({ ReferencedSOPClassUID: '1.2.840.10008.5.1.4.1.1.2', ReferencedSOPInstanceUID: grid.order[k]!.sopInstanceUid });
      expect(first(source.PurposeOfReferenceCodeSequence)).toMatchObject({ CodeValue: '121322', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Source image for image processing operation' });
    }
  });

  it('has shared pixel measures and orientation, and the two dimensions', () => {
    const shared = first(dataset.SharedFunctionalGroupsSequence);
    expect(first(shared.PixelMeasuresSequence)).toMatchObject({ PixelSpacing: [0.75, 0.5], SliceThickness: 1.25, SpacingBetweenSlices: 1.25 });
    expect(first(shared.PlaneOrientationSequence).ImageOrientationPatient).toEqual([1, 0, 0, 0, 1, 0]);
    const organization = first(dataset.DimensionOrganizationSequence).DimensionOrganizationUID;
    expect((dataset.DimensionIndexSequence as NaturalDataset[]).map((d) => [d.DimensionOrganizationUID, d.DimensionIndexPointer, d.FunctionalGroupPointer])).toEqual([
      [organization, 0x0062000b, 0x0062000a], // ReferencedSegmentNumber in SegmentIdentificationSequence
      [organization, 0x00200032, 0x00209113], // ImagePositionPatient in PlanePositionSequence
    ]);
  });

  it('describes the segment with SNOMED CT codes, the label value and a CIELab colour', () => {
    const segment = first(dataset.SegmentSequence);
    expect(segment).toMatchObject({
      SegmentNumber: 1,
      SegmentLabel: 'left kidney',
      SegmentDescription: 'label value 1: left kidney (test model)',
      SegmentAlgorithmType: 'AUTOMATIC',
      SegmentAlgorithmName: 'test model',
      RecommendedDisplayCIELabValue: [34298, 40955, 39426],
    });
    expect(first(segment.SegmentedPropertyCategoryCodeSequence)).toMatchObject({ CodeValue: '91723000', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Anatomical Structure' });
    const type = first(segment.SegmentedPropertyTypeCodeSequence);
    expect(type).toMatchObject({ CodeValue: '64033007', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Kidney' });
    expect(first(type.SegmentedPropertyTypeModifierCodeSequence)).toMatchObject({ CodeValue: '7771000', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Left' });
  });

  it('writes Pixel Data as OB, the last element, even length', () => {
    const buf = encoded.part10;
    const header = buf.subarray(buf.length - (dataset.PixelData as ArrayBuffer[])[0]!.byteLength - 12);
    expect(header.readUInt16LE(0)).toBe(0x7fe0);
    expect(header.readUInt16LE(2)).toBe(0x0010);
    expect(header.toString('latin1', 4, 6)).toBe('OB');
    expect(header.readUInt32LE(8) % 2).toBe(0);
    expect(header.readUInt32LE(8)).toBe(packedLength(encoded.numberOfFrames * 48));
  });
});

describe('encodeSeg geometry: axial, oblique and reversed-order series', () => {
  const cases: [string, () => SliceMeta[]][] = [
    ['axial', () => syntheticSeries({ columns: 9, rows: 7, slices: 6, iop: [1, 0, 0, 0, 1, 0], origin: [-50, -60, 70], pixelSpacing: [0.8, 0.6], step: 2 })],
    ['oblique', () => syntheticSeries({ columns: 9, rows: 7, slices: 6, iop: obliqueIop(), origin: [12.25, -3.5, 40], pixelSpacing: [1.2, 1.1], step: 1.7 })],
    ['reversed order', () => syntheticSeries({ columns: 9, rows: 7, slices: 6, iop: [1, 0, 0, 0, 1, 0], origin: [0, 0, 0], pixelSpacing: [1, 1], step: 2.5 }).map((s, n, all) => ({ ...s, sopInstanceUid: `1.2.3.4.${all.length - n}` }))],
  ];
  it.each(cases)('%s: per-frame IPP = the source slice IPP = the grid affine = the NIfTI affine at (0, 0, k); decoding is exact', (_, make) => {
    const slices = make();
    const grid = buildGrid(shuffled(slices, 5));
    const data = sphereLabels(grid, [
      { label: 1, centre: [4, 3, 2.5], radiusMm: 3.5 },
      { label: 2, centre: [7, 5, 4], radiusMm: 2.5 },
    ]);
    // The NIfTI written for this grid (what the model sees and answers on) carries the same affine.
    const niftiMap = readLabelMap(niftiFromLabels(grid, data));
    expect(() => checkLabelMapOnGrid(niftiMap, grid)).not.toThrow();
    const niftiLps = (k: number) => [0, 1, 2].map((r) => niftiMap.affineLps[r]![2]! * k + niftiMap.affineLps[r]![3]!);
    const encoded = encodeSeg(input(grid, data, [{ labelValue: 1, label: 'liver' }, { labelValue: 2, label: 'spleen' }]));
    const decoded = decodeSeg(encoded.part10, grid);
    for (const frame of decoded.frames) {
      const item = (decoded.dataset.PerFrameFunctionalGroupsSequence as NaturalDataset[])[decoded.frames.indexOf(frame)]!;
      const ipp = first(item.PlanePositionSequence).ImagePositionPatient as number[];
      const slice = grid.order[frame.k]!;
      expect(frame.sourceSopInstanceUid).toBe(slice.sopInstanceUid);
      ipp.forEach((v, a) => expect(v).toBeCloseTo(slice.imagePositionPatient[a]!, 6));
      voxelToLps(grid, 0, 0, frame.k).forEach((v, a) => expect(v).toBeCloseTo(ipp[a]!, 6));
      niftiLps(frame.k).forEach((v, a) => expect(v).toBeCloseTo(ipp[a]!, 3)); // float32 header
      expect(frame.dimensionIndexValues).toEqual([frame.segment, frame.k + 1]);
    }
    // Within a segment, frames ascend along the normal.
    for (let f = 1; f < decoded.frames.length; f += 1) {
      const [a, b] = [decoded.frames[f - 1]!, decoded.frames[f]!];
      expect(a.segment < b.segment || (a.segment === b.segment && a.k < b.k)).toBe(true);
    }
    expect(Buffer.from(decoded.data).equals(Buffer.from(data))).toBe(true);
  });
});

describe('encodeSeg on the real pancreas CT grid (20 × 512²), 3 labels', () => {
  const series = readSeries('ct-volume-pancreas-tcia');
  const grid = buildGrid(shuffled(series.map((s) => s.meta)));
  const data = sphereLabels(grid, [
    { label: 1, centre: [256, 256, 10], radiusMm: 90 },
    { label: 2, centre: [180, 220, 6], radiusMm: 25 },
    { label: 3, centre: [330, 300, 12], radiusMm: 12 },
  ]);
  const encoded = encodeSeg({ ...input(grid, data, [{ labelValue: 1, label: 'body' }, { labelValue: 2, label: 'lungs' }, { labelValue: 3, label: 'bone' }]), source: sourceOf(series[0]!) });

  it('decodes voxel for voxel and the volumes are voxel count × voxel volume', () => {
    const decoded = decodeSegToLabelMap(encoded.part10, grid);
    expect(Buffer.from(decoded).equals(Buffer.from(data))).toBe(true);
    const voxelMm3 = grid.spacing[0] * grid.spacing[1] * grid.spacing[2];
    for (const s of encoded.segments) {
      const count = data.reduce((n, v) => n + (v === s.labelValue ? 1 : 0), 0);
      expect(s.voxelCount).toBe(count);
      expect(s.volumeCm3).toBeCloseTo((count * voxelMm3) / 1000, 5);
    }
  });

  it('passes dciodvfy with no "Error -" lines', () => {
    expect(existsSync('/usr/bin/dciodvfy'), 'dciodvfy (dicom3tools) is not installed').toBe(true);
    const path = join(tmp, 'pancreas-seg.dcm');
    writeFileSync(path, encoded.part10);
    // dciodvfy writes its report (IOD name, warnings, errors) to stderr.
    const run = spawnSync('/usr/bin/dciodvfy', [path], { encoding: 'utf8' });
    const report = `${run.stdout}${run.stderr}`;
    expect(report).toMatch(/Segmentation/);
    expect(report.split('\n').filter((line) => line.startsWith('Error -'))).toEqual([]);
  });
});

describe('decodeSeg on a third-party SEG (dcmqi liver.dcm on its 3-slice CT)', () => {
  it('places every frame on the slice dcmqi says it derives from', () => {
    const grid = buildGrid(readSeries('seg-dcmqi-ct3slice/ct').map((s) => s.meta));
    const decoded = decodeSeg(readFileSync(join(DATA_DIR, 'seg-dcmqi-ct3slice/seg/liver.dcm')), grid);
    expect(decoded.segments.map((s) => [s.number, s.label, s.labelValue])).toEqual([[1, expect.any(String), null]]);
    expect(decoded.frames.length).toBeGreaterThan(0);
    for (const frame of decoded.frames) expect(frame.sourceSopInstanceUid).toBe(grid.order[frame.k]!.sopInstanceUid);
    expect(Array.from(decoded.data).reduce((n, v) => n + v, 0)).toBeGreaterThan(1000);
  });
});

describe('codes and values', () => {
  it('has SNOMED CT codes for the common labels and a Tissue fallback', () => {
    expect(Object.keys(labelCatalogue).sort()).toEqual(['body', 'bone', 'brain', 'kidney', 'liver', 'lung', 'spleen', 'tissue']);
    expect(codesForLabel('Lungs')).toMatchObject({ type: { value: '39607008', meaning: 'Lung' }, category: { value: '91723000' }, known: true });
    expect(codesForLabel('foreground')).toMatchObject({ type: { value: '85756007' }, category: { value: '85756007' }, known: true });
    expect(codesForLabel('bone')).toMatchObject({ type: { value: '3138006', meaning: 'Bone' }, category: { value: '85756007', meaning: 'Tissue' } });
    expect(codesForLabel('kidney_right')).toMatchObject({ type: { value: '64033007' }, modifier: { value: '24028007', meaning: 'Right' } });
    expect(codesForLabel('tumour core', 2)).toMatchObject({ category: { value: '85756007' }, type: { value: '85756007' }, known: false });
  });

  it('formats decimal strings in at most 16 characters', () => {
    expect(ds(-0)).toBe('0');
    expect(ds(1.07421875)).toBe('1.07421875');
    expect(ds(-256.61886606561)).toBe('-256.61886606561');
    const long = ds(-123.456789012345678);
    expect(long.length).toBeLessThanOrEqual(16);
    expect(Number(long)).toBeCloseTo(-123.456789012345678, 10);
    expect(ds(1e-20).length).toBeLessThanOrEqual(16);
    expect(() => ds(Number.NaN)).toThrow();
  });
});
