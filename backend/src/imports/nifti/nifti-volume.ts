/**
 * Opens a NIfTI-1 / NIfTI-2 volume (.nii or .nii.gz) for slice-by-slice reading with bounded memory.
 *
 * - A .nii.gz is gunzipped (node:zlib) to a temp file under `tmpDir`, the byte cap enforced while it
 *   decompresses; a plain .nii is read in place.
 * - The header is parsed by nifti-reader-js from the first bytes of the (decompressed) file.
 * - Slices are read with positional reads (`FileHandle.read`), one slice at a time.
 *
 * Every problem a user can fix is a `NiftiRejection`, whose message is shown to the user verbatim.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as nifti from 'nifti-reader-js';

/** A problem with the user's file. The message is shown to the user verbatim: what is wrong and what to do. */
export class NiftiRejection extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NiftiRejection';
  }
}

export type NiftiLimits = {
  /** Cap on the decompressed file size and on the image data size (e.g. 1 GiB). */
  maxUncompressedBytes: number;
};

export type NiftiVolume = {
  /** i (columns), j (rows), k (slices). */
  dims: [number, number, number];
  /** 4th dimension (1 for a 3-D file). */
  volumes: number;
  /** NIfTI datatype, e.g. "int16", "float32". */
  datatypeName: string;
  /** NIfTI-1 or NIfTI-2. */
  format: 'NIfTI-1' | 'NIfTI-2';
  /** 4x4, voxel index (i,j,k,1) -> patient LPS mm. */
  affineLps: number[][];
  /** Which header transform the affine came from. */
  affineSource: 'sform' | 'qform' | 'pixdim';
  /** Length in mm of the affine's columns 0, 1, 2 (voxel size along i, j, k). */
  spacing: [number, number, number];
  /** Raw-to-real-value scaling from scl_slope/scl_inter (slope 1, intercept 0 when unset/0). */
  scaling: { slope: number; intercept: number };
  /** Reads slice k of volume t as real values (after scl scaling), one slice at a time from disk. Index = j * dims[0] + i. */
  readSlice(k: number, t?: number): Promise<Float64Array>;
  /** Same as readSlice, without scl scaling (the stored values). */
  readRawSlice(k: number, t?: number): Promise<Float64Array>;
  /** Closes the file and removes any temp file it made. Safe to call twice. */
  close(): Promise<void>;
};

type Datatype = { name: string; bytes: number; get: (view: DataView, offset: number, littleEndian: boolean) => number };

// NIfTI datatype codes (nifti1.h) that are one real number per voxel. Others (binary, complex, RGB,
// RGBA, float128) are refused.
const DATATYPES = new Map<number, Datatype>([
  [2, { name: 'uint8', bytes: 1, get: (v, o) => v.getUint8(o) }],
  [4, { name: 'int16', bytes: 2, get: (v, o, le) => v.getInt16(o, le) }],
  [8, { name: 'int32', bytes: 4, get: (v, o, le) => v.getInt32(o, le) }],
  [16, { name: 'float32', bytes: 4, get: (v, o, le) => v.getFloat32(o, le) }],
  [64, { name: 'float64', bytes: 8, get: (v, o, le) => v.getFloat64(o, le) }],
  [256, { name: 'int8', bytes: 1, get: (v, o) => v.getInt8(o) }],
  [512, { name: 'uint16', bytes: 2, get: (v, o, le) => v.getUint16(o, le) }],
  [768, { name: 'uint32', bytes: 4, get: (v, o, le) => v.getUint32(o, le) }],
  [1024, { name: 'int64', bytes: 8, get: (v, o, le) => Number(v.getBigInt64(o, le)) }],
  [1280, { name: 'uint64', bytes: 8, get: (v, o, le) => Number(v.getBigUint64(o, le)) }],
]);

const UNSUPPORTED_DATATYPES = new Map<number, string>([
  [1, 'binary (1 bit per voxel)'],
  [32, 'complex64'],
  [128, 'RGB24'],
  [1536, 'float128'],
  [1792, 'complex128'],
  [2048, 'complex256'],
  [2304, 'RGBA32'],
]);

const NIFTI1_HEADER_BYTES = 348;
const NIFTI2_HEADER_BYTES = 540;

export async function openNifti(input: { path: string; tmpDir: string; limits: NiftiLimits }): Promise<NiftiVolume> {
  const { path, tmpDir, limits } = input;
  const name = basename(path);
  const cap = limits.maxUncompressedBytes;

  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new NiftiRejection(`The file "${name}" could not be read. Upload it again.`);
  }
  if (size === 0) throw new NiftiRejection(`The file "${name}" is empty. Upload a .nii or .nii.gz file.`);

  const first = await readStart(path, 2);
  const gzipped = first[0] === 0x1f && first[1] === 0x8b;

  let tempDir: string | null = null;
  let dataPath = path;
  let dataSize = size;
  const cleanup = async () => {
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
    tempDir = null;
  };

  let fh: FileHandle | null = null;
  try {
    if (gzipped) {
      if (size > cap) {
        throw new NiftiRejection(
          `The compressed file "${name}" is ${fmtBytes(size)}, over the limit of ${fmtBytes(cap)} for a NIfTI volume. Crop or downsample it, or split it into smaller volumes.`,
        );
      }
      await mkdir(tmpDir, { recursive: true });
      tempDir = await mkdtemp(join(tmpDir, 'nifti-'));
      dataPath = join(tempDir, 'volume.nii');
      dataSize = await gunzipCapped(path, dataPath, cap, name);
    } else if (size > cap) {
      throw new NiftiRejection(
        `The file "${name}" is ${fmtBytes(size)}, over the limit of ${fmtBytes(cap)} for a NIfTI volume. Crop or downsample it, or split it into smaller volumes.`,
      );
    }

    fh = await open(dataPath, 'r');
    const headBuf = Buffer.alloc(Math.min(dataSize, NIFTI2_HEADER_BYTES));
    await fh.read(headBuf, 0, headBuf.length, 0);
    const header = parseHeader(headBuf, name);
    const volume = describe(header, headBuf, name, dataSize, gzipped, cap);

    const handle = fh;
    let closed = false;
    const readRaw = async (k: number, t = 0): Promise<{ raw: Float64Array }> => {
      if (closed) throw new Error('NIfTI volume is closed');
      const [nx, ny, nz] = volume.dims;
      if (!Number.isInteger(k) || k < 0 || k >= nz) throw new RangeError(`slice ${k} out of range 0..${nz - 1}`);
      if (!Number.isInteger(t) || t < 0 || t >= volume.volumes) throw new RangeError(`volume ${t} out of range 0..${volume.volumes - 1}`);
      const perSlice = nx * ny;
      const bpv = volume.datatype.bytes;
      const buf = Buffer.alloc(perSlice * bpv);
      const position = volume.voxOffset + (t * nz + k) * perSlice * bpv;
      const { bytesRead } = await handle.read(buf, 0, buf.length, position);
      if (bytesRead !== buf.length) throw new NiftiRejection(`The file "${name}" ended early while reading slice ${k + 1}. The file is truncated; export it again.`);
      const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      const out = new Float64Array(perSlice);
      const get = volume.datatype.get;
      const le = volume.littleEndian;
      for (let n = 0, o = 0; n < perSlice; n += 1, o += bpv) out[n] = get(view, o, le);
      return { raw: out };
    };

    return {
      dims: volume.dims,
      volumes: volume.volumes,
      datatypeName: volume.datatype.name,
      format: volume.format,
      affineLps: volume.affineLps,
      affineSource: volume.affineSource,
      spacing: volume.spacing,
      scaling: volume.scaling,
      async readRawSlice(k, t = 0) {
        return (await readRaw(k, t)).raw;
      },
      async readSlice(k, t = 0) {
        const { raw } = await readRaw(k, t);
        const { slope, intercept } = volume.scaling;
        if (slope !== 1 || intercept !== 0) for (let n = 0; n < raw.length; n += 1) raw[n] = raw[n]! * slope + intercept;
        return raw;
      },
      async close() {
        if (closed) return;
        closed = true;
        await handle.close();
        await cleanup();
      },
    };
  } catch (err) {
    if (fh) await fh.close().catch(() => undefined);
    await cleanup();
    throw err;
  }
}

async function readStart(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Gunzips `src` to `dest`, failing as soon as more than `cap` bytes come out, or as soon as the first
 * bytes show it is not a NIfTI file. Returns the decompressed size. (zlib does the decompression; the
 * counting/early-check Transform is ours: no library enforces a byte cap mid-stream.)
 */
async function gunzipCapped(src: string, dest: string, cap: number, name: string): Promise<number> {
  let total = 0;
  let head: Buffer | null = Buffer.alloc(0);
  const check = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      total += chunk.length;
      if (total > cap) {
        cb(
          new NiftiRejection(
            `"${name}" expands to more than ${fmtBytes(cap)} when decompressed, over the limit for a NIfTI volume. Crop or downsample it, or split it into smaller volumes.`,
          ),
        );
        return;
      }
      if (head) {
        head = Buffer.concat([head, chunk]);
        if (head.length >= NIFTI1_HEADER_BYTES) {
          const ok = looksLikeNifti(head);
          head = null;
          if (!ok) {
            cb(new NiftiRejection(notNiftiMessage(name)));
            return;
          }
        }
      }
      cb(null, chunk);
    },
  });
  try {
    await pipeline(createReadStream(src), createGunzip(), check, createWriteStream(dest));
  } catch (err) {
    if (err instanceof NiftiRejection) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('Z_') || code === 'ERR_STREAM_PREMATURE_CLOSE') {
      throw new NiftiRejection(`"${name}" could not be decompressed: the gzip data is damaged or incomplete. Export or download the file again.`);
    }
    throw err;
  }
  return total;
}

function looksLikeNifti(buf: Buffer): boolean {
  if (buf.length < NIFTI1_HEADER_BYTES) return false;
  const ab = toArrayBuffer(buf);
  return nifti.isNIFTI1(ab, true) || nifti.isNIFTI2(ab, true);
}

function notNiftiMessage(name: string): string {
  return `"${name}" is not a NIfTI file (no NIfTI-1 or NIfTI-2 header found). Upload a .nii or .nii.gz volume.`;
}

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  const ab = new ArrayBuffer(buf.length);
  new Uint8Array(ab).set(buf);
  return ab;
}

function parseHeader(headBuf: Buffer, name: string): nifti.NIFTI1 | nifti.NIFTI2 {
  if (!looksLikeNifti(headBuf)) throw new NiftiRejection(notNiftiMessage(name));
  const ab = toArrayBuffer(headBuf);
  // Hand the library the standard header only: the extensions (between the header and vox_offset) are
  // not needed here, and are not all in this buffer.
  const isTwo = nifti.isNIFTI2(ab, true);
  if (isTwo && headBuf.length < NIFTI2_HEADER_BYTES) throw new NiftiRejection(`"${name}" is too short to hold a NIfTI-2 header. The file is truncated; export it again.`);
  const hdrOnly = ab.slice(0, isTwo ? NIFTI2_HEADER_BYTES : NIFTI1_HEADER_BYTES);
  if (!nifti.isNIFTI(hdrOnly)) {
    throw new NiftiRejection(
      `"${name}" is the header half of a .hdr/.img NIfTI pair, which is not supported. Convert it to a single .nii or .nii.gz file (e.g. with nibabel or fslchfiletype).`,
    );
  }
  try {
    return nifti.readHeader(hdrOnly);
  } catch {
    throw new NiftiRejection(`"${name}" has a damaged NIfTI header (its header size field is wrong). Export the volume again.`);
  }
}

type Described = {
  format: 'NIfTI-1' | 'NIfTI-2';
  dims: [number, number, number];
  volumes: number;
  datatype: Datatype;
  littleEndian: boolean;
  voxOffset: number;
  affineLps: number[][];
  affineSource: 'sform' | 'qform' | 'pixdim';
  spacing: [number, number, number];
  scaling: { slope: number; intercept: number };
};

function describe(h: nifti.NIFTI1 | nifti.NIFTI2, headBuf: Buffer, name: string, fileSize: number, gzipped: boolean, cap: number): Described {
  const isTwo = h instanceof nifti.NIFTI2;
  const headerBytes = isTwo ? NIFTI2_HEADER_BYTES : NIFTI1_HEADER_BYTES;
  const d = h.dims;
  const ndim = d[0] ?? 0;
  if (!Number.isInteger(ndim) || ndim < 1 || ndim > 7) {
    throw new NiftiRejection(`"${name}" has an invalid NIfTI header (dim[0] = ${ndim}, must be 1 to 7). Export the volume again.`);
  }
  for (let n = 1; n <= ndim; n += 1) {
    const v = d[n] ?? 0;
    if (!Number.isSafeInteger(v) || v <= 0) {
      throw new NiftiRejection(`"${name}" has an invalid size: dimension ${n} is ${v}; every dimension must be at least 1. Export the volume again.`);
    }
  }
  if (ndim > 4 && d.slice(5, ndim + 1).some((v) => v > 1)) {
    throw new NiftiRejection(`"${name}" has ${ndim} dimensions (${d.slice(1, ndim + 1).join('×')}). 5-D NIfTI is not supported; split it into 3-D volumes.`);
  }
  if (ndim === 1) {
    throw new NiftiRejection(`"${name}" is a 1-D NIfTI file (${d[1]} values), not an image. Upload a 3-D volume.`);
  }
  const nx = d[1]!;
  const ny = d[2]!;
  const nz = ndim >= 3 ? d[3]! : 1;
  const nt = ndim >= 4 ? d[4]! : 1;
  if (nx > 65535 || ny > 65535) {
    throw new NiftiRejection(`"${name}" has slices of ${nx}×${ny} voxels; DICOM images can be at most 65535 voxels wide and high. Crop or downsample it.`);
  }

  const datatype = DATATYPES.get(h.datatypeCode);
  if (!datatype) {
    const known = UNSUPPORTED_DATATYPES.get(h.datatypeCode);
    throw new NiftiRejection(
      known
        ? `"${name}" stores ${known} voxels, which cannot be converted to a greyscale DICOM series. Convert it to a scalar type (int16 or float32) first.`
        : `"${name}" has an unknown NIfTI datatype code ${h.datatypeCode}. Convert it to a scalar type (int16 or float32) first.`,
    );
  }

  // vox_offset: a float in NIfTI-1. Values below the header size are invalid for a single .nii file;
  // like nibabel, treat them as the minimum (header + 4 extension bytes).
  let voxOffset = h.vox_offset;
  if (!Number.isFinite(voxOffset) || voxOffset < 0 || !Number.isInteger(voxOffset)) {
    throw new NiftiRejection(`"${name}" has an invalid NIfTI header (vox_offset = ${voxOffset}). Export the volume again.`);
  }
  if (voxOffset < headerBytes + 4) voxOffset = headerBytes + 4;

  const voxels = nx * ny * nz * nt;
  const dataBytes = voxels * datatype.bytes;
  if (!Number.isSafeInteger(dataBytes) || dataBytes > cap) {
    throw new NiftiRejection(
      `"${name}" holds ${d.slice(1, Math.min(ndim, 4) + 1).join('×')} voxels of ${datatype.name} (${fmtBytes(dataBytes)}), over the limit of ${fmtBytes(cap)} for a NIfTI volume. Crop or downsample it, or split it into smaller volumes.`,
    );
  }
  const expected = voxOffset + dataBytes;
  if (fileSize < expected) {
    throw new NiftiRejection(
      `"${name}" is too short: its header describes ${d.slice(1, Math.min(ndim, 4) + 1).join('×')} voxels of ${datatype.name} starting at byte ${voxOffset}, so the ${gzipped ? 'decompressed ' : ''}file should be at least ${expected} bytes, but it has only ${fileSize} bytes. The file is truncated or its header is wrong; export it again.`,
    );
  }

  const { affineRas, source } = chooseAffine(h, headBuf, isTwo);
  // Spatial units (xyzt_units & 7): metres and microns are scaled to mm (as ITK does); unknown means mm.
  const units = h.xyzt_units & 7;
  const unitScale = units === 1 ? 1000 : units === 3 ? 0.001 : 1;
  // NIfTI world space is RAS+, DICOM patient space is LPS: negate the x and y rows.
  const affineLps = [0, 1, 2].map((r) => affineRas[r]!.map((v) => v * unitScale * (r < 2 ? -1 : 1)));
  affineLps.push([0, 0, 0, 1]);
  const spacing = [0, 1, 2].map((c) => Math.hypot(affineLps[0]![c]!, affineLps[1]![c]!, affineLps[2]![c]!)) as [number, number, number];
  if (affineLps.some((row) => row.some((v) => !Number.isFinite(v))) || spacing.some((s) => !(s > 0))) {
    throw new NiftiRejection(
      `"${name}" has an unusable orientation (its ${source} transform has a zero or invalid voxel axis). Fix the header's sform/qform (e.g. with nibabel) and upload it again.`,
    );
  }

  let slope = h.scl_slope;
  let intercept = h.scl_inter;
  if (!Number.isFinite(slope) || slope === 0) {
    slope = 1;
    intercept = 0;
  } else if (!Number.isFinite(intercept)) {
    intercept = 0;
  }

  return {
    format: isTwo ? 'NIfTI-2' : 'NIfTI-1',
    dims: [nx, ny, nz],
    volumes: nt,
    datatype,
    littleEndian: h.littleEndian,
    voxOffset,
    affineLps,
    affineSource: source,
    spacing,
    scaling: { slope, intercept },
  };
}

/**
 * sform if sform_code > 0, else qform if qform_code > 0, else pixdim scaling (the nibabel rule).
 * nifti-reader-js computes `affine` itself but prefers the qform when qform_code > sform_code, so for a
 * NIfTI-1 sform we read srow_x/y/z (float32 at byte 280) by hand. NIfTI-2's `affine` is always the srow.
 * The qform comes from the library's getQformMat (quaternion + qfac from pixdim[0], as nifti1_io.c).
 */
function chooseAffine(h: nifti.NIFTI1 | nifti.NIFTI2, headBuf: Buffer, isTwo: boolean): { affineRas: number[][]; source: 'sform' | 'qform' | 'pixdim' } {
  if (h.sform_code > 0) {
    if (isTwo) return { affineRas: h.affine.slice(0, 3).map((r) => r.slice(0, 4)), source: 'sform' };
    const view = new DataView(headBuf.buffer, headBuf.byteOffset, headBuf.byteLength);
    const rows = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => view.getFloat32(280 + (r * 4 + c) * 4, h.littleEndian)));
    return { affineRas: rows, source: 'sform' };
  }
  if (h.qform_code > 0) {
    return { affineRas: h.getQformMat().slice(0, 3).map((r) => r.slice(0, 4)), source: 'qform' };
  }
  const px = (n: number) => {
    const v = Math.abs(h.pixDims[n] ?? 0);
    return Number.isFinite(v) && v > 0 ? v : 1;
  };
  return {
    affineRas: [
      [px(1), 0, 0, 0],
      [0, px(2), 0, 0],
      [0, 0, px(3), 0],
    ],
    source: 'pixdim',
  };
}

export function fmtBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB (${n} bytes)`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB (${n} bytes)`;
  return `${n} bytes`;
}
