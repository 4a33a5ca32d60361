/** Test helpers for the NIfTI import tests (not used by production code). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
// @ts-ignore -- dcmjs ships no type declarations
import dcmjsUntyped from 'dcmjs';
import * as nifti from 'nifti-reader-js';

/** /work/shared/data (the repo root is /work/main). */
export const DATA_DIR = fileURLToPath(new URL('../../../../../shared/data/', import.meta.url));

type DcmjsRead = {
  data: {
    DicomMessage: { readFile(buffer: ArrayBuffer): { dict: object; meta: object } };
    DicomMetaDictionary: { naturalizeDataset(dataset: object): Record<string, unknown> };
  };
};
const dcmjs = dcmjsUntyped as unknown as DcmjsRead;

export type ParsedDicom = {
  ds: Record<string, unknown>;
  meta: Record<string, unknown>;
  rows: number;
  columns: number;
  slope: number;
  intercept: number;
  /** Real value (stored * slope + intercept) at row r, column c. */
  real(r: number, c: number): number;
  stored: Int16Array | Uint16Array;
};

export function parseDicom(part10: Buffer): ParsedDicom {
  const ab = part10.buffer.slice(part10.byteOffset, part10.byteOffset + part10.byteLength) as ArrayBuffer;
  const msg = dcmjs.data.DicomMessage.readFile(ab);
  const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(msg.dict);
  const meta = dcmjs.data.DicomMetaDictionary.naturalizeDataset(msg.meta);
  const pixelData = (ds.PixelData as ArrayBuffer[])[0]!;
  const stored = ds.PixelRepresentation === 1 ? new Int16Array(pixelData) : new Uint16Array(pixelData);
  const rows = ds.Rows as number;
  const columns = ds.Columns as number;
  const slope = Number(ds.RescaleSlope ?? 1);
  const intercept = Number(ds.RescaleIntercept ?? 0);
  return { ds, meta, rows, columns, slope, intercept, stored, real: (r, c) => stored[r * columns + c]! * slope + intercept };
}

export type ReferenceNifti = {
  header: nifti.NIFTI1 | nifti.NIFTI2;
  dims: number[];
  /** Real value (scl applied) of voxel (i, j, k, t), read independently with nifti-reader-js. */
  voxel(i: number, j: number, k: number, t?: number): number;
};

/** Reads a whole (small) NIfTI file with nifti-reader-js, as an independent reference. */
export function readReference(path: string): ReferenceNifti {
  let buf = readFileSync(path);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  const header = nifti.readHeader(ab);
  const image = new DataView(nifti.readImage(header, ab));
  const le = header.littleEndian;
  const dims = header.dims;
  const getters: Record<number, [number, (o: number) => number]> = {
    2: [1, (o) => image.getUint8(o)],
    4: [2, (o) => image.getInt16(o, le)],
    8: [4, (o) => image.getInt32(o, le)],
    16: [4, (o) => image.getFloat32(o, le)],
    64: [8, (o) => image.getFloat64(o, le)],
    256: [1, (o) => image.getInt8(o)],
    512: [2, (o) => image.getUint16(o, le)],
  };
  const [bytes, get] = getters[header.datatypeCode]!;
  const slope = header.scl_slope || 1;
  const inter = header.scl_slope ? header.scl_inter : 0;
  const nx = dims[1]!;
  const ny = dims[2]!;
  const nz = dims[0]! >= 3 ? dims[3]! : 1;
  return {
    header,
    dims,
    voxel: (i, j, k, t = 0) => get((((t * nz + k) * ny + j) * nx + i) * bytes) * slope + inter,
  };
}

/** RAS affine (4x4) -> LPS. */
export function rasToLps(a: number[][]): number[][] {
  return a.map((row, r) => row.map((v) => (r < 2 ? -v : v)));
}

export function applyAffine(a: number[][], i: number, j: number, k: number): number[] {
  return [0, 1, 2].map((r) => a[r]![0]! * i + a[r]![1]! * j + a[r]![2]! * k + a[r]![3]!);
}

export function unitColumn(a: number[][], c: number): number[] {
  const v = [a[0]![c]!, a[1]![c]!, a[2]![c]!];
  const n = Math.hypot(v[0]!, v[1]!, v[2]!);
  return v.map((x) => x / n);
}

export function columnNorm(a: number[][], c: number): number {
  return Math.hypot(a[0]![c]!, a[1]![c]!, a[2]![c]!);
}

/** Rotation matrix (3x3, row-major) of the NIfTI quaternion (b, c, d), a = sqrt(1 - b² - c² - d²). */
export function quaternionRotation(b: number, c: number, d: number): number[][] {
  const a = Math.sqrt(Math.max(0, 1 - b * b - c * c - d * d));
  return [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
}

export type SyntheticNifti = {
  dims: number[]; // [nx, ny, nz] or [nx, ny, nz, nt] ...
  datatype: number;
  bitpix: number;
  /** Raw stored values, i fastest. */
  data?: ArrayLike<number>;
  pixdim?: number[]; // pixdim[0..7]
  sform?: number[][]; // 3 rows x 4
  sformCode?: number;
  quatern?: { b: number; c: number; d: number; x: number; y: number; z: number };
  qformCode?: number;
  slope?: number;
  inter?: number;
  littleEndian?: boolean;
};

/** Writes a single-file NIfTI-1 (348-byte header + 4 extension bytes + data). */
export function makeNifti1(s: SyntheticNifti): Buffer {
  const le = s.littleEndian ?? true;
  const bytesPer = s.bitpix / 8;
  const count = s.dims.reduce((a, b) => a * b, 1);
  const out = Buffer.alloc(352 + count * bytesPer);
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  v.setInt32(0, 348, le);
  v.setInt16(40, s.dims.length, le);
  s.dims.forEach((d, n) => v.setInt16(42 + n * 2, d, le));
  for (let n = s.dims.length; n < 7; n += 1) v.setInt16(42 + n * 2, 1, le);
  v.setInt16(70, s.datatype, le);
  v.setInt16(72, s.bitpix, le);
  const pixdim = s.pixdim ?? [1, 1, 1, 1, 1, 1, 1, 1];
  pixdim.forEach((p, n) => v.setFloat32(76 + n * 4, p, le));
  v.setFloat32(108, 352, le);
  v.setFloat32(112, s.slope ?? 1, le);
  v.setFloat32(116, s.inter ?? 0, le);
  v.setUint8(123, 2); // mm
  v.setInt16(252, s.qformCode ?? 0, le);
  v.setInt16(254, s.sformCode ?? 0, le);
  if (s.quatern) {
    [s.quatern.b, s.quatern.c, s.quatern.d, s.quatern.x, s.quatern.y, s.quatern.z].forEach((q, n) => v.setFloat32(256 + n * 4, q, le));
  }
  if (s.sform) s.sform.forEach((row, r) => row.forEach((x, c) => v.setFloat32(280 + (r * 4 + c) * 4, x, le)));
  out.write('n+1\0', 344, 'latin1');
  const data = s.data;
  if (!data) return out; // all zeros
  for (let n = 0; n < count; n += 1) {
    const o = 352 + n * bytesPer;
    const x = data[n]!;
    switch (s.datatype) {
      case 2: v.setUint8(o, x); break;
      case 4: v.setInt16(o, x, le); break;
      case 8: v.setInt32(o, x, le); break;
      case 16: v.setFloat32(o, x, le); break;
      case 64: v.setFloat64(o, x, le); break;
      default: break; // other types: left zero (used only for rejection tests)
    }
  }
  return out;
}
