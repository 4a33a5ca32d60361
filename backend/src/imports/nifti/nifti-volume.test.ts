import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NiftiRejection, openNifti, type NiftiLimits } from './nifti-volume.js';
import { DATA_DIR, makeNifti1, readReference } from './test-support.js';

const limits: NiftiLimits = { maxUncompressedBytes: 1024 ** 3 };
let work: string;
let tmpDir: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'nifti-volume-test-'));
  tmpDir = join(work, 'tmp');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function rejection(path: string, lim: NiftiLimits = limits): Promise<NiftiRejection> {
  const err = await openNifti({ path, tmpDir, limits: lim }).then(
    async (v) => {
      await v.close();
      return null;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NiftiRejection);
  return err as NiftiRejection;
}

function tmpEntries(): string[] {
  try {
    return readdirSync(tmpDir);
  } catch {
    return [];
  }
}

describe('openNifti', () => {
  it('gunzips to a temp file under tmpDir, reads slices equal to an independent read, and close() removes the temp file', async () => {
    const path = join(DATA_DIR, 'nifti-ct-abdomen-with-labels-totalseg/example_ct_sm.nii.gz');
    const ref = readReference(path);
    const vol = await openNifti({ path, tmpDir, limits });
    expect(tmpEntries()).toHaveLength(1);
    expect(vol.dims).toEqual([122, 101, 30]);
    expect(vol.volumes).toBe(1);
    expect(vol.datatypeName).toBe('int16');
    expect(vol.format).toBe('NIfTI-1');
    expect(vol.affineSource).toBe('sform');
    expect(vol.spacing).toEqual([3, 3, 3]);
    expect(vol.scaling).toEqual({ slope: 1, intercept: 0 });
    for (const k of [0, 13, 29]) {
      const slice = await vol.readSlice(k);
      expect(slice).toHaveLength(122 * 101);
      for (const [i, j] of [[0, 0], [60, 50], [121, 100], [7, 93]] as const) expect(slice[j * 122 + i]).toBe(ref.voxel(i, j, k));
    }
    await expect(vol.readSlice(30)).rejects.toThrow(RangeError);
    await vol.close();
    await vol.close();
    expect(tmpEntries()).toHaveLength(0);
  });

  it('reads big- and little-endian files to the same values', async () => {
    const big = await openNifti({ path: join(DATA_DIR, 'nifti-extra-mr-labels-endianness/big.nii.gz'), tmpDir, limits });
    const little = await openNifti({ path: join(DATA_DIR, 'nifti-extra-mr-labels-endianness/little.nii.gz'), tmpDir, limits });
    try {
      expect(big.dims).toEqual(little.dims);
      expect(big.affineLps).toEqual(little.affineLps);
      for (let k = 0; k < big.dims[2]; k += 1) expect(await big.readSlice(k)).toEqual(await little.readSlice(k));
    } finally {
      await big.close();
      await little.close();
    }
  });

  it('reads a plain big-endian .nii in place (no temp file) and applies scl_slope/scl_inter', async () => {
    const vol = await openNifti({ path: join(DATA_DIR, 'nifti-nibabel-variants/anatomical.nii'), tmpDir, limits });
    expect(tmpEntries()).toHaveLength(0);
    expect(vol.dims).toEqual([33, 41, 25]);
    await vol.close();

    const path = join(work, 'scaled.nii');
    writeFileSync(path, makeNifti1({ dims: [3, 2, 2], datatype: 4, bitpix: 16, data: [0, 1, 2, 3, 4, 5, -6, -7, 8, 9, 10, 11], slope: 0.5, inter: -10, littleEndian: false, pixdim: [1, 2, 2, 4, 1, 1, 1, 1] }));
    const scaled = await openNifti({ path, tmpDir, limits });
    expect(scaled.scaling).toEqual({ slope: 0.5, intercept: -10 });
    expect(scaled.affineSource).toBe('pixdim');
    expect(Array.from(await scaled.readRawSlice(1))).toEqual([-6, -7, 8, 9, 10, 11]);
    expect(Array.from(await scaled.readSlice(1))).toEqual([-13, -13.5, -6, -5.5, -5, -4.5]);
    await scaled.close();
  });

  it('opens NIfTI-2 and 4-D files', async () => {
    const n2 = await openNifti({ path: join(DATA_DIR, 'nifti-nibabel-variants/example_nifti2.nii.gz'), tmpDir, limits });
    expect(n2.format).toBe('NIfTI-2');
    expect(n2.dims).toEqual([32, 20, 12]);
    expect(n2.volumes).toBe(2);
    await n2.close();
  });

  it('rejects a 5-D file', async () => {
    const err = await rejection(join(DATA_DIR, 'nifti-extra-mr-labels-endianness/5D_small.nii'));
    expect(err.message).toContain('5-D NIfTI is not supported; split it into 3-D volumes');
  });

  it('rejects a file shorter than its header says, naming expected and actual sizes', async () => {
    const path = join(work, 'truncated.nii');
    copyFileSync(join(DATA_DIR, 'nifti-nibabel-variants/anatomical.nii'), path);
    truncateSync(path, 50_000);
    const err = await rejection(path);
    // 352 + 33 × 41 × 25 voxels × 2 bytes = 68002
    expect(err.message).toContain('68002');
    expect(err.message).toContain('50000');

    // the same inside a gzip: counted on the decompressed bytes
    const gz = join(work, 'truncated.nii.gz');
    writeFileSync(gz, gzipSync(readFileSync(path)));
    const err2 = await rejection(gz);
    expect(err2.message).toMatch(/68002[^]*50000/);
    expect(tmpEntries()).toHaveLength(0);
  });

  it('stops decompressing at the byte cap (gzip bomb)', async () => {
    const path = join(work, 'bomb.nii.gz');
    // a valid header claiming 256×256×64 int16 (8 MiB of zeros), compressing to a few KiB
    writeFileSync(path, gzipSync(makeNifti1({ dims: [256, 256, 64], datatype: 4, bitpix: 16 })));
    const err = await rejection(path, { maxUncompressedBytes: 1024 * 1024 });
    expect(err.message).toMatch(/expands to more than 1\.0 MiB/);
    expect(tmpEntries()).toHaveLength(0);
    // under a sufficient cap it opens
    const ok = await openNifti({ path, tmpDir, limits: { maxUncompressedBytes: 16 * 1024 * 1024 } });
    await ok.close();
  });

  it('rejects uncompressed data over the cap', async () => {
    const err = await rejection(join(DATA_DIR, 'nifti-nibabel-variants/anatomical.nii'), { maxUncompressedBytes: 10_000 });
    expect(err.message).toMatch(/over the limit/);
  });

  it('rejects files that are not NIfTI', async () => {
    expect((await rejection(join(DATA_DIR, 'bad-non-dicom/slicer_screenshot.png'))).message).toMatch(/is not a NIfTI file/);
    expect((await rejection(join(DATA_DIR, 'bad-non-dicom/zipMR.gz'))).message).toMatch(/is not a NIfTI file/);
    expect((await rejection(join(DATA_DIR, 'bad-non-dicom/test.mgz'))).message).toMatch(/is not a NIfTI file|could not be decompressed/);
    const empty = join(work, 'empty.nii');
    writeFileSync(empty, '');
    expect((await rejection(empty)).message).toMatch(/empty/);
    const broken = join(work, 'broken.nii.gz');
    writeFileSync(broken, gzipSync(readFileSync(join(DATA_DIR, 'nifti-nibabel-variants/anatomical.nii'))).subarray(0, 2000));
    expect((await rejection(broken)).message).toMatch(/could not be decompressed|too short/);
    expect(tmpEntries()).toHaveLength(0);
  });

  it('rejects complex and RGB data, and zero dimensions', async () => {
    const complex = join(work, 'complex.nii');
    writeFileSync(complex, makeNifti1({ dims: [4, 4, 2], datatype: 32, bitpix: 64 }));
    expect((await rejection(complex)).message).toMatch(/complex64 voxels/);
    const rgb = join(work, 'rgb.nii');
    writeFileSync(rgb, makeNifti1({ dims: [4, 4, 2], datatype: 128, bitpix: 24 }));
    expect((await rejection(rgb)).message).toMatch(/RGB24 voxels/);
    const zero = join(work, 'zero.nii');
    writeFileSync(zero, makeNifti1({ dims: [4, 0, 2], datatype: 4, bitpix: 16 }));
    expect((await rejection(zero)).message).toMatch(/dimension 2 is 0/);
  });
});
