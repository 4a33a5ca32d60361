import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nifti from 'nifti-reader-js';
import { afterAll, describe, expect, it } from 'vitest';
import { openNifti } from '../../imports/nifti/nifti-volume.js';
import { quaternionOf, rasAffine } from './nifti-write.js';
import { readSeries, realValues, shuffled, syntheticSeries } from './test-support.js';
import { assembleVolume, buildGrid, niftiFromLabels, niftiFromVolume, voxelIndex, type SliceMeta, type VolumeGrid } from './volume.js';

const tmp = mkdtempSync(join(tmpdir(), 'nifti-write-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ab = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

const oblique: SliceMeta['imageOrientationPatient'] = (() => {
  const a = (25 * Math.PI) / 180;
  const b = (-40 * Math.PI) / 180;
  const r = [Math.cos(b), Math.sin(b), 0];
  const c = [-Math.sin(b) * Math.cos(a), Math.cos(b) * Math.cos(a), Math.sin(a)];
  return [...r, ...c] as SliceMeta['imageOrientationPatient'];
})();

const grids: [string, () => VolumeGrid][] = [
  ['axial', () => buildGrid(shuffled(syntheticSeries({ columns: 5, rows: 4, slices: 3, iop: [1, 0, 0, 0, 1, 0], origin: [-100.5, 20.25, -300], pixelSpacing: [0.8, 0.6], step: 2.5 })))],
  ['oblique', () => buildGrid(shuffled(syntheticSeries({ columns: 5, rows: 4, slices: 6, iop: oblique, origin: [10, -20, 30], pixelSpacing: [1.1, 0.9], step: 1.25 })))],
  ['reversed (instances against the normal, feet-first axial)', () => buildGrid(shuffled(syntheticSeries({ columns: 3, rows: 3, slices: 4, iop: [-1, 0, 0, 0, 1, 0], origin: [0, 0, 0], pixelSpacing: [1, 1], step: 3 }).reverse()))],
  ['sagittal (real MR)', () => buildGrid(readSeries('mr-brain-t1-ge-refaced-40sl').map((s) => s.meta))],
];

describe('niftiFromVolume', () => {
  it.each(grids)('%s: header, sform and qform carry the grid affine in RAS', (_, make) => {
    const grid = make();
    const n = grid.columns * grid.rows * grid.slices;
    const values = Float32Array.from({ length: n }, (_, v) => v * 0.5 - 7);
    const file = niftiFromVolume(grid, [values]);
    expect(file.length).toBe(352 + 4 * n);
    const h = nifti.readHeader(ab(file)) as nifti.NIFTI1;
    expect(h).toBeInstanceOf(nifti.NIFTI1);
    expect(h.dims.slice(0, 4)).toEqual([3, grid.columns, grid.rows, grid.slices]);
    expect(h.datatypeCode).toBe(16);
    expect(h.numBitsPerVoxel).toBe(32);
    expect(h.vox_offset).toBe(352);
    expect(h.xyzt_units).toBe(2);
    expect([h.sform_code, h.qform_code]).toEqual([1, 1]);
    for (let a = 0; a < 3; a += 1) expect(h.pixDims[a + 1]).toBeCloseTo(grid.spacing[a]!, 5);
    const ras = rasAffine(grid);
    // The library's affine is the sform here (sform_code >= qform_code); the qform is rebuilt from the quaternion.
    const sform = h.affine;
    const qform = h.getQformMat();
    for (let r = 0; r < 3; r += 1)
      for (let c = 0; c < 4; c += 1) {
        expect(sform[r]![c]!).toBeCloseTo(ras[r]![c]!, 3);
        expect(qform[r]![c]!).toBeCloseTo(ras[r]![c]!, 3);
      }
    // RAS = LPS with x and y negated.
    expect(ras[0]![3]).toBeCloseTo(-grid.origin[0], 9);
    expect(ras[1]![0]).toBeCloseTo(-grid.affineLps[1]![0]!, 9);
    expect(ras[2]![2]).toBeCloseTo(grid.affineLps[2]![2]!, 9);
    const image = Buffer.from(nifti.readImage(h, ab(file)));
    expect(image.equals(Buffer.from(values.buffer))).toBe(true);
  });

  it('writes channels as dim[4]', () => {
    const grid = grids[0]![1]();
    const n = grid.columns * grid.rows * grid.slices;
    const a = Float32Array.from({ length: n }, (_, v) => v);
    const b = Float32Array.from({ length: n }, (_, v) => -v);
    const file = niftiFromVolume(grid, [a, b]);
    const h = nifti.readHeader(ab(file));
    expect(h.dims.slice(0, 5)).toEqual([4, grid.columns, grid.rows, grid.slices, 2]);
    const image = new Float32Array(nifti.readImage(h, ab(file)));
    expect(Array.from(image.subarray(n, n + 3))).toEqual([-0, -1, -2]);
    expect(() => niftiFromVolume(grid, [a, new Float32Array(3)])).toThrow(/channel 2 has 3 values/);
  });

  it('the quaternion is a unit quaternion with qfac 1 for every right-handed grid', () => {
    for (const [, make] of grids) {
      const { quaternion, qfac } = quaternionOf(make());
      expect(qfac).toBe(1);
      expect(Math.hypot(...quaternion)).toBeCloseTo(1, 9);
    }
  });

  it('the repo NIfTI reader (openNifti) places a real CT volume exactly where its DICOM slices are', async () => {
    const series = readSeries('ct-volume-pancreas-tcia');
    const grid = buildGrid(shuffled(series.map((s) => s.meta)));
    const values = new Map(series.map((s) => [s.meta.sopInstanceUid, realValues(s)]));
    const path = join(tmp, 'pancreas.nii');
    writeFileSync(path, niftiFromVolume(grid, [assembleVolume(grid, values)]));
    const volume = await openNifti({ path, tmpDir: tmp, limits: { maxUncompressedBytes: 1 << 30 } });
    try {
      expect(volume.dims).toEqual([512, 512, 20]);
      expect(volume.affineSource).toBe('sform');
      for (let r = 0; r < 4; r += 1) for (let c = 0; c < 4; c += 1) expect(volume.affineLps[r]![c]!).toBeCloseTo(grid.affineLps[r]![c]!, 4);
      // Voxel (i, j, k) holds pixel (row j, column i) of the slice at grid position k.
      for (const k of [0, 7, 19]) {
        const slice = await volume.readSlice(k);
        const source = series.find((s) => s.meta.sopInstanceUid === grid.order[k]!.sopInstanceUid)!;
        const expected = realValues(source);
        for (const [i, j] of [[0, 0], [511, 0], [100, 300], [256, 256], [511, 511]] as const) {
          expect(slice[j * 512 + i]).toBe(expected[j * 512 + i]);
        }
        expect(slice[voxelIndex(grid, 100, 300, 0)]).toBe(expected[300 * 512 + 100]);
      }
    } finally {
      await volume.close();
    }
  });
});

describe('niftiFromLabels', () => {
  it('writes uint8 and uint16 label maps', () => {
    const grid = grids[0]![1]();
    const n = grid.columns * grid.rows * grid.slices;
    const u8 = niftiFromLabels(grid, Uint8Array.from({ length: n }, (_, v) => v % 4));
    expect(nifti.readHeader(ab(u8)).datatypeCode).toBe(2);
    expect(u8.length).toBe(352 + n);
    const u16 = niftiFromLabels(grid, Uint16Array.from({ length: n }, (_, v) => v * 1000));
    expect(nifti.readHeader(ab(u16)).datatypeCode).toBe(512);
    expect(new Uint16Array(nifti.readImage(nifti.readHeader(ab(u16)), ab(u16)))[7]).toBe(7000);
  });
});
