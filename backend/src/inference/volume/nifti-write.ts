/**
 * VolumeGrid + voxel values → a NIfTI-1 single file (.nii, uncompressed).
 *
 * The 348-byte header is written by hand: nifti-reader-js (the NIfTI library in this project) only
 * reads, and the few writers on npm are unmaintained or pull in a whole image stack, for what is a
 * fixed little-endian struct (nifti1.h). The sform and the qform both carry the grid's affine, turned
 * from DICOM's LPS into NIfTI's RAS by negating its x and y rows, so that MONAI / nibabel / ITK,
 * whichever transform they prefer, see the voxels where the DICOM slices are.
 */
import { endianness } from 'node:os';
import type { VolumeGrid } from './volume.js';

const HEADER_BYTES = 348;
/** Header + the 4-byte extension flag (all zero: no extensions). */
const VOX_OFFSET = 352;

const DT_UINT8 = 2;
const DT_FLOAT32 = 16;
const DT_UINT16 = 512;
const NIFTI_XFORM_SCANNER_ANAT = 1;
const NIFTI_UNITS_MM = 2;

type Payload = { datatype: number; bitpix: number; arrays: (Float32Array | Uint8Array | Uint16Array)[] };

/**
 * float32 volume; dim[4] = number of channels when more than one (each channel columns × rows ×
 * slices, i fastest, k in grid order).
 */
export function niftiFromVolume(grid: VolumeGrid, channels: Float32Array[]): Buffer {
  if (channels.length === 0) throw new Error('niftiFromVolume: no channels');
  return writeNifti(grid, { datatype: DT_FLOAT32, bitpix: 32, arrays: channels }, 'Preview-DICOM volume');
}

/** A label map on the grid (uint8 or uint16), e.g. for tests and the reference inference service. */
export function niftiFromLabels(grid: VolumeGrid, labels: Uint8Array | Uint16Array): Buffer {
  return labels instanceof Uint8Array
    ? writeNifti(grid, { datatype: DT_UINT8, bitpix: 8, arrays: [labels] }, 'Preview-DICOM labels')
    : writeNifti(grid, { datatype: DT_UINT16, bitpix: 16, arrays: [labels] }, 'Preview-DICOM labels');
}

function writeNifti(grid: VolumeGrid, payload: Payload, description: string): Buffer {
  const voxels = grid.columns * grid.rows * grid.slices;
  for (const [n, a] of payload.arrays.entries()) {
    if (a.length !== voxels) throw new Error(`channel ${n + 1} has ${a.length} values, the grid ${grid.columns}×${grid.rows}×${grid.slices} = ${voxels}`);
  }
  // The voxel arrays are copied as they are in memory: that is little-endian, as the header says, on
  // every platform Node runs on in practice; refuse rather than write a wrong file elsewhere.
  if (endianness() !== 'LE') throw new Error('writing NIfTI needs a little-endian host');
  const bytesPerVoxel = payload.bitpix / 8;
  const out = Buffer.alloc(VOX_OFFSET + voxels * bytesPerVoxel * payload.arrays.length);
  const h = new DataView(out.buffer, out.byteOffset, VOX_OFFSET);
  const le = true;
  const channels = payload.arrays.length;

  h.setInt32(0, HEADER_BYTES, le); // sizeof_hdr
  h.setUint8(38, 'r'.charCodeAt(0)); // regular
  // dim: [ndim, x, y, z, t, 1, 1, 1]
  const dims = [channels > 1 ? 4 : 3, grid.columns, grid.rows, grid.slices, channels, 1, 1, 1];
  dims.forEach((v, n) => h.setInt16(40 + 2 * n, v, le));
  h.setInt16(70, payload.datatype, le);
  h.setInt16(72, payload.bitpix, le);

  const { quaternion, qfac } = quaternionOf(grid);
  // pixdim[0] = qfac; [1..3] = voxel size; [4] = 1 (channel "step").
  const pixdim = [qfac, grid.spacing[0], grid.spacing[1], grid.spacing[2], 1, 1, 1, 1];
  pixdim.forEach((v, n) => h.setFloat32(76 + 4 * n, v, le));
  h.setFloat32(108, VOX_OFFSET, le); // vox_offset
  h.setFloat32(112, 1, le); // scl_slope
  h.setFloat32(116, 0, le); // scl_inter
  h.setUint8(123, NIFTI_UNITS_MM); // xyzt_units: mm, no time unit
  writeAscii(out, 148, 80, description); // descrip

  const ras = rasAffine(grid);
  h.setInt16(252, NIFTI_XFORM_SCANNER_ANAT, le); // qform_code
  h.setInt16(254, NIFTI_XFORM_SCANNER_ANAT, le); // sform_code
  h.setFloat32(256, quaternion[1], le); // quatern_b
  h.setFloat32(260, quaternion[2], le); // quatern_c
  h.setFloat32(264, quaternion[3], le); // quatern_d
  h.setFloat32(268, ras[0]![3]!, le); // qoffset_x
  h.setFloat32(272, ras[1]![3]!, le);
  h.setFloat32(276, ras[2]![3]!, le);
  for (let r = 0; r < 3; r += 1) for (let c = 0; c < 4; c += 1) h.setFloat32(280 + 16 * r + 4 * c, ras[r]![c]!, le); // srow_x/y/z
  writeAscii(out, 344, 4, 'n+1\0'); // magic
  // bytes 348..351: extension flag, left zero.

  let offset = VOX_OFFSET;
  for (const a of payload.arrays) {
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    out.set(bytes, offset);
    offset += bytes.length;
  }
  return out;
}

function writeAscii(buf: Buffer, offset: number, max: number, text: string): void {
  buf.write(text.slice(0, max), offset, max, 'latin1');
}

/** The grid's affine in NIfTI's RAS+ world: LPS x and y negated (rows 0 and 1). */
export function rasAffine(grid: Pick<VolumeGrid, 'affineLps'>): number[][] {
  return grid.affineLps.map((row, r) => (r < 2 ? row.map((v) => -v) : [...row]));
}

/**
 * The qform quaternion (a, b, c, d) and qfac of the grid's rotation in RAS, after nifti1_io.c's
 * nifti_mat44_to_quatern: R's columns are the unit directions of i, j, k. The grid is right-handed
 * (normal = row × column) and the LPS→RAS flip (two axes negated) keeps det = +1, so qfac is 1; a
 * left-handed input is handled anyway (qfac −1 with the third column negated).
 */
export function quaternionOf(grid: Pick<VolumeGrid, 'rowDirection' | 'columnDirection' | 'normal'>): { quaternion: [number, number, number, number]; qfac: 1 | -1 } {
  const toRas = (v: readonly number[]) => [-v[0]!, -v[1]!, v[2]!];
  const cols = [toRas(grid.rowDirection), toRas(grid.columnDirection), toRas(grid.normal)];
  const det =
    cols[0]![0]! * (cols[1]![1]! * cols[2]![2]! - cols[2]![1]! * cols[1]![2]!) -
    cols[1]![0]! * (cols[0]![1]! * cols[2]![2]! - cols[2]![1]! * cols[0]![2]!) +
    cols[2]![0]! * (cols[0]![1]! * cols[1]![2]! - cols[1]![1]! * cols[0]![2]!);
  const qfac: 1 | -1 = det < 0 ? -1 : 1;
  if (qfac < 0) cols[2] = cols[2]!.map((v) => -v);
  // r(row, col) with 0-based indices; column c of R is cols[c].
  const r = (row: number, col: number) => cols[col]![row]!;
  const r11 = r(0, 0), r12 = r(0, 1), r13 = r(0, 2);
  const r21 = r(1, 0), r22 = r(1, 1), r23 = r(1, 2);
  const r31 = r(2, 0), r32 = r(2, 1), r33 = r(2, 2);
  let a = r11 + r22 + r33 + 1;
  let b: number, c: number, d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r32 - r23)) / a;
    c = (0.25 * (r13 - r31)) / a;
    d = (0.25 * (r21 - r12)) / a;
  } else {
    const xd = 1 + r11 - (r22 + r33);
    const yd = 1 + r22 - (r11 + r33);
    const zd = 1 + r33 - (r11 + r22);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (r12 + r21)) / b;
      d = (0.25 * (r13 + r31)) / b;
      a = (0.25 * (r32 - r23)) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (r12 + r21)) / c;
      d = (0.25 * (r23 + r32)) / c;
      a = (0.25 * (r13 - r31)) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (r13 + r31)) / d;
      c = (0.25 * (r23 + r32)) / d;
      a = (0.25 * (r21 - r12)) / d;
    }
    if (a < 0) {
      a = -a;
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return { quaternion: [a, b, c, d], qfac };
}
