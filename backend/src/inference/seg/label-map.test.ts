import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DATA_DIR, readSeries, syntheticSeries } from '../volume/test-support.js';
import { buildGrid, niftiFromLabels, niftiFromVolume, type SliceMeta, type VolumeGrid } from '../volume/volume.js';
import { checkLabelMapOnGrid, readLabelMap, SegGridError, type LabelMap } from './label-map.js';

const OBLIQUE: SliceMeta['imageOrientationPatient'] = [0.8660254037844387, 0.5, 0, -0.4698463103929542, 0.8137976813493738, 0.3420201433256687];
const gridOf = (o: Partial<Parameters<typeof syntheticSeries>[0]> = {}) =>
  buildGrid(syntheticSeries({ columns: 7, rows: 5, slices: 4, iop: OBLIQUE, origin: [-12.5, 40.75, 100.125], pixelSpacing: [0.9, 0.7], step: 2.5, ...o }));
const labelsFor = (grid: VolumeGrid) => Uint8Array.from({ length: grid.columns * grid.rows * grid.slices }, (_, n) => (n * 7) % 4);

/** A NIfTI with another datatype: niftiFromVolume's float32 file, re-typed with the same header. */
function retyped(grid: VolumeGrid, values: number[], code: number, bitpix: number, write: (v: DataView, o: number, x: number) => void): Buffer {
  const float = niftiFromVolume(grid, [Float32Array.from(values)]);
  const out = Buffer.alloc(352 + (values.length * bitpix) / 8);
  float.copy(out, 0, 0, 352);
  out.writeInt16LE(code, 70);
  out.writeInt16LE(bitpix, 72);
  const view = new DataView(out.buffer, out.byteOffset + 352);
  values.forEach((x, n) => write(view, (n * bitpix) / 8, x));
  return out;
}

describe('readLabelMap', () => {
  const grid = gridOf();
  const labels = labelsFor(grid);

  it('reads a uint8 map written for the grid (plain and gzip), with the grid affine in LPS', () => {
    for (const file of [niftiFromLabels(grid, labels), gzipSync(niftiFromLabels(grid, labels))]) {
      const map = readLabelMap(file);
      expect(map.dims).toEqual([7, 5, 4]);
      expect(map.data).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(map.data).equals(Buffer.from(labels))).toBe(true);
      for (let r = 0; r < 4; r += 1) for (let c = 0; c < 4; c += 1) expect(map.affineLps[r]![c]!).toBeCloseTo(grid.affineLps[r]![c]!, 4);
    }
  });

  it('turns float32 / int16 / int32 / uint16 maps with whole numbers into uint8 or uint16 labels', () => {
    const values = Array.from(labels);
    const fromFloat = readLabelMap(niftiFromVolume(grid, [Float32Array.from(values)]));
    expect(fromFloat.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(fromFloat.data)).toEqual(values);
    const int16 = readLabelMap(retyped(grid, values, 4, 16, (v, o, x) => v.setInt16(o, x, true)));
    expect(Array.from(int16.data)).toEqual(values);
    const int32 = readLabelMap(retyped(grid, values, 8, 32, (v, o, x) => v.setInt32(o, x, true)));
    expect(Array.from(int32.data)).toEqual(values);
    const big = values.map((v) => v * 1000);
    const uint16 = readLabelMap(niftiFromLabels(grid, Uint16Array.from(big)));
    expect(uint16.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(uint16.data)).toEqual(big);
  });

  it('refuses values that are not labels, more than 3 dimensions, and non-NIfTI input', () => {
    const values = Array.from(labels, Number);
    values[9] = 0.5;
    expect(() => readLabelMap(niftiFromVolume(grid, [Float32Array.from(values)]))).toThrow('the label map holds the value 0.5 at voxel (2, 1, 0); labels must be whole numbers from 0 to 65535');
    values[9] = -1;
    expect(() => readLabelMap(retyped(grid, values, 4, 16, (v, o, x) => v.setInt16(o, x, true)))).toThrow(/value -1 at voxel/);
    const n = labels.length;
    expect(() => readLabelMap(niftiFromVolume(grid, [new Float32Array(n), new Float32Array(n)]))).toThrow(/4 dimensions \(7×5×4×2\); one 3-D label volume/);
    expect(() => readLabelMap(Buffer.from('{"error": "model failed"}'.padEnd(400)))).toThrow(/not a NIfTI file/);
    expect(() => readLabelMap(niftiFromLabels(grid, labels).subarray(0, 400))).toThrow(/truncated/);
  });

  it('reads big-endian data: the same MR volume big- and little-endian decodes to the same values', () => {
    const read = (f: string) => {
      try {
        readLabelMap(readFileSync(join(DATA_DIR, 'nifti-extra-mr-labels-endianness', f)));
        return 'read';
      } catch (error) {
        return (error as Error).message;
      }
    };
    // An MR image is no label map: both refuse at the same first non-integer voxel, with the same value.
    expect(read('big.nii.gz')).toMatch(/holds the value .* at voxel/);
    expect(read('big.nii.gz')).toBe(read('little.nii.gz'));
  });

  it('reads real label maps from TotalSegmentator and nibabel (sform and qform-only)', () => {
    const cases: [string, [number, number, number], number][] = [
      ['nifti-ct-abdomen-with-labels-totalseg/example_seg.nii.gz', [122, 101, 30], 117],
      ['nifti-extra-mr-labels-endianness/example_seg_mr.nii.gz', [117, 91, 20], 49],
      ['nifti-nibabel-variants/anatomical_label.nii.gz', [33, 41, 25], 1],
    ];
    for (const [file, dims, maxLabel] of cases) {
      const map = readLabelMap(readFileSync(join(DATA_DIR, file)));
      expect(map.dims).toEqual(dims);
      expect(Math.max(...new Set(map.data))).toBe(maxLabel);
    }
  });
});

describe('checkLabelMapOnGrid', () => {
  const grid = gridOf();
  const labels = labelsFor(grid);
  const mapOn = (g: VolumeGrid): LabelMap => readLabelMap(niftiFromLabels(g, labelsFor(g)));

  it('accepts a map written by niftiFromLabels / niftiFromVolume for the same grid', () => {
    expect(() => checkLabelMapOnGrid(mapOn(grid), grid)).not.toThrow();
    expect(() => checkLabelMapOnGrid(readLabelMap(niftiFromVolume(grid, [Float32Array.from(labels)])), grid)).not.toThrow();
  });

  it('refuses other dims, voxel size, orientation and origin, naming the difference', () => {
    const refusal = (map: LabelMap) => {
      try {
        checkLabelMapOnGrid(map, grid);
      } catch (error) {
        expect(error).toBeInstanceOf(SegGridError);
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(refusal(mapOn(gridOf({ slices: 3 })))).toBe('the label map has 7×5×3 voxels, the source volume 7×5×4');
    expect(refusal(mapOn(gridOf({ columns: 8 })))).toBe('the label map has 8×5×4 voxels, the source volume 7×5×4');
    expect(refusal(mapOn(gridOf({ step: 3 })))).toBe("the label map's voxel size along k (slices) is 3 mm, the source's 2.5 mm");
    expect(refusal(mapOn(gridOf({ pixelSpacing: [0.9, 0.71] })))).toBe("the label map's voxel size along i (columns) is 0.71 mm, the source's 0.7 mm");
    expect(refusal(mapOn(gridOf({ iop: [1, 0, 0, 0, 1, 0] })))).toMatch(/^the label map is oriented differently: axis i \(columns\) points along \(1, 0, 0\) in LPS, the source's along \(0\.866, 0\.5, 0\)/);
    expect(refusal(mapOn(gridOf({ origin: [-12.5, 40.75, 101.125] })))).toBe("the label map's first voxel is at (-12.5, 40.75, 101.125) LPS, the source's at (-12.5, 40.75, 100.125) (1 mm apart)");
    // The same voxels with the slice axis flipped (a map written last slice first): not resampled, refused.
    const flipped = mapOn(grid);
    flipped.affineLps = flipped.affineLps.map((row, r) => (r < 3 ? [row[0]!, row[1]!, -row[2]!, row[3]! + row[2]! * (grid.slices - 1)] : row));
    expect(refusal(flipped)).toBe('the label map is oriented differently: axis k (slices) runs the opposite way (the map is flipped along it)');
    // Within tolerance (float32 header precision and below 1 µm) is the same grid.
    const nudged = mapOn(grid);
    nudged.affineLps[0]![3] = nudged.affineLps[0]![3]! + 0.0005;
    expect(refusal(nudged)).toBe('accepted');
    // A data array that does not fit the dims.
    expect(refusal({ ...mapOn(grid), data: new Uint8Array(3) })).toBe('the label map holds 3 values for 7×5×4 voxels');
  });

  it("refuses TotalSegmentator's real mask for its real CT: the mask (from dcm2niix) has the row axis flipped", () => {
    const series = readSeries('bad-ct-totalseg-empty-uids/dicom');
    // This CT's UIDs are empty on purpose (its folder's point); give the slices stand-in UIDs.
    const grid = buildGrid(series.map((s, n) => ({ ...s.meta, sopInstanceUid: `1.2.3.${n + 1}` })));
    const map = readLabelMap(readFileSync(join(DATA_DIR, 'bad-ct-totalseg-empty-uids/example_seg_dicom.nii.gz')));
    expect(map.dims).toEqual([512, 512, 20]);
    expect(() => checkLabelMapOnGrid(map, grid)).toThrow('the label map is oriented differently: axis j (rows) runs the opposite way (the map is flipped along it)');
  });
});
