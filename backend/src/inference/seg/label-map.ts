/**
 * A model's label map (NIfTI, .nii or .nii.gz) read into integer labels, and checked to lie exactly on
 * the source series' voxel grid. Nothing is ever resampled: a map off the grid is refused with the
 * difference named, because a resampled segmentation would silently disagree with what the model saw.
 */
import { gunzipSync } from 'node:zlib';
import * as nifti from 'nifti-reader-js';
import { dot, norm, type Vec3, type VolumeGrid } from '../volume/volume.js';

/** The label map does not lie on the source grid. The message names the difference. */
export class SegGridError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SegGridError';
  }
}

export type LabelMap = {
  /** Labels, i (column) fastest, then j (row), then k (slice). 0 = background. */
  data: Uint8Array | Uint16Array;
  /** i, j, k sizes. */
  dims: [number, number, number];
  /** 4×4 voxel (i, j, k, 1) → patient LPS mm. */
  affineLps: number[][];
};

type Reader = { bytes: number; typed?: (buf: ArrayBuffer, offset: number, length: number) => ArrayLike<number>; get: (v: DataView, o: number, le: boolean) => number };

// NIfTI datatype codes (nifti1.h) that can hold labels. Complex, RGB and 64-bit integers are refused.
const READERS = new Map<number, Reader>([
  [2, { bytes: 1, typed: (b, o, n) => new Uint8Array(b, o, n), get: (v, o) => v.getUint8(o) }],
  [256, { bytes: 1, typed: (b, o, n) => new Int8Array(b, o, n), get: (v, o) => v.getInt8(o) }],
  [4, { bytes: 2, typed: (b, o, n) => new Int16Array(b, o, n), get: (v, o, le) => v.getInt16(o, le) }],
  [512, { bytes: 2, typed: (b, o, n) => new Uint16Array(b, o, n), get: (v, o, le) => v.getUint16(o, le) }],
  [8, { bytes: 4, typed: (b, o, n) => new Int32Array(b, o, n), get: (v, o, le) => v.getInt32(o, le) }],
  [768, { bytes: 4, typed: (b, o, n) => new Uint32Array(b, o, n), get: (v, o, le) => v.getUint32(o, le) }],
  [16, { bytes: 4, typed: (b, o, n) => new Float32Array(b, o, n), get: (v, o, le) => v.getFloat32(o, le) }],
  [64, { bytes: 8, typed: (b, o, n) => new Float64Array(b, o, n), get: (v, o, le) => v.getFloat64(o, le) }],
]);

const hostLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Reads a NIfTI-1/-2 label map (gzip or not). Any integer datatype, or float holding whole numbers,
 * becomes uint8 (labels up to 255) or uint16 (up to 65535) labels. The affine is the sform when
 * sform_code > 0, else the qform when qform_code > 0 (nibabel's rule), else voxel sizes only; RAS is
 * turned into LPS. Throws a plain Error naming the problem when the file is not a usable label map.
 */
export function readLabelMap(file: Buffer): LabelMap {
  let buf = file;
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch {
      throw new Error('the gzip-compressed label map is damaged or incomplete');
    }
  }
  const ab = buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength ? (buf.buffer as ArrayBuffer) : (buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
  if (ab.byteLength < 348 || !nifti.isNIFTI(ab)) throw new Error('the answer is not a NIfTI file (no NIfTI-1 or NIfTI-2 header)');
  const h = nifti.readHeader(ab);
  const isTwo = h instanceof nifti.NIFTI2;

  const d = h.dims;
  const ndim = d[0] ?? 0;
  if (ndim < 2 || ndim > 7) throw new Error(`the label map has ${ndim} dimensions; a 3-D volume is expected`);
  const size = (n: number) => (n <= ndim ? (d[n] ?? 0) : 1);
  const dims: [number, number, number] = [size(1), size(2), size(3)];
  if (dims.some((v) => !Number.isSafeInteger(v) || v < 1)) throw new Error(`the label map has an invalid size ${dims.join('×')}`);
  for (let n = 4; n <= ndim; n += 1) {
    if (size(n) !== 1) throw new Error(`the label map has ${ndim} dimensions (${d.slice(1, ndim + 1).join('×')}); one 3-D label volume is expected`);
  }

  const reader = READERS.get(h.datatypeCode);
  if (!reader) throw new Error(`the label map's NIfTI datatype (code ${h.datatypeCode}) cannot hold labels; use an integer type such as uint8 or int16`);
  const count = dims[0] * dims[1] * dims[2];
  const offset = Math.max(h.vox_offset, isTwo ? 544 : 352);
  if (!Number.isSafeInteger(offset) || offset + count * reader.bytes > ab.byteLength) {
    throw new Error(`the label map is truncated: ${dims.join('×')} voxels need ${offset + count * reader.bytes} bytes, the file has ${ab.byteLength}`);
  }

  let slope = h.scl_slope;
  let inter = h.scl_inter;
  if (!Number.isFinite(slope) || slope === 0) {
    slope = 1;
    inter = 0;
  } else if (!Number.isFinite(inter)) inter = 0;
  const scaled = slope !== 1 || inter !== 0;

  let data: Uint8Array | Uint16Array;
  if (h.datatypeCode === 2 && !scaled) {
    data = new Uint8Array(ab, offset, count); // a view: no copy
  } else {
    data = toLabels(ab, offset, count, reader, h.littleEndian, slope, inter, dims);
  }

  return { data, dims, affineLps: affineOf(h, ab, isTwo) };
}

function toLabels(ab: ArrayBuffer, offset: number, count: number, reader: Reader, littleEndian: boolean, slope: number, inter: number, dims: number[]): Uint8Array | Uint16Array {
  // Typed-array views need native byte order and an aligned offset; else read through a DataView.
  let source: ArrayLike<number>;
  if (reader.typed && littleEndian === hostLittleEndian && offset % reader.bytes === 0) {
    source = reader.typed(ab, offset, count);
  } else if (reader.typed && littleEndian === hostLittleEndian) {
    source = reader.typed(ab.slice(offset, offset + count * reader.bytes), 0, count);
  } else {
    const view = new DataView(ab, offset, count * reader.bytes);
    const values = new Float64Array(count);
    for (let n = 0; n < count; n += 1) values[n] = reader.get(view, n * reader.bytes, littleEndian);
    source = values;
  }
  const out = new Uint16Array(count);
  let max = 0;
  for (let n = 0; n < count; n += 1) {
    const v = source[n]! * slope + inter;
    if (v === 0) continue;
    if (!(v >= 0 && v <= 65535 && Number.isInteger(v))) {
      const i = n % dims[0]!;
      const j = Math.floor(n / dims[0]!) % dims[1]!;
      const k = Math.floor(n / (dims[0]! * dims[1]!));
      throw new Error(`the label map holds the value ${v} at voxel (${i}, ${j}, ${k}); labels must be whole numbers from 0 to 65535`);
    }
    out[n] = v;
    if (v > max) max = v;
  }
  return max <= 255 ? Uint8Array.from(out) : out;
}

function affineOf(h: nifti.NIFTI1 | nifti.NIFTI2, ab: ArrayBuffer, isTwo: boolean): number[][] {
  let ras: number[][];
  if (h.sform_code > 0) {
    // Read srow_x/y/z from the header: the library's `affine` prefers the qform when qform_code > sform_code.
    const view = new DataView(ab);
    ras = [0, 1, 2].map((r) =>
      [0, 1, 2, 3].map((c) => (isTwo ? view.getFloat64(400 + (r * 4 + c) * 8, h.littleEndian) : view.getFloat32(280 + (r * 4 + c) * 4, h.littleEndian))),
    );
  } else if (h.qform_code > 0) {
    ras = h.getQformMat().slice(0, 3).map((row) => row.slice(0, 4));
  } else {
    const px = (n: number) => Math.abs(h.pixDims[n] ?? 1) || 1;
    ras = [
      [px(1), 0, 0, 0],
      [0, px(2), 0, 0],
      [0, 0, px(3), 0],
    ];
  }
  const units = h.xyzt_units & 7;
  const unitScale = units === 1 ? 1000 : units === 3 ? 0.001 : 1; // metres / microns → mm
  const lps = ras.map((row, r) => row.map((v) => v * unitScale * (r < 2 ? -1 : 1)));
  lps.push([0, 0, 0, 1]);
  if (lps.some((row) => row.some((v) => !Number.isFinite(v)))) throw new Error('the label map has an invalid orientation (non-finite sform/qform)');
  return lps;
}

// ---------------------------------------------------------------------------------------------

const AXES = ['i (columns)', 'j (rows)', 'k (slices)'];
const f = (x: number, digits = 4) => {
  const s = x.toFixed(digits).replace(/\.?0+$/, '');
  return s === '-0' ? '0' : s;
};
const fv = (v: readonly number[], digits = 4) => `(${v.map((x) => f(x, digits)).join(', ')})`;

/**
 * Refuses (SegGridError) a label map that does not lie on the grid within `tolerance` (mm for voxel
 * sizes and the origin, and for direction cosines): other dims, voxel size, axis directions or origin.
 */
export function checkLabelMapOnGrid(map: LabelMap, grid: VolumeGrid, tolerance = 1e-3): void {
  const want = [grid.columns, grid.rows, grid.slices];
  if (map.dims[0] !== want[0] || map.dims[1] !== want[1] || map.dims[2] !== want[2]) {
    throw new SegGridError(`the label map has ${map.dims.join('×')} voxels, the source volume ${want.join('×')}`);
  }
  if (map.data.length !== want[0]! * want[1]! * want[2]!) {
    throw new SegGridError(`the label map holds ${map.data.length} values for ${map.dims.join('×')} voxels`);
  }
  const a = map.affineLps;
  const column = (c: number): Vec3 => [a[0]![c]!, a[1]![c]!, a[2]![c]!];
  const gridDirections = [grid.rowDirection, grid.columnDirection, grid.normal];
  for (let c = 0; c < 3; c += 1) {
    const length = norm(column(c));
    if (Math.abs(length - grid.spacing[c]!) > tolerance) {
      throw new SegGridError(`the label map's voxel size along ${AXES[c]} is ${f(length)} mm, the source's ${f(grid.spacing[c]!)} mm`);
    }
  }
  for (let c = 0; c < 3; c += 1) {
    const direction = column(c).map((v) => v / norm(column(c)));
    const expected = gridDirections[c]!;
    if (Math.max(...direction.map((v, n) => Math.abs(v - expected[n]!))) > tolerance) {
      const cosine = dot(direction, expected);
      const detail =
        cosine < -1 + tolerance
          ? `axis ${AXES[c]} runs the opposite way (the map is flipped along it)`
          : `axis ${AXES[c]} points along ${fv(direction)} in LPS, the source's along ${fv(expected)}`;
      throw new SegGridError(`the label map is oriented differently: ${detail}`);
    }
  }
  const origin = column(3);
  const shift = Math.hypot(origin[0] - grid.origin[0], origin[1] - grid.origin[1], origin[2] - grid.origin[2]);
  if (Math.max(...origin.map((v, n) => Math.abs(v - grid.origin[n]!))) > tolerance) {
    throw new SegGridError(`the label map's first voxel is at ${fv(origin, 3)} LPS, the source's at ${fv(grid.origin, 3)} (${f(shift, 3)} mm apart)`);
  }
}
