import { describe, expect, it } from 'vitest';
import { readInstance, readSeries, shuffled, syntheticSeries } from './test-support.js';
import { assembleVolume, buildGrid, cross, lpsToVoxel, sameGrid, VolumeError, voxelIndex, voxelToLps, type SliceMeta, type Vec3, type VolumeGrid } from './volume.js';

const AXIAL: SliceMeta['imageOrientationPatient'] = [1, 0, 0, 0, 1, 0];

/** IOP of the axial plane rotated 20° about x, then 30° about z (an oblique acquisition). */
function obliqueIop(): SliceMeta['imageOrientationPatient'] {
  const a = (20 * Math.PI) / 180;
  const b = (30 * Math.PI) / 180;
  const rx = (v: number[]) => [v[0]!, v[1]! * Math.cos(a) - v[2]! * Math.sin(a), v[1]! * Math.sin(a) + v[2]! * Math.cos(a)];
  const rz = (v: number[]) => [v[0]! * Math.cos(b) - v[1]! * Math.sin(b), v[0]! * Math.sin(b) + v[1]! * Math.cos(b), v[2]!];
  return [...rz(rx([1, 0, 0])), ...rz(rx([0, 1, 0]))] as SliceMeta['imageOrientationPatient'];
}

const close = (a: readonly number[], b: readonly number[], eps = 1e-9) => a.forEach((v, n) => expect(v).toBeCloseTo(b[n]!, -Math.log10(eps)));

/** Every slice of the grid is where the affine says slice k is, and the grid's axes are orthonormal and right-handed. */
function expectConsistent(grid: VolumeGrid, mm = 1e-6) {
  grid.order.forEach((slice, k) => close(voxelToLps(grid, 0, 0, k), slice.imagePositionPatient, mm));
  close(cross(grid.rowDirection, grid.columnDirection), grid.normal, 1e-9);
  for (let k = 1; k < grid.slices; k += 1) {
    const d = (s: SliceMeta) => s.imagePositionPatient[0] * grid.normal[0] + s.imagePositionPatient[1] * grid.normal[1] + s.imagePositionPatient[2] * grid.normal[2];
    expect(d(grid.order[k]!)).toBeGreaterThan(d(grid.order[k - 1]!));
  }
}

describe('buildGrid on synthetic series', () => {
  it('axial: sorts by position along the normal and derives spacing, directions, origin and affine', () => {
    const slices = syntheticSeries({ columns: 4, rows: 3, slices: 5, iop: AXIAL, origin: [-10, -20, 30], pixelSpacing: [0.7, 0.5], step: 2.5 });
    const grid = buildGrid(shuffled(slices));
    expect(grid).toMatchObject({ columns: 4, rows: 3, slices: 5, rowDirection: [1, 0, 0], columnDirection: [0, 1, 0], normal: [0, 0, 1], origin: [-10, -20, 30] });
    // x = column step = PixelSpacing[1], y = row step = PixelSpacing[0].
    close(grid.spacing, [0.5, 0.7, 2.5]);
    expect(grid.order.map((s) => s.sopInstanceUid)).toEqual(slices.map((s) => s.sopInstanceUid));
    close(grid.affineLps.flat(), [0.5, 0, 0, -10, 0, 0.7, 0, -20, 0, 0, 2.5, 30, 0, 0, 0, 1]);
    expectConsistent(grid);
    close(voxelToLps(grid, 3, 2, 4), [-10 + 1.5, -20 + 1.4, 40]);
    close(lpsToVoxel(grid, [-10 + 1.5, -20 + 1.4, 40]), [3, 2, 4]);
    expect(voxelIndex(grid, 3, 2, 4)).toBe(3 + 4 * (2 + 3 * 4));
  });

  it('oblique: the normal is the cross product of the rotated IOP and the affine follows the slices', () => {
    const iop = obliqueIop();
    const slices = syntheticSeries({ columns: 6, rows: 5, slices: 7, iop, origin: [12.5, -40.25, 100], pixelSpacing: [0.9, 0.8], step: 1.5 });
    const grid = buildGrid(shuffled(slices, 3));
    close(grid.rowDirection, iop.slice(0, 3));
    close(grid.columnDirection, iop.slice(3, 6));
    close(grid.normal, cross(iop.slice(0, 3), iop.slice(3, 6)));
    close(grid.spacing, [0.8, 0.9, 1.5]);
    expect(grid.order.map((s) => s.sopInstanceUid)).toEqual(slices.map((s) => s.sopInstanceUid));
    expectConsistent(grid);
  });

  it('reversed order: InstanceNumber runs against the normal and the slices come shuffled; the grid starts at the lowest position', () => {
    const ascending = syntheticSeries({ columns: 4, rows: 4, slices: 6, iop: AXIAL, origin: [0, 0, -50], pixelSpacing: [1, 1], step: 3 });
    // Instance 1 is the highest slice (head first, numbered from the top), as many scanners do.
    const reversed = ascending.map((s, n) => ({ ...s, sopInstanceUid: `1.2.3.${ascending.length - n}` }));
    const grid = buildGrid(shuffled(reversed, 11));
    expect(grid.order.map((s) => s.sopInstanceUid)).toEqual(['1.2.3.6', '1.2.3.5', '1.2.3.4', '1.2.3.3', '1.2.3.2', '1.2.3.1']);
    close(grid.origin, [0, 0, -50]);
    close(grid.normal, [0, 0, 1]);
    expect(grid.spacing[2]).toBeCloseTo(3, 12);
    expectConsistent(grid);
    // The same series in any input order gives the same grid.
    expect(sameGrid(grid, buildGrid(reversed))).toBeNull();
  });

  it('a sagittal IOP whose normal points to the patient right gives a right-handed grid', () => {
    const slices = syntheticSeries({ columns: 3, rows: 3, slices: 3, iop: [0, 1, 0, 0, 0, -1], origin: [5, -100, 100], pixelSpacing: [1, 1], step: 1.2 });
    const grid = buildGrid(slices.reverse());
    close(grid.normal, [-1, 0, 0]);
    close(grid.origin, slices[slices.length - 1]!.imagePositionPatient);
    expectConsistent(grid);
  });

  it('refuses an empty series and, unless allowed, a single slice (then SliceThickness is the slice step)', () => {
    const [one] = syntheticSeries({ columns: 2, rows: 2, slices: 1, iop: AXIAL, origin: [0, 0, 0], pixelSpacing: [1, 1], step: 4 });
    expect(() => buildGrid([])).toThrow(/no images/);
    expect(() => buildGrid([one!])).toThrow(/single image; a volume needs at least 2 slices/);
    const grid = buildGrid([one!], { allowSingleSlice: true });
    expect(grid.slices).toBe(1);
    expect(grid.spacing[2]).toBe(4);
    expect(() => buildGrid([{ ...one!, sliceThickness: undefined }], { allowSingleSlice: true })).toThrow(/without a SliceThickness/);
  });

  it('refuses mixed matrix sizes and pixel spacings', () => {
    const slices = syntheticSeries({ columns: 4, rows: 4, slices: 3, iop: AXIAL, origin: [0, 0, 0], pixelSpacing: [1, 1], step: 1 });
    expect(() => buildGrid([slices[0]!, { ...slices[1]!, columns: 5 }, slices[2]!])).toThrow(VolumeError);
    expect(() => buildGrid([slices[0]!, { ...slices[1]!, columns: 5 }, slices[2]!])).toThrow(/not all the same size: 4×4 .* and 5×4/);
    expect(() => buildGrid([slices[0]!, slices[1]!, { ...slices[2]!, pixelSpacing: [1, 1.2] }])).toThrow(/same pixel spacing \(1×1 mm and 1×1\.2 mm\)/);
  });

  it('refuses multi-frame objects, by NumberOfFrames and by SOP class, saying so', () => {
    const slices = syntheticSeries({ columns: 4, rows: 4, slices: 3, iop: AXIAL, origin: [0, 0, 0], pixelSpacing: [1, 1], step: 1 });
    expect(() => buildGrid([slices[0]!, { ...slices[1]!, numberOfFrames: 8 }])).toThrow(/multi-frame objects \(8 frames in one instance\)/);
    expect(() => buildGrid([{ ...slices[0]!, sopClassUid: '1.2.840.10008.5.1.4.1.1.4.1' }])).toThrow(/multi-frame objects \(Enhanced MR storage\)/);
  });

  it('refuses a missing slice (uneven steps) but tolerates tiny jitter', () => {
    const slices = syntheticSeries({ columns: 2, rows: 2, slices: 6, iop: AXIAL, origin: [0, 0, 0], pixelSpacing: [1, 1], step: 2 });
    expect(() => buildGrid(slices.filter((_, k) => k !== 3))).toThrow(/not evenly spaced: 4 mm between .* 2 mm elsewhere — a slice seems to be missing/);
    const jittered = slices.map((s, k) => ({ ...s, imagePositionPatient: [0, 0, k * 2 + (k % 2 ? 0.005 : -0.005)] as Vec3 }));
    expect(buildGrid(jittered).spacing[2]).toBeCloseTo(2, 2);
    expect(() => buildGrid(jittered, { tolerance: 0.001 })).toThrow(/not evenly spaced/);
  });

  it('refuses slices stepped off their normal (gantry tilt)', () => {
    const slices = syntheticSeries({ columns: 2, rows: 2, slices: 4, iop: AXIAL, origin: [0, 0, 0], pixelSpacing: [1, 1], step: 2 });
    const tilted = slices.map((s, k) => ({ ...s, imagePositionPatient: [0, k * 0.5, k * 2] as Vec3 }));
    expect(() => buildGrid(tilted)).toThrow(/not stacked along their normal: the slice at \(0, 0\.5, 2\) is shifted 0\.5 mm sideways from the first one \(a 14° tilt/);
  });

  it('refuses invalid IOP / spacing / size values', () => {
    const [s] = syntheticSeries({ columns: 2, rows: 2, slices: 1, iop: AXIAL, origin: [0, 0, 0], pixelSpacing: [1, 1], step: 1 });
    expect(() => buildGrid([{ ...s!, imageOrientationPatient: [1, 0, 0, 1, 0, 0] }])).toThrow(/invalid ImageOrientationPatient/);
    expect(() => buildGrid([{ ...s!, pixelSpacing: [0, 1] }])).toThrow(/no usable PixelSpacing/);
    expect(() => buildGrid([{ ...s!, rows: Number.NaN }])).toThrow(/no usable Rows\/Columns/);
    expect(() => buildGrid([{ ...s!, imagePositionPatient: [0, Number.NaN, 0] }])).toThrow(/no usable ImagePositionPatient/);
  });
});

describe('buildGrid on real series (read with dcmjs, in place)', () => {
  it('the 20-slice pancreas CT: axial, 1.074 mm pixels, 3 mm slices, ordered by position', () => {
    const series = readSeries('ct-volume-pancreas-tcia');
    expect(series).toHaveLength(20);
    const grid = buildGrid(shuffled(series.map((s) => s.meta)));
    expect(grid).toMatchObject({ columns: 512, rows: 512, slices: 20 });
    close(grid.spacing, [1.07421875, 1.07421875, 3], 1e-6);
    close(grid.normal, [0, 0, 1]);
    const z = series.map((s) => s.meta.imagePositionPatient[2]);
    expect(grid.origin[2]).toBe(Math.min(...z));
    expectConsistent(grid);
    // InstanceNumber is not what orders the grid, but it agrees with the position order here either way.
    const instanceNumbers = grid.order.map((m) => Number(series.find((s) => s.meta.sopInstanceUid === m.sopInstanceUid)!.dataset.InstanceNumber));
    const increasing = instanceNumbers.every((n, k) => k === 0 || n > instanceNumbers[k - 1]!);
    const decreasing = instanceNumbers.every((n, k) => k === 0 || n < instanceNumbers[k - 1]!);
    expect(increasing || decreasing).toBe(true);
  });

  it('the 40-slice sagittal MR (IOP with negative zeros): normal along ±x, 1.2 mm slices', () => {
    const series = readSeries('mr-brain-t1-ge-refaced-40sl');
    expect(series).toHaveLength(40);
    const grid = buildGrid(series.map((s) => s.meta));
    expect(grid).toMatchObject({ columns: 256, rows: 256, slices: 40 });
    expect(Math.abs(grid.normal[0])).toBeGreaterThan(0.99);
    close(grid.spacing, [1.0547, 1.0547, 1.2], 1e-3);
    // Positions are DS strings rounded to ~1e-5 mm: the affine reproduces them to that precision.
    expectConsistent(grid, 1e-4);
  });

  it('dicom2nifti "slicecount": 2 sagittal MR slices are a (thin) volume', () => {
    const grid = buildGrid(readSeries('bad-volumes-dicom2nifti/slicecount').map((s) => s.meta));
    expect(grid.slices).toBe(2);
    close(grid.normal, [-1, 0, 0]);
    close(grid.spacing, [1, 1, 1], 1e-6);
  });

  it('dicom2nifti "gantrytilting": refused as tilted', () => {
    expect(() => buildGrid(readSeries('bad-volumes-dicom2nifti/gantrytilting').map((s) => s.meta))).toThrow(/not stacked along their normal: .* shifted 1\.21 mm sideways .*14° tilt, e\.g\. gantry tilt/);
  });

  it('dicom2nifti "sliceincrement": refused as a missing slice', () => {
    expect(() => buildGrid(readSeries('bad-volumes-dicom2nifti/sliceincrement').map((s) => s.meta))).toThrow(/not evenly spaced: 1\.499 mm between .* 0\.75 mm elsewhere — a slice seems to be missing/);
  });

  it('dicom2nifti "notavolume": 4 images at one position', () => {
    expect(() => buildGrid(readSeries('bad-volumes-dicom2nifti/notavolume').map((s) => s.meta))).toThrow(/4 images are at the same position \(-139\.23, -384\.23, 61\.5\)/);
  });

  it('dicom2nifti "sliceorientation": two interleaved stacks with different orientations', () => {
    expect(() => buildGrid(readSeries('bad-volumes-dicom2nifti/sliceorientation').map((s) => s.meta))).toThrow(/(not all the same orientation|not all the same size|same pixel spacing)/);
    // Each stack alone is fine: the refusal is about mixing them.
    const first = readSeries('bad-volumes-dicom2nifti/sliceorientation', (f) => !f.includes('_2'));
    expect(() => buildGrid(first.map((s) => s.meta))).not.toThrow();
  });

  it('dicom-numpy dupe-positions CT: two slices share a position; without the duplicate, the gaps are refused', () => {
    const series = readSeries('bad-series-dupe-positions-ct');
    expect(() => buildGrid(series.map((s) => s.meta))).toThrow(/2 images are at the same position \(-172\.5, -180, -90\)/);
    const noDupe = series.filter((s) => !s.path.endsWith('CT28.dcm'));
    expect(() => buildGrid(noDupe.map((s) => s.meta))).toThrow(/not evenly spaced/);
  });

  it('real multi-frame objects (Enhanced MR, Legacy Converted Enhanced CT) are refused as multi-frame', () => {
    for (const file of ['odd-multiframe/philips_enhanced_mr_8frames.dcm', 'odd-multiframe/legacy_converted_enhanced_ct_3frames.dcm']) {
      expect(() => buildGrid([readInstance(file).meta])).toThrow(/multi-frame objects/);
    }
  });
});

describe('sameGrid', () => {
  const base = () => buildGrid(syntheticSeries({ columns: 4, rows: 3, slices: 5, iop: AXIAL, origin: [1, 2, 3], pixelSpacing: [1, 1], step: 2 }));
  it('is null for the same grid, a reason otherwise', () => {
    expect(sameGrid(base(), base())).toBeNull();
    const other = (o: Partial<Parameters<typeof syntheticSeries>[0]>) => buildGrid(syntheticSeries({ columns: 4, rows: 3, slices: 5, iop: AXIAL, origin: [1, 2, 3], pixelSpacing: [1, 1], step: 2, ...o }));
    expect(sameGrid(base(), other({ slices: 6 }))).toBe('has 4×3×6 voxels where the first series has 4×3×5');
    expect(sameGrid(base(), other({ step: 2.5 }))).toBe('has voxels of 1×1×2.5 mm where the first series has 1×1×2 mm');
    expect(sameGrid(base(), other({ iop: [1, 0, 0, 0, 0, -1] }))).toMatch(/^is oriented differently: its column direction is \(0, 0, -1\) where the first series has \(0, 1, 0\) \(90° apart\)/);
    expect(sameGrid(base(), other({ origin: [1, 2, 5] }))).toBe('starts at (1, 2, 5) where the first series starts at (1, 2, 3) (2 mm apart)');
    expect(sameGrid(base(), other({ origin: [1, 2, 3.0005] }))).toBeNull();
  });
});

describe('assembleVolume', () => {
  const slices = syntheticSeries({ columns: 3, rows: 2, slices: 3, iop: AXIAL, origin: [0, 0, 0], pixelSpacing: [1, 1], step: 1 });
  const grid = buildGrid(shuffled(slices));
  it('puts each slice at its grid position, i fastest', () => {
    const values = new Map(slices.map((s, k) => [s.sopInstanceUid, Float32Array.from({ length: 6 }, (_, p) => 100 * k + p)]));
    const volume = assembleVolume(grid, values);
    expect(volume).toHaveLength(18);
    for (let k = 0; k < 3; k += 1) for (let j = 0; j < 2; j += 1) for (let i = 0; i < 3; i += 1) expect(volume[voxelIndex(grid, i, j, k)]).toBe(100 * k + j * 3 + i);
  });
  it('refuses a missing slice or a wrong-sized one', () => {
    const values = new Map(slices.map((s) => [s.sopInstanceUid, new Float32Array(6)]));
    values.delete(slices[1]!.sopInstanceUid);
    expect(() => assembleVolume(grid, values)).toThrow(/pixels of the image .* are missing/);
    values.set(slices[1]!.sopInstanceUid, new Float32Array(5));
    expect(() => assembleVolume(grid, values)).toThrow(/decoded to 5 values, not 3×2 = 6/);
  });
});
