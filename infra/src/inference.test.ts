// The reference inference service (infra/inference): its MONAI Label REST shape, its models on
// real CT/MR volumes from ../shared/data (read in place) and on synthetic volumes with a known
// answer, and its refusals of bad input.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillHolesSliceBySlice, IndexQueue, keepComponentsAtLeast, keepLargestComponent, otsu } from '../inference/algorithms.js';
import { parseNifti, type NiftiVolume } from '../inference/nifti.js';
import { startInferenceServer, type InferenceServer } from '../inference/server.js';
import { loadStackConfig } from './config.js';
import { findFreePort } from './ports.js';
import { startInference } from './services/inference.js';
import { backendEnv } from './stack.js';

const sharedData = resolve(import.meta.dirname, '../../../shared/data');
const ctFile = resolve(sharedData, 'nifti-ct-abdomen-with-labels-totalseg/example_ct_sm.nii.gz');
const ctSegFile = resolve(sharedData, 'nifti-ct-abdomen-with-labels-totalseg/example_seg.nii.gz');
const mrDir = resolve(sharedData, 'nifti-extra-mr-labels-endianness');

let server: InferenceServer;
let base: string;

beforeAll(async () => {
  server = await startInferenceServer({ port: 0, log: () => {} });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server?.close();
});

type Answer = { status: number; headers: Headers; body: Buffer; json: () => { detail?: string } & Record<string, unknown> };

async function answer(response: Response): Promise<Answer> {
  const body = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, body, json: () => JSON.parse(body.toString('utf8')) };
}

/** POST /infer/{model} as the backend does: multipart `params` + `file`. */
async function infer(model: string, file: Buffer | null, options: { params?: string; output?: string; url?: string } = {}): Promise<Answer> {
  const form = new FormData();
  form.append('params', options.params ?? '{}');
  if (file) form.append('file', new Blob([new Uint8Array(file)], { type: 'application/octet-stream' }), 'image.nii');
  return answer(await fetch(`${options.url ?? base}/infer/${encodeURIComponent(model)}?output=${options.output ?? 'image'}`, { method: 'POST', body: form }));
}

const readVolume = (path: string) => {
  const bytes = readFileSync(path);
  return parseNifti(bytes[0] === 0x1f ? gunzipSync(bytes) : bytes);
};

/** dim[], pixdim[], qform/sform codes, quaternion, qoffset and srow_x/y/z as numbers (whatever the byte order). */
function geometry(volume: NiftiVolume) {
  const h = volume.headerBytes;
  const le = volume.littleEndian;
  const i16 = (o: number) => (le ? h.readInt16LE(o) : h.readInt16BE(o));
  const f32 = (o: number) => (le ? h.readFloatLE(o) : h.readFloatBE(o));
  return {
    dim: Array.from({ length: 8 }, (_, k) => i16(40 + 2 * k)),
    pixdim: Array.from({ length: 8 }, (_, k) => f32(76 + 4 * k)),
    codes: [i16(252), i16(254)],
    transform: Array.from({ length: 18 }, (_, k) => f32(256 + 4 * k)),
  };
}

function labelCounts(labels: ArrayLike<number>): Record<number, number> {
  const counts: Record<number, number> = {};
  for (let i = 0; i < labels.length; i++) counts[labels[i]!] = (counts[labels[i]!] ?? 0) + 1;
  return counts;
}

/** A little-endian int16 NIfTI-1 file with an sform (scale `mm`, origin −10 mm). */
function makeNifti(nx: number, ny: number, nz: number, values: (x: number, y: number, z: number) => number, mm = 3): Buffer {
  const file = Buffer.alloc(352 + nx * ny * nz * 2);
  file.writeInt32LE(348, 0);
  [3, nx, ny, nz, 1, 1, 1, 1].forEach((d, k) => file.writeInt16LE(d, 40 + 2 * k));
  file.writeInt16LE(4, 70); // int16
  file.writeInt16LE(16, 72);
  [1, mm, mm, mm, 1, 1, 1, 1].forEach((p, k) => file.writeFloatLE(p, 76 + 4 * k));
  file.writeFloatLE(352, 108);
  file.writeFloatLE(1, 112);
  file.writeUInt8(2, 123); // mm
  file.writeInt16LE(1, 254); // sform_code scanner
  [mm, 0, 0, -10, 0, mm, 0, -10, 0, 0, mm, -10].forEach((v, k) => file.writeFloatLE(v, 280 + 4 * k));
  file.write('n+1\0', 344, 'latin1');
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) file.writeInt16LE(values(x, y, z), 352 + 2 * (x + nx * (y + ny * z)));
  return file;
}

describe('GET /info', () => {
  it("answers MONAI Label's shape: service, all labels, models with label values, modality and dimension", async () => {
    const response = await answer(await fetch(`${base}/info`));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const info = response.json();
    expect(info).toMatchObject({ name: 'Preview-DICOM reference segmentation', version: '1.0.0', labels: ['body', 'lungs', 'bone', 'foreground'] });
    expect(typeof info.description).toBe('string');
    expect(info.models).toEqual({
      ct_body_lungs_bone: { type: 'segmentation', labels: { body: 1, lungs: 2, bone: 3 }, dimension: 3, description: expect.stringContaining('-500 HU'), modality: 'CT', version: '1.0.0' },
      mr_foreground: { type: 'segmentation', labels: { foreground: 1 }, dimension: 3, description: expect.stringContaining('Otsu'), modality: 'MR', version: '1.0.0' },
    });
  });

  it('answers 404 for unknown paths and 405 for a wrong method, with a detail', async () => {
    const missing = await answer(await fetch(`${base}/models`));
    expect(missing.status).toBe(404);
    expect(missing.json().detail).toBe('Not Found');
    expect((await answer(await fetch(`${base}/infer/ct_body_lungs_bone`))).status).toBe(405);
  });
});

describe('ct_body_lungs_bone on a real abdominal CT (TotalSegmentator example)', () => {
  const input = readFileSync(ctFile);
  const source = readVolume(ctFile);
  const reference = readVolume(ctSegFile);
  let result: Answer;
  let labels: NiftiVolume;
  let elapsedMs = 0;

  beforeAll(async () => {
    const started = performance.now();
    result = await infer('ct_body_lungs_bone', input);
    elapsedMs = performance.now() - started;
    labels = parseNifti(result.body);
  });

  it('answers an uncompressed uint8 NIfTI-1 label map on exactly the input grid', () => {
    expect(result.status).toBe(200);
    expect(result.headers.get('content-type')).toBe('application/octet-stream');
    expect(result.headers.get('content-disposition')).toBe('attachment; filename="label.nii"');
    expect(result.body.length).toBe(352 + 122 * 101 * 30);
    expect(result.body.readFloatLE(108)).toBe(352);
    expect(result.body.readInt32LE(348)).toBe(0); // no extensions
    expect(labels.datatypeCode).toBe(2);
    expect([labels.nx, labels.ny, labels.nz]).toEqual([122, 101, 30]);
    expect(geometry(labels)).toEqual(geometry(source));
    expect(new Set(labels.data)).toEqual(new Set([0, 1, 2, 3]));
    expect(elapsedMs).toBeLessThan(5_000);
  });

  it('finds a body that holds every TotalSegmentator structure, lungs where its lungs are, and bone on its bones', () => {
    const names = new Map<number, string>();
    const bytes = gunzipSync(readFileSync(ctSegFile));
    const xml = bytes.subarray(352, Math.floor(bytes.readFloatLE(108))).toString('latin1');
    for (const [, key, name] of xml.matchAll(/Key="(\d+)"[^>]*><!\[CDATA\[([^\]]+)\]\]>/g)) names.set(Number(key), name!);
    expect(names.get(5)).toBe('liver');
    const isBone = (value: number) => /^(vertebrae_|rib_|sacrum|sternum|hip_|femur_|humerus_|scapula_|clavicula_|skull)/.test(names.get(value) ?? '');
    const isLung = (value: number) => /^lung_/.test(names.get(value) ?? '');

    const ours = labels.data;
    const theirs = reference.data;
    let body = 0, structures = 0, structuresInBody = 0, lungs = 0, theirLungs = 0, theirLungsFound = 0, bone = 0, boneOnTheirBone = 0;
    for (let i = 0; i < ours.length; i++) {
      const label = ours[i]!;
      const value = theirs[i]!;
      if (label !== 0) body++;
      if (value !== 0) {
        structures++;
        if (label !== 0) structuresInBody++;
      }
      if (label === 2) lungs++;
      if (isLung(value)) {
        theirLungs++;
        if (label === 2) theirLungsFound++;
      }
      if (label === 3) {
        bone++;
        if (isBone(value)) boneOnTheirBone++;
      }
    }
    // The body is most of the field of view and contains all of TotalSegmentator's structures.
    expect(body / ours.length).toBeGreaterThan(0.5);
    expect(body / ours.length).toBeLessThan(0.8);
    expect(structuresInBody / structures).toBeGreaterThan(0.99);
    // Lungs: nearly all of TotalSegmentator's lung voxels (bowel gas is a known extra; see README).
    expect(theirLungs).toBeGreaterThan(1000);
    expect(theirLungsFound / theirLungs).toBeGreaterThan(0.8);
    expect(lungs).toBeGreaterThan(theirLungs * 0.8);
    // Bone: dense voxels (cortical bone, ≥ 250 HU), nearly all on TotalSegmentator's bone labels.
    expect(bone).toBeGreaterThan(1000);
    expect(boneOnTheirBone / bone).toBeGreaterThan(0.5);
  });

  it('is deterministic and reads .nii and .nii.gz alike', async () => {
    const again = await infer('ct_body_lungs_bone', input);
    expect(again.body.equals(result.body)).toBe(true);
    const uncompressed = await infer('ct_body_lungs_bone', gunzipSync(input), { params: '{"unknown_key": [1, 2], "device": "cuda"}' });
    expect(uncompressed.status).toBe(200);
    expect(uncompressed.body.equals(result.body)).toBe(true);
  });

  it('reads a multi-member gzip file (as concatenated .gz parts are)', async () => {
    const raw = gunzipSync(input);
    const twoMembers = Buffer.concat([gzipSync(raw.subarray(0, 300_000)), gzipSync(raw.subarray(300_000))]);
    const response = await infer('ct_body_lungs_bone', twoMembers);
    expect(response.status).toBe(200);
    expect(response.body.equals(result.body)).toBe(true);
  });

  it('with output=json, answers the label names, volumes and what the algorithm found', async () => {
    const response = await infer('ct_body_lungs_bone', input, { output: 'json' });
    expect(response.status).toBe(200);
    const body = response.json() as { label_names: unknown; statistics: Record<string, { voxels: number; cm3: number }>; details: { lung_min_voxels: number } };
    expect(body.label_names).toEqual({ body: 1, lungs: 2, bone: 3 });
    const counts = labelCounts(labels.data);
    expect(body.statistics.bone!.voxels).toBe(counts[3]);
    expect(body.statistics.bone!.cm3).toBeCloseTo((counts[3]! * 27) / 1000, 2);
    expect(body.details.lung_min_voxels).toBe(Math.ceil(5000 / 27));
  });
});

describe('mr_foreground on real MR volumes', () => {
  it('covers every labelled structure of the TotalSegmentator MR example, on its grid', async () => {
    const file = resolve(mrDir, 'example_mr_sm.nii.gz');
    const response = await infer('mr_foreground', readFileSync(file));
    expect(response.status).toBe(200);
    const labels = parseNifti(response.body);
    expect(geometry(labels)).toEqual(geometry(readVolume(file)));
    const reference = readVolume(resolve(mrDir, 'example_seg_mr.nii.gz')).data;
    let foreground = 0, structures = 0, covered = 0;
    for (let i = 0; i < labels.data.length; i++) {
      if (labels.data[i] === 1) foreground++;
      if (reference[i] !== 0) {
        structures++;
        if (labels.data[i] === 1) covered++;
      }
    }
    expect(new Set(labels.data)).toEqual(new Set([0, 1]));
    expect(covered / structures).toBeGreaterThan(0.98);
    expect(foreground / labels.data.length).toBeGreaterThan(0.4);
    expect(foreground / labels.data.length).toBeLessThan(0.95);
  });

  it('gives the same labels for the same image stored big- and little-endian, keeping each qform', async () => {
    const big = await infer('mr_foreground', readFileSync(resolve(mrDir, 'big.nii.gz')));
    const little = await infer('mr_foreground', readFileSync(resolve(mrDir, 'little.nii.gz')));
    expect(big.status).toBe(200);
    expect(little.status).toBe(200);
    const a = parseNifti(big.body);
    const b = parseNifti(little.body);
    expect(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength))).toBe(true);
    expect(labelCounts(a.data)[1]).toBeGreaterThan(500);
    const source = readVolume(resolve(mrDir, 'big.nii.gz'));
    expect(source.littleEndian).toBe(false);
    expect(geometry(a)).toEqual(geometry(source));
    expect(geometry(a).codes).toEqual([1, 0]); // qform only: no sform invented
  });
});

describe('the models on synthetic volumes with a known answer', () => {
  const dist2 = (x: number, y: number, z: number, c: [number, number, number]) => (x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2;

  it('CT: largest body component, cavity as lungs, a too-small cavity stays body, bone inside, a stray blob dropped', async () => {
    const [nx, ny, nz] = [40, 40, 24];
    const centre: [number, number, number] = [20, 20, 12];
    const inBlob = (x: number, y: number, z: number) => x >= 1 && x <= 2 && y >= 1 && y <= 2 && z >= 1 && z <= 2;
    const inBone = (x: number, y: number, z: number) => x >= 26 && x <= 27 && y >= 19 && y <= 20 && z >= 11 && z <= 12;
    const isSmallCavity = (x: number, y: number, z: number) => x === 20 && y === 20 && z === 19;
    const hu = (x: number, y: number, z: number) => {
      if (inBlob(x, y, z)) return 40;
      const d = dist2(x, y, z, centre);
      if (d > 100) return -1000; // outside the 10-voxel ball: air
      if (d <= 25 || isSmallCavity(x, y, z)) return -800; // 5-voxel cavity (≈ 14 cm³ at 3 mm) and a 1-voxel one
      return inBone(x, y, z) ? 600 : 40;
    };
    const expected = (x: number, y: number, z: number) => {
      const d = dist2(x, y, z, centre);
      if (d > 100) return 0;
      if (d <= 25) return 2;
      return inBone(x, y, z) ? 3 : 1;
    };
    const response = await infer('ct_body_lungs_bone', makeNifti(nx, ny, nz, hu));
    expect(response.status).toBe(200);
    const labels = parseNifti(response.body).data;
    const want = new Uint8Array(nx * ny * nz);
    for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) want[x + nx * (y + ny * z)] = expected(x, y, z);
    expect(labelCounts(labels)).toEqual(labelCounts(want));
    expect(Buffer.from(labels as Uint8Array).equals(Buffer.from(want))).toBe(true);
  });

  it('CT: a cavity smaller than 5 cm³ is not lungs (the minimum follows the voxel size)', async () => {
    // The same 5-voxel-radius cavity at 1 mm voxels is 0.5 cm³: body, not lungs.
    const hu = (x: number, y: number, z: number) => {
      const d = dist2(x, y, z, [20, 20, 12]);
      return d > 100 ? -1000 : d <= 25 ? -800 : 40;
    };
    const response = await infer('ct_body_lungs_bone', makeNifti(40, 40, 24, hu, 1));
    const counts = labelCounts(parseNifti(response.body).data);
    expect(counts[2]).toBeUndefined();
    expect(counts[1]).toBeGreaterThan(4000);
  });

  it('MR: Otsu separates the two intensities, the hollow ball is filled, the stray blob dropped', async () => {
    const [nx, ny, nz] = [32, 32, 16];
    const inBlob = (x: number, y: number, z: number) => x <= 1 && y <= 1 && z <= 1;
    const value = (x: number, y: number, z: number) => {
      if (inBlob(x, y, z)) return 200;
      const d = dist2(x, y, z, [16, 16, 8]);
      return d <= 36 && d > 4 ? 200 : 10;
    };
    const response = await infer('mr_foreground', makeNifti(nx, ny, nz, value, 2));
    expect(response.status).toBe(200);
    const labels = parseNifti(response.body).data;
    let mismatches = 0;
    for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
      if (labels[x + nx * (y + ny * z)] !== (dist2(x, y, z, [16, 16, 8]) <= 36 ? 1 : 0)) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('MR: a constant volume gives an empty label map, not an error', async () => {
    const response = await infer('mr_foreground', makeNifti(8, 8, 4, () => 7));
    expect(response.status).toBe(200);
    expect(labelCounts(parseNifti(response.body).data)).toEqual({ 0: 256 });
  });
});

describe('the building blocks', () => {
  const grid = (nx: number, ny: number, nz: number) => ({ nx, ny, nz });

  it('a queue keeps FIFO order across wrap-around and growth', () => {
    const queue = new IndexQueue(4);
    const out: number[] = [];
    queue.push(1);
    queue.push(2);
    queue.push(3);
    out.push(queue.shift(), queue.shift());
    for (let v = 4; v <= 12; v++) queue.push(v); // wraps, then grows twice
    while (queue.length) out.push(queue.shift());
    expect(out).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('keeps the largest 6-connected component (diagonal contact does not connect; ties go to the first)', () => {
    // 4×4×1: a 3-voxel L and a 3-voxel bar touching it only diagonally, plus one voxel.
    const mask = Uint8Array.from([1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0]);
    expect(keepLargestComponent(mask, grid(4, 4, 1))).toBe(3);
    expect(Array.from(mask)).toEqual([1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const empty = new Uint8Array(8);
    expect(keepLargestComponent(empty, grid(2, 2, 2))).toBe(0);
  });

  it('connects across slices and keeps every component at least the minimum size', () => {
    // 3×1×3: a vertical bar of 3 (x = 0, through all slices), a single voxel at x = 2, z = 1.
    const mask = Uint8Array.from([1, 0, 0, 1, 0, 1, 1, 0, 0]);
    expect(keepComponentsAtLeast(mask, grid(3, 1, 3), 2)).toEqual([3]);
    expect(Array.from(mask)).toEqual([1, 0, 0, 1, 0, 0, 1, 0, 0]);
  });

  it('fills holes per slice, but not a hole that opens to the slice border', () => {
    const ring = (gap: boolean) => {
      const mask = new Uint8Array(5 * 5 * 2);
      for (let y = 1; y <= 3; y++) for (let x = 1; x <= 3; x++) if (x !== 2 || y !== 2) mask[x + 5 * y] = 1; // slice 0: closed ring
      for (let y = 1; y <= 3; y++) for (let x = 1; x <= 3; x++) if (x !== 2 || y !== 2) mask[25 + x + 5 * y] = 1; // slice 1: ring...
      if (gap) mask[25 + 2 + 5 * 1] = 0; // ...with a gap in slice 1 only
      return mask;
    };
    const closed = ring(false);
    expect(fillHolesSliceBySlice(closed, grid(5, 5, 2))).toBe(2);
    const open = ring(true);
    expect(fillHolesSliceBySlice(open, grid(5, 5, 2))).toBe(1);
    expect(open[2 + 5 * 2]).toBe(1);
    expect(open[25 + 2 + 5 * 2]).toBe(0);
  });

  it("Otsu's threshold lies between two intensity clusters", () => {
    const values = [...Array(100).fill(10), ...Array(50).fill(12), ...Array(80).fill(100), ...Array(20).fill(104)];
    const result = otsu(values, 1, 0)!;
    expect(result.min).toBe(10);
    expect(result.max).toBe(104);
    expect(result.threshold).toBeGreaterThan(12);
    expect(result.threshold).toBeLessThanOrEqual(100);
    expect(otsu([5, 5, 5], 1, 0)).toBeNull();
    // Scaling (scl_slope/scl_inter) is applied before the histogram.
    expect(otsu(values, 2, -20)!.min).toBe(0);
  });
});

describe('bad requests', () => {
  it('answers 400 with a detail when there is no file part', async () => {
    const response = await infer('ct_body_lungs_bone', null);
    expect(response.status).toBe(400);
    expect(response.json().detail).toMatch(/no "file" part/);
  });

  it('answers 400 for a PNG, a truncated NIfTI, a broken gzip, a 4-D series and NIfTI-2', async () => {
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(1000, 7)]);
    const pngAnswer = await infer('ct_body_lungs_bone', png);
    expect(pngAnswer.status).toBe(400);
    expect(pngAnswer.json().detail).toMatch(/not a NIfTI-1 file/);

    const raw = gunzipSync(readFileSync(ctFile));
    const truncated = await infer('ct_body_lungs_bone', raw.subarray(0, 100_000));
    expect(truncated.status).toBe(400);
    expect(truncated.json().detail).toBe(
      'the file is not a usable NIfTI-1 volume: the file is truncated: 122×101×30 int16 voxels need 739320 bytes from offset 352, but only 99648 are present',
    );

    const brokenGzip = await infer('ct_body_lungs_bone', readFileSync(ctFile).subarray(0, 20_000));
    expect(brokenGzip.status).toBe(400);
    expect(brokenGzip.json().detail).toMatch(/gzip-compressed but cannot be decompressed/);

    const fourD = await infer('mr_foreground', readFileSync(resolve(sharedData, 'nifti-nibabel-variants/example4d.nii.gz')));
    expect(fourD.status).toBe(400);
    expect(fourD.json().detail).toMatch(/4 dimensions \(128×96×24×2\); only 3-D volumes/);

    const nifti2 = await infer('mr_foreground', readFileSync(resolve(sharedData, 'nifti-nibabel-variants/example_nifti2.nii.gz')));
    expect(nifti2.status).toBe(400);
    expect(nifti2.json().detail).toMatch(/NIfTI-2 files are not supported/);
  });

  it('answers 404 for an unknown model and 400 for an unsupported output or bad params', async () => {
    const small = makeNifti(4, 4, 4, () => 0);
    const unknown = await infer('segment_everything', small);
    expect(unknown.status).toBe(404);
    expect(unknown.json().detail).toMatch(/model "segment_everything" not found; available: ct_body_lungs_bone, mr_foreground/);
    expect((await infer('mr_foreground', small, { output: 'dicom_seg' })).status).toBe(400);
    const badParams = await infer('mr_foreground', small, { params: '{not json' });
    expect(badParams.status).toBe(400);
    expect(badParams.json().detail).toMatch(/params.*not valid JSON/);
  });

  it('answers 400 for a body that is not multipart, or a file sent as a text field', async () => {
    const json = await answer(await fetch(`${base}/infer/mr_foreground?output=image`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }));
    expect(json.status).toBe(400);
    expect(json.json().detail).toMatch(/multipart\/form-data/);
    const form = new FormData();
    form.append('file', 'not a file');
    const asField = await answer(await fetch(`${base}/infer/mr_foreground?output=image`, { method: 'POST', body: form }));
    expect(asField.status).toBe(400);
    expect(asField.json().detail).toMatch(/sent as a text field/);
  });

  it('answers 413 above the upload limit, whether or not the length is declared, and keeps serving', async () => {
    const limited = await startInferenceServer({ port: 0, maxUploadBytes: 10_000, log: () => {} });
    const url = `http://127.0.0.1:${limited.port}`;
    try {
      const declared = await infer('mr_foreground', Buffer.alloc(50_000_000), { url });
      expect(declared.status).toBe(413);
      expect(declared.json().detail).toMatch(/larger than the limit of 10000 bytes/);

      // Chunked (no Content-Length): busboy's file size limit catches it.
      const boundary = 'x-boundary-x';
      const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="params"\r\n\r\n{}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="image.nii"\r\nContent-Type: application/octet-stream\r\n\r\n`),
        Buffer.alloc(200_000),
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let offset = 0; offset < body.length; offset += 16_384) controller.enqueue(new Uint8Array(body.subarray(offset, offset + 16_384)));
          controller.close();
        },
      });
      const chunked = await answer(await fetch(`${url}/infer/mr_foreground?output=image`, { method: 'POST', body: stream, duplex: 'half', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } } as RequestInit));
      expect(chunked.status).toBe(413);
      expect(chunked.json().detail).toBe('the file is larger than the limit of 10000 bytes');

      const fine = await infer('mr_foreground', makeNifti(4, 4, 4, (x) => x * 10), { url });
      expect(fine.status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('answers 413 when a small .nii.gz decompresses beyond the volume limit', async () => {
    const limited = await startInferenceServer({ port: 0, maxVolumeBytes: 100_000, log: () => {} });
    try {
      const response = await infer('ct_body_lungs_bone', readFileSync(ctFile), { url: `http://127.0.0.1:${limited.port}` });
      expect(response.status).toBe(413);
      expect(response.json().detail).toBe('the decompressed volume exceeds the limit of 100000 bytes');
    } finally {
      await limited.close();
    }
  });
});

describe('launcher wiring', () => {
  const secrets = { orthancUser: 'u', orthancPassword: 'p'.repeat(16), redisPassword: 'r'.repeat(16), jwtSecret: 'j'.repeat(32) };

  it('points the backend at the reference service unless PD_INFERENCE_URL names another server', () => {
    const reference = loadStackConfig({ PD_INFERENCE_PORT: '18190' });
    expect(reference.referenceInferencePort).toBe(18190);
    expect(backendEnv(reference, secrets).PD_INFERENCE_URL).toBe('http://127.0.0.1:18190');
    expect(loadStackConfig({}).referenceInferencePort).toBe(8090);

    const monai = loadStackConfig({ PD_INFERENCE_URL: 'http://monai.example.org:8000' });
    expect(monai.referenceInferencePort).toBeNull();
    expect(backendEnv(monai, secrets).PD_INFERENCE_URL).toBe('http://monai.example.org:8000');
  });

  it('refuses the reference service on a port another service uses, but not when it is not started', () => {
    expect(() => loadStackConfig({ PD_INFERENCE_PORT: '8081' })).toThrow(/Port 8081 is configured for two services/);
    expect(() => loadStackConfig({ PD_INFERENCE_PORT: '8081', PD_INFERENCE_URL: 'http://monai:8000' })).not.toThrow();
    expect(() => loadStackConfig({ PD_INFERENCE_PORT: 'x' })).toThrow(/PD_INFERENCE_PORT/);
  });

  it('starts the service as a managed process that answers /info, and stops it', async () => {
    const port = await findFreePort();
    const logDir = mkdtempSync(join(tmpdir(), 'pd-inference-'));
    const proc = await startInference({ port, logDir, startTimeoutMs: 30_000 });
    try {
      const info = (await (await fetch(`http://127.0.0.1:${port}/info`)).json()) as { models: Record<string, unknown> };
      expect(Object.keys(info.models)).toEqual(['ct_body_lungs_bone', 'mr_foreground']);
    } finally {
      await proc.stop();
    }
    expect(proc.running).toBe(false);
    expect(readFileSync(join(logDir, 'inference.log'), 'utf8')).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+[\s\S]*GET \/info 200/);
  }, 40_000);
});
