import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newDicomUid, niftiToDicom, type NiftiDicomInstance, type NiftiSeriesForm } from './nifti-to-dicom.js';
import { NiftiRejection, openNifti } from './nifti-volume.js';
import {
  applyAffine,
  columnNorm,
  DATA_DIR,
  makeNifti1,
  parseDicom,
  quaternionRotation,
  rasToLps,
  readReference,
  unitColumn,
  type ParsedDicom,
  type ReferenceNifti,
} from './test-support.js';

const limits = { maxUncompressedBytes: 1024 ** 3 };
const UID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;
let work: string;
let tmpDir: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'nifti-dicom-test-'));
  tmpDir = join(work, 'tmp');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const baseForm: NiftiSeriesForm = { patientName: 'Doe^Jane', patientId: 'P-001', studyDescription: 'NIfTI test', modality: 'CT' };

async function convert(path: string, form: Partial<NiftiSeriesForm> = {}): Promise<{ instances: NiftiDicomInstance[]; parsed: ParsedDicom[] }> {
  const vol = await openNifti({ path, tmpDir, limits });
  try {
    const instances: NiftiDicomInstance[] = [];
    for await (const inst of niftiToDicom(vol, { ...baseForm, ...form })) instances.push(inst);
    return { instances, parsed: instances.map((i) => parseDicom(i.part10)) };
  } finally {
    await vol.close();
  }
}

function expectClose(actual: unknown, expected: number[], tol: number): void {
  const a = actual as number[];
  expect(a).toHaveLength(expected.length);
  a.forEach((v, n) => expect(Math.abs(Number(v) - expected[n]!)).toBeLessThanOrEqual(tol));
}

/** Checks geometry of every slice of volume t against an LPS affine, and sampled pixels against the reference. */
function checkSeries(parsed: ParsedDicom[], lps: number[][], ref: ReferenceNifti | null, t = 0, sampleAll = false): void {
  const nx = parsed[0]!.columns;
  const ny = parsed[0]!.rows;
  parsed.forEach((p, k) => {
    expect(p.ds.InstanceNumber).toBe(k + 1);
    expectClose(p.ds.ImagePositionPatient, applyAffine(lps, 0, 0, k), 1e-3);
    expectClose(p.ds.ImageOrientationPatient, [...unitColumn(lps, 0), ...unitColumn(lps, 1)], 1e-6);
    expectClose(p.ds.PixelSpacing, [columnNorm(lps, 1), columnNorm(lps, 0)], 1e-6);
    expect(Math.abs(Number(p.ds.SliceThickness) - columnNorm(lps, 2))).toBeLessThan(1e-6);
    expect(Math.abs(Number(p.ds.SpacingBetweenSlices) - columnNorm(lps, 2))).toBeLessThan(1e-6);
    if (!ref) return;
    const tol = p.slope / 2 + 1e-9 * Math.max(1, Math.abs(p.intercept));
    const samples: [number, number][] = sampleAll
      ? Array.from({ length: nx * ny }, (_, n) => [n % nx, Math.floor(n / nx)])
      : [[0, 0], [nx - 1, 0], [0, ny - 1], [nx - 1, ny - 1], [nx >> 1, ny >> 1], [(nx * 3) >> 2, ny >> 2], [nx >> 3, (ny * 5) >> 3]];
    for (const [i, j] of samples) {
      // pixel (row r, column c) of slice k is voxel (i = c, j = r, k)
      const diff = Math.abs(p.real(j, i) - ref.voxel(i, j, k, t));
      if (diff > tol) expect.fail(`slice ${k} voxel (${i},${j}): DICOM ${p.real(j, i)} vs NIfTI ${ref.voxel(i, j, k, t)} (tolerance ${tol})`);
    }
  });
}

function dciodvfyErrors(part10: Buffer, name: string): string[] {
  expect(existsSync('/usr/bin/dciodvfy'), 'dciodvfy (dicom3tools) must be installed at /usr/bin/dciodvfy').toBe(true);
  const file = join(work, name);
  writeFileSync(file, part10);
  const run = spawnSync('/usr/bin/dciodvfy', [file], { encoding: 'utf8' });
  expect(run.error).toBeUndefined();
  const output = `${run.stdout}\n${run.stderr}`;
  expect(output).toMatch(/(CT|MR)Image/); // it recognised the IOD
  return output.split('\n').filter((l) => l.startsWith('Error -'));
}

describe('niftiToDicom', () => {
  it('converts the TotalSegmentator CT: one CT instance per slice with exact geometry and pixel values', async () => {
    const path = join(DATA_DIR, 'nifti-ct-abdomen-with-labels-totalseg/example_ct_sm.nii.gz');
    const ref = readReference(path);
    const { instances, parsed } = await convert(path, { seriesDescription: 'example_ct_sm' });
    expect(instances).toHaveLength(30);
    const lps = rasToLps(ref.header.affine); // sform_code 2, qform_code 0
    checkSeries(parsed, lps, ref);

    const first = parsed[0]!;
    expect(first.ds.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.2');
    expect(first.meta.TransferSyntaxUID).toBe('1.2.840.10008.1.2.1');
    expect(first.ds.Modality).toBe('CT');
    expect(first.ds.Rows).toBe(101);
    expect(first.ds.Columns).toBe(122);
    expect(first.ds.BitsAllocated).toBe(16);
    expect(first.ds.PixelRepresentation).toBe(1); // int16 stored directly
    expect(first.slope).toBe(1);
    expect(first.intercept).toBe(0);
    expect(first.ds.RescaleType).toBe('HU');
    expect(first.ds.PhotometricInterpretation).toBe('MONOCHROME2');
    expect(first.ds.ImageType).toEqual(['DERIVED', 'SECONDARY', 'AXIAL']);
    expect(first.ds.SeriesDescription).toBe('example_ct_sm');
    expect(first.ds.Manufacturer).toBe('Preview-DICOM');
    expect(Number(first.ds.WindowWidth)).toBeGreaterThanOrEqual(1);
    // RAS 3 mm grid, i -> patient left... in LPS the row direction is -x
    expect(first.ds.ImageOrientationPatient).toEqual([-1, 0, 0, 0, -1, 0]);

    const study = new Set(instances.map((i) => i.studyInstanceUid));
    const series = new Set(instances.map((i) => i.seriesInstanceUid));
    const sops = new Set(instances.map((i) => i.sopInstanceUid));
    expect(study.size).toBe(1);
    expect(series.size).toBe(1);
    expect(sops.size).toBe(30);
    for (const [inst, p] of instances.map((i, n) => [i, parsed[n]!] as const)) {
      for (const uid of [inst.studyInstanceUid, inst.seriesInstanceUid, inst.sopInstanceUid, p.ds.FrameOfReferenceUID as string]) {
        expect(uid).toMatch(UID);
        expect(uid.length).toBeLessThanOrEqual(64);
      }
      expect(p.ds.SOPInstanceUID).toBe(inst.sopInstanceUid);
      expect(p.meta.MediaStorageSOPInstanceUID).toBe(inst.sopInstanceUid);
      expect(p.ds.SeriesInstanceUID).toBe(inst.seriesInstanceUid);
      expect(p.ds.StudyInstanceUID).toBe(inst.studyInstanceUid);
    }
    expect(new Set(parsed.map((p) => p.ds.FrameOfReferenceUID)).size).toBe(1);
  });

  it('gives the same pixel values for the big- and little-endian copies of one image', async () => {
    const bigPath = join(DATA_DIR, 'nifti-extra-mr-labels-endianness/big.nii.gz');
    const big = await convert(bigPath, { modality: 'MR' });
    const little = await convert(join(DATA_DIR, 'nifti-extra-mr-labels-endianness/little.nii.gz'), { modality: 'MR' });
    expect(big.parsed).toHaveLength(21);
    expect(little.parsed).toHaveLength(21);
    big.parsed.forEach((b, k) => {
      const l = little.parsed[k]!;
      expect(Array.from(b.stored)).toEqual(Array.from(l.stored));
      expect([b.slope, b.intercept]).toEqual([l.slope, l.intercept]);
    });
    // float32 data: mapped to int16, every voxel within slope/2 of the real value; qform geometry
    const ref = readReference(bigPath);
    checkSeries(big.parsed, rasToLps(ref.header.getQformMat()), ref, 0, true);
    expect(big.parsed[0]!.ds.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.4');
  });

  it('takes geometry from the qform of the big-endian nibabel anatomical.nii', async () => {
    const path = join(DATA_DIR, 'nifti-nibabel-variants/anatomical.nii');
    const ref = readReference(path);
    const h = ref.header;
    // qform computed here from the quaternion, qfac = pixdim[0]
    const R = quaternionRotation(h.quatern_b, h.quatern_c, h.quatern_d);
    const qfac = h.pixDims[0]! < 0 ? -1 : 1;
    const scale = [h.pixDims[1]!, h.pixDims[2]!, h.pixDims[3]! * qfac];
    const q = [
      [...R[0]!.map((v, c) => v * scale[c]!), h.qoffset_x],
      [...R[1]!.map((v, c) => v * scale[c]!), h.qoffset_y],
      [...R[2]!.map((v, c) => v * scale[c]!), h.qoffset_z],
      [0, 0, 0, 1],
    ];
    const { parsed } = await convert(path, { modality: 'MR' });
    expect(parsed).toHaveLength(25);
    checkSeries(parsed, rasToLps(q), ref, 0, true);
  });

  it('converts a NIfTI-2 file (4-D: one series per volume)', async () => {
    const path = join(DATA_DIR, 'nifti-nibabel-variants/example_nifti2.nii.gz');
    const ref = readReference(path);
    const { instances, parsed } = await convert(path, { modality: 'MR' });
    expect(instances).toHaveLength(24);
    const lps = rasToLps(ref.header.affine);
    for (const t of [0, 1]) checkSeries(parsed.slice(t * 12, t * 12 + 12), lps, ref, t, true);
  });

  it('makes one series per volume of a 4-D file, in one study and frame of reference', async () => {
    const path = join(DATA_DIR, 'nifti-nibabel-variants/example4d.nii.gz');
    const ref = readReference(path);
    const studyInstanceUid = newDicomUid();
    const { instances, parsed } = await convert(path, { modality: 'MR', seriesDescription: 'fmri run', studyInstanceUid });
    expect(instances).toHaveLength(48);
    const v0 = instances.filter((i) => i.volumeIndex === 0);
    const v1 = instances.filter((i) => i.volumeIndex === 1);
    expect(v0).toHaveLength(24);
    expect(v1).toHaveLength(24);
    expect(new Set(v0.map((i) => i.seriesInstanceUid)).size).toBe(1);
    expect(new Set(v1.map((i) => i.seriesInstanceUid)).size).toBe(1);
    expect(v0[0]!.seriesInstanceUid).not.toBe(v1[0]!.seriesInstanceUid);
    expect(new Set(instances.map((i) => i.studyInstanceUid))).toEqual(new Set([studyInstanceUid]));
    expect(new Set(parsed.map((p) => p.ds.FrameOfReferenceUID)).size).toBe(1);
    expect(parsed[0]!.ds.SeriesDescription).toBe('fmri run (volume 1)');
    expect(parsed[24]!.ds.SeriesDescription).toBe('fmri run (volume 2)');
    expect(parsed[0]!.ds.SeriesNumber).toBe(1);
    expect(parsed[24]!.ds.SeriesNumber).toBe(2);
    // sform_code = qform_code = 1: the sform (oblique about x here) wins
    const lps = rasToLps(ref.header.affine);
    checkSeries(parsed.slice(0, 24), lps, ref, 0);
    checkSeries(parsed.slice(24), lps, ref, 1);
  });

  it('keeps an oblique sform exact (IOP/IPP) and float values within slope/2', async () => {
    const deg = Math.PI / 180;
    const rz = 30 * deg;
    const rx = 20 * deg;
    // R = Rz · Rx, columns scaled by voxel sizes 0.8, 0.9, 2.5 mm
    const Rz = [[Math.cos(rz), -Math.sin(rz), 0], [Math.sin(rz), Math.cos(rz), 0], [0, 0, 1]];
    const Rx = [[1, 0, 0], [0, Math.cos(rx), -Math.sin(rx)], [0, Math.sin(rx), Math.cos(rx)]];
    const R = Rz.map((row) => [0, 1, 2].map((c) => row.reduce((s, v, n) => s + v * Rx[n]![c]!, 0)));
    const sizes = [0.8, 0.9, 2.5];
    const offset = [-40.5, 12.25, -7];
    const sform = R.map((row, r) => [...row.map((v, c) => v * sizes[c]!), offset[r]!]);
    const [nx, ny, nz] = [7, 5, 4];
    const data = Array.from({ length: nx * ny * nz }, (_, n) => Math.sin(n) * 1234.5678 + 17.25);
    const path = join(work, 'oblique.nii');
    writeFileSync(path, makeNifti1({ dims: [nx, ny, nz], datatype: 16, bitpix: 32, data, sform, sformCode: 2, pixdim: [1, ...sizes, 1, 1, 1, 1] }));
    const ref = readReference(path);
    const { parsed } = await convert(path);
    expect(parsed).toHaveLength(nz);
    const lps = rasToLps([...sform, [0, 0, 0, 1]]);
    checkSeries(parsed, lps, ref, 0, true);
    const iop = parsed[0]!.ds.ImageOrientationPatient as number[];
    expect(iop.filter((v) => Math.abs(v) > 1e-3 && Math.abs(Math.abs(v) - 1) > 1e-3).length).toBeGreaterThan(2); // really oblique
    expect(parsed[0]!.slope).toBeLessThan(0.05); // (max - min) / 65534
  });

  it('uses the sform over a different qform, and an oblique qform when there is no sform', async () => {
    const [nx, ny, nz] = [4, 3, 3];
    const data = Array.from({ length: nx * ny * nz }, (_, n) => n * 3 - 20);
    // quaternion for a rotation of 25° about the axis (1, 2, 2)/3
    const half = (25 * Math.PI) / 180 / 2;
    const [b, c, d] = [1, 2, 2].map((v) => (v / 3) * Math.sin(half)) as [number, number, number];
    const quatern = { b, c, d, x: 10, y: -20, z: 30 };
    const pixdim = [-1, 1.5, 2, 3, 1, 1, 1, 1]; // qfac -1
    const qOnly = join(work, 'qform.nii');
    writeFileSync(qOnly, makeNifti1({ dims: [nx, ny, nz], datatype: 4, bitpix: 16, data, quatern, qformCode: 1, pixdim, slope: 0.25, inter: 100 }));
    const Rq = quaternionRotation(b, c, d);
    const scale = [1.5, 2, -3];
    const q = [...Rq.map((row, r) => [...row.map((v, col) => v * scale[col]!), [10, -20, 30][r]!]), [0, 0, 0, 1]];
    const qRes = await convert(qOnly, { modality: 'MR' });
    checkSeries(qRes.parsed, rasToLps(q), readReference(qOnly), 0, true);
    expect(qRes.parsed[0]!.slope).toBe(0.25); // int16 stored as is, scl_slope/scl_inter as rescale
    expect(qRes.parsed[0]!.intercept).toBe(100);

    const sform = [[0, 0, 2, -5], [-1, 0, 0, 6], [0, 1, 0, 7]];
    const both = join(work, 'both.nii');
    // sform_code 1 < qform_code 2: nifti-reader-js would pick the qform; the rule here is sform first
    writeFileSync(both, makeNifti1({ dims: [nx, ny, nz], datatype: 4, bitpix: 16, data, quatern, qformCode: 2, sform, sformCode: 1, pixdim }));
    const sRes = await convert(both, { modality: 'MR' });
    checkSeries(sRes.parsed, rasToLps([...sform, [0, 0, 0, 1]]), readReference(both), 0, true);
  });

  it('stores integer-valued wide data directly and maps wide ranges linearly', async () => {
    const dims = [6, 4, 2];
    const labels = join(work, 'int32-labels.nii');
    writeFileSync(labels, makeNifti1({ dims, datatype: 8, bitpix: 32, data: Array.from({ length: 48 }, (_, n) => n % 7) }));
    const l = await convert(labels);
    expect([l.parsed[0]!.slope, l.parsed[0]!.intercept]).toEqual([1, 0]);
    checkSeries(l.parsed, [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]].map((r, n) => (n < 2 ? r.map((v) => -v) : r)), readReference(labels), 0, true);

    const wide = join(work, 'float64-wide.nii');
    const values = Array.from({ length: 48 }, (_, n) => (n === 5 ? 3.5e7 : n === 9 ? -2.25e6 : Math.cos(n) * 1e4 + 0.125));
    writeFileSync(wide, makeNifti1({ dims, datatype: 64, bitpix: 64, data: values }));
    const w = await convert(wide);
    expect(w.parsed[0]!.slope).toBeGreaterThan(500);
    checkSeries(w.parsed, [[-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], readReference(wide), 0, true);
  });

  it('sanitises caller strings and validates a given study UID', async () => {
    const path = join(DATA_DIR, 'nifti-nibabel-variants/standard.nii.gz');
    const { parsed } = await convert(path, {
      patientName: 'Doe\\Evil^Jane\u0000\u001b=X',
      patientId: 'ID\\1\n',
      studyDescription: 'Über\tstudy',
      patientBirthDate: '1970-01-31',
      patientSex: 'F',
    });
    const ds = parsed[0]!.ds;
    expect(ds.SpecificCharacterSet).toBe('ISO_IR 192');
    expect((ds.PatientName as { Alphabetic: string }[])[0]!.Alphabetic).toBe('Doe Evil^Jane X');
    expect(ds.PatientID).toBe('ID 1');
    expect(ds.StudyDescription).toBe('Über study');
    expect(ds.PatientBirthDate).toBe('19700131');
    expect(ds.PatientSex).toBe('F');
    expect(ds.SeriesDescription).toBe('NIfTI import');

    const vol = await openNifti({ path, tmpDir, limits });
    try {
      await expect(niftiToDicom(vol, { ...baseForm, studyInstanceUid: '1.2.abc' }).next()).rejects.toThrow(NiftiRejection);
    } finally {
      await vol.close();
    }
  });

  it('newDicomUid gives 2.25 UIDs of at most 64 characters', () => {
    const uids = new Set(Array.from({ length: 200 }, () => newDicomUid()));
    expect(uids.size).toBe(200);
    for (const u of uids) {
      expect(u).toMatch(/^2\.25\.(0|[1-9][0-9]*)$/);
      expect(u.length).toBeLessThanOrEqual(64);
      expect(BigInt(u.slice(5))).toBeLessThan(2n ** 128n);
    }
  });

  it('passes dciodvfy for a CT slice and an MR slice', async () => {
    const ct = await convert(join(DATA_DIR, 'nifti-ct-abdomen-with-labels-totalseg/example_ct_sm.nii.gz'), { patientBirthDate: '19800101', patientSex: 'M' });
    expect(dciodvfyErrors(ct.instances[12]!.part10, 'ct.dcm')).toEqual([]);
    const mr = await convert(join(DATA_DIR, 'nifti-nibabel-variants/example4d.nii.gz'), { modality: 'MR' });
    expect(dciodvfyErrors(mr.instances[30]!.part10, 'mr.dcm')).toEqual([]);
    const mrFloat = await convert(join(DATA_DIR, 'nifti-extra-mr-labels-endianness/big.nii.gz'), { modality: 'MR' });
    expect(dciodvfyErrors(mrFloat.instances[3]!.part10, 'mr-float.dcm')).toEqual([]);
  });
});
