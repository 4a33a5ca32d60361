// NIfTI-1 in and out for the reference inference service.
// Reading: the header through nifti-reader-js (endianness, dims, datatype, scaling); the voxels
// are viewed in place (no copy) unless they must be byte-swapped or re-aligned.
// Writing: by hand, because no maintained NIfTI writer exists for Node (nifti-reader-js's
// toArrayBuffer() rewrites srow_x/y/z from its derived affine, so a qform-only file would gain
// an sform it never had).
import { createGunzip } from 'node:zlib';
import { NIFTI1, readHeader } from 'nifti-reader-js';

/** The input is not a usable NIfTI-1 volume: the client's fault (HTTP 400). */
export class NiftiError extends Error {}

/** The decompressed volume exceeds the configured limit (HTTP 413). */
export class VolumeTooLargeError extends Error {}

export type VoxelArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

export type NiftiVolume = {
  /** Voxels along i, j, k (x fastest). */
  nx: number;
  ny: number;
  nz: number;
  /** Raw stored values, i fastest; the real value is `data[n] * slope + inter`. */
  data: VoxelArray;
  slope: number;
  inter: number;
  /** Voxel edge lengths in millimetres (|pixdim[1..3]| converted from xyzt_units). */
  voxelSizeMm: [number, number, number];
  /** The 348 header bytes as received and their byte order: the output copies its geometry from them. */
  headerBytes: Buffer;
  littleEndian: boolean;
  datatypeCode: number;
};

const HEADER_SIZE = 348;
const NIFTI1_VOX_OFFSET = 352;

/** NIfTI-1 datatype code → bytes per voxel and how to view them. 64-bit integers are converted to float64. */
const datatypes: Record<number, { name: string; bytes: number; view?: (buffer: ArrayBuffer, offset: number, length: number) => VoxelArray }> = {
  2: { name: 'uint8', bytes: 1, view: (b, o, n) => new Uint8Array(b, o, n) },
  4: { name: 'int16', bytes: 2, view: (b, o, n) => new Int16Array(b, o, n) },
  8: { name: 'int32', bytes: 4, view: (b, o, n) => new Int32Array(b, o, n) },
  16: { name: 'float32', bytes: 4, view: (b, o, n) => new Float32Array(b, o, n) },
  64: { name: 'float64', bytes: 8, view: (b, o, n) => new Float64Array(b, o, n) },
  256: { name: 'int8', bytes: 1, view: (b, o, n) => new Int8Array(b, o, n) },
  512: { name: 'uint16', bytes: 2, view: (b, o, n) => new Uint16Array(b, o, n) },
  768: { name: 'uint32', bytes: 4, view: (b, o, n) => new Uint32Array(b, o, n) },
  1024: { name: 'int64', bytes: 8 },
  1280: { name: 'uint64', bytes: 8 },
};

const isGzip = (bytes: Buffer) => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

/**
 * Decompresses when the gzip magic bytes are present (whatever the file was called). The output
 * goes into one buffer sized from the gzip trailer (ISIZE) as it is produced, so a large volume
 * is not held twice; a multi-member file (ISIZE of the last member only) falls back to joining.
 */
export async function maybeGunzip(bytes: Buffer, maxVolumeBytes: number): Promise<Buffer> {
  if (!isGzip(bytes)) {
    if (bytes.length > maxVolumeBytes) throw new VolumeTooLargeError(`the volume is ${bytes.length} bytes; the limit is ${maxVolumeBytes}`);
    return bytes;
  }
  const isize = bytes.length >= 18 ? bytes.readUInt32LE(bytes.length - 4) : 0;
  let target: Buffer | null = isize > 0 && isize <= maxVolumeBytes ? Buffer.allocUnsafe(isize) : null;
  const chunks: Buffer[] = [];
  let total = 0;
  const gunzip = createGunzip();
  gunzip.end(bytes);
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      if (total + chunk.length > maxVolumeBytes) {
        gunzip.destroy();
        throw new VolumeTooLargeError(`the decompressed volume exceeds the limit of ${maxVolumeBytes} bytes`);
      }
      if (target && total + chunk.length <= target.length) {
        chunk.copy(target, total);
      } else {
        if (target) chunks.push(target.subarray(0, total));
        target = null;
        chunks.push(chunk);
      }
      total += chunk.length;
    }
  } catch (error) {
    if (error instanceof VolumeTooLargeError) throw error;
    throw new NiftiError(`the file looks gzip-compressed but cannot be decompressed (${(error as Error).message})`);
  }
  return target ? target.subarray(0, total) : Buffer.concat(chunks, total);
}

/** xyzt_units → millimetres per spatial unit (unknown units are taken as mm, as most readers do). */
function mmPerUnit(xyztUnits: number): number {
  const code = xyztUnits & 0x07;
  return code === 1 ? 1000 : code === 3 ? 0.001 : 1;
}

/** Parses an uncompressed NIfTI-1 file (.nii, single file). Throws NiftiError with a readable reason. */
export function parseNifti(bytes: Buffer): NiftiVolume {
  if (bytes.length < HEADER_SIZE) throw new NiftiError(`not a NIfTI-1 file: ${bytes.length} bytes is shorter than the 348-byte header`);
  // Only the header bytes go to nifti-reader-js (it wants an ArrayBuffer; this avoids copying the voxels).
  const headerBytes = Buffer.from(bytes.subarray(0, HEADER_SIZE));
  const headerBuffer = headerBytes.buffer.slice(headerBytes.byteOffset, headerBytes.byteOffset + HEADER_SIZE) as ArrayBuffer;
  const sizeofHdrLE = headerBytes.readInt32LE(0);
  const sizeofHdrBE = headerBytes.readInt32BE(0);
  if (sizeofHdrLE === 540 || sizeofHdrBE === 540) throw new NiftiError('NIfTI-2 files are not supported by the reference service; send NIfTI-1');
  if (sizeofHdrLE !== HEADER_SIZE && sizeofHdrBE !== HEADER_SIZE) throw new NiftiError('not a NIfTI-1 file (sizeof_hdr is not 348)');
  let header;
  try {
    header = readHeader(headerBuffer);
  } catch (error) {
    throw new NiftiError(`not a NIfTI-1 file (${(error as Error).message})`);
  }
  if (!(header instanceof NIFTI1)) throw new NiftiError('NIfTI-2 files are not supported by the reference service; send NIfTI-1');
  if (header.magic !== 'n+1') throw new NiftiError(`not a single-file NIfTI-1 volume (magic "${header.magic}"; .hdr/.img pairs are not accepted)`);

  const rank = header.dims[0] ?? 0;
  if (rank < 1 || rank > 7) throw new NiftiError(`dim[0] is ${rank}; it must be 1 to 7`);
  const dims = [1, 1, 1, 1, 1, 1, 1].map((one, axis) => (axis + 1 <= rank ? header.dims[axis + 1]! : one));
  if (dims.some((d) => d < 1)) throw new NiftiError(`dimensions ${dims.slice(0, rank).join('×')} contain a zero or negative extent`);
  if (dims.slice(3).some((d) => d > 1)) {
    throw new NiftiError(`the volume has ${rank} dimensions (${dims.slice(0, rank).join('×')}); only 3-D volumes are accepted (a 4th or higher dimension must have extent 1)`);
  }
  const [nx, ny, nz] = dims as [number, number, number];

  const type = datatypes[header.datatypeCode];
  if (!type) throw new NiftiError(`datatype ${header.datatypeCode} (${header.getDatatypeCodeString(header.datatypeCode)}) is not supported; use an integer or float scalar type`);
  const voxOffset = Math.floor(header.vox_offset);
  if (!Number.isFinite(header.vox_offset) || voxOffset < NIFTI1_VOX_OFFSET) throw new NiftiError(`vox_offset ${header.vox_offset} is invalid (at least 352 for a .nii file)`);
  const count = nx * ny * nz;
  // Voxel indices are kept in Int32Arrays by the flood fills.
  if (count > 2 ** 31 - 1) throw new VolumeTooLargeError(`${nx}×${ny}×${nz} is more than 2³¹ − 1 voxels`);
  const needed = count * type.bytes;
  if (bytes.length < voxOffset + needed) {
    throw new NiftiError(`the file is truncated: ${nx}×${ny}×${nz} ${type.name} voxels need ${needed} bytes from offset ${voxOffset}, but only ${Math.max(0, bytes.length - voxOffset)} are present`);
  }

  let voxels = bytes.subarray(voxOffset, voxOffset + needed);
  const hostLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  const swap = header.littleEndian !== hostLittleEndian;
  if (swap || voxels.byteOffset % type.bytes !== 0) {
    // Typed arrays need aligned, host-order bytes: work on an own copy (Buffer.alloc never uses the shared pool).
    const copy = Buffer.alloc(needed);
    voxels.copy(copy);
    voxels = copy;
  }
  if (swap) {
    if (type.bytes === 2) voxels.swap16();
    else if (type.bytes === 4) voxels.swap32();
    else if (type.bytes === 8) voxels.swap64();
  }
  let data: VoxelArray;
  if (type.view) {
    data = type.view(voxels.buffer as ArrayBuffer, voxels.byteOffset, count);
  } else {
    const ints = header.datatypeCode === 1024 ? new BigInt64Array(voxels.buffer, voxels.byteOffset, count) : new BigUint64Array(voxels.buffer, voxels.byteOffset, count);
    data = Float64Array.from(ints, (v) => Number(v));
  }

  // NIfTI: a zero (or non-finite) scl_slope means "no scaling".
  const scaled = Number.isFinite(header.scl_slope) && header.scl_slope !== 0;
  const unit = mmPerUnit(header.xyzt_units);
  const voxelSizeMm = [1, 2, 3].map((axis) => Math.abs(header.pixDims[axis] ?? 0) * unit) as [number, number, number];
  return {
    nx,
    ny,
    nz,
    data,
    slope: scaled ? header.scl_slope : 1,
    inter: scaled && Number.isFinite(header.scl_inter) ? header.scl_inter : 0,
    voxelSizeMm,
    headerBytes,
    littleEndian: header.littleEndian,
    datatypeCode: header.datatypeCode,
  };
}

/** Reads a .nii or .nii.gz upload (gzip recognised by its magic bytes). */
export async function readNifti(bytes: Buffer, maxVolumeBytes: number): Promise<NiftiVolume> {
  return parseNifti(await maybeGunzip(bytes, maxVolumeBytes));
}

/**
 * An uncompressed little-endian NIfTI-1 file for a uint8 label map on the source grid: 348-byte
 * header + 4 zero extension bytes + voxels at offset 352. The models write straight into
 * `labels` (a zero-filled view of the file's voxels, so the map is never copied); then
 * `writeLabelHeader` fills in the header.
 */
export function allocateLabelFile(source: Pick<NiftiVolume, 'nx' | 'ny' | 'nz'>): { file: Buffer; labels: Uint8Array } {
  const file = Buffer.alloc(NIFTI1_VOX_OFFSET + source.nx * source.ny * source.nz);
  return { file, labels: file.subarray(NIFTI1_VOX_OFFSET) };
}

/**
 * Writes the header of a file from `allocateLabelFile`: dim[], pixdim[], qform/sform codes,
 * quaternion, offsets and srow_x/y/z are copied value for value from the source header.
 */
export function writeLabelHeader(file: Buffer, source: Pick<NiftiVolume, 'headerBytes' | 'littleEndian' | 'nx' | 'ny' | 'nz'>, description: string): Buffer {
  const count = source.nx * source.ny * source.nz;
  if (file.length !== NIFTI1_VOX_OFFSET + count) throw new Error(`label file holds ${file.length - NIFTI1_VOX_OFFSET} voxels, the grid ${count}`);
  const src = source.headerBytes;
  const le = source.littleEndian;
  const i16 = (offset: number) => (le ? src.readInt16LE(offset) : src.readInt16BE(offset));
  const f32 = (offset: number) => (le ? src.readFloatLE(offset) : src.readFloatBE(offset));

  file.fill(0, 0, NIFTI1_VOX_OFFSET);
  file.writeInt32LE(HEADER_SIZE, 0); // sizeof_hdr
  file.writeUInt8(src.readUInt8(39), 39); // dim_info
  for (let k = 0; k < 8; k++) file.writeInt16LE(i16(40 + 2 * k), 40 + 2 * k); // dim[8]
  file.writeInt16LE(1002, 68); // intent_code NIFTI_INTENT_LABEL
  file.writeInt16LE(2, 70); // datatype DT_UINT8
  file.writeInt16LE(8, 72); // bitpix
  file.writeInt16LE(i16(74), 74); // slice_start
  for (let k = 0; k < 8; k++) file.writeFloatLE(f32(76 + 4 * k), 76 + 4 * k); // pixdim[8] (pixdim[0] = qfac)
  file.writeFloatLE(NIFTI1_VOX_OFFSET, 108); // vox_offset
  file.writeFloatLE(1, 112); // scl_slope
  file.writeFloatLE(0, 116); // scl_inter
  file.writeInt16LE(i16(120), 120); // slice_end
  file.writeUInt8(src.readUInt8(122), 122); // slice_code
  file.writeUInt8(src.readUInt8(123), 123); // xyzt_units
  let max = 0;
  for (let n = NIFTI1_VOX_OFFSET; n < file.length; n++) if (file[n]! > max) max = file[n]!;
  file.writeFloatLE(max, 124); // cal_max
  file.writeFloatLE(0, 128); // cal_min
  file.writeFloatLE(f32(132), 132); // slice_duration
  file.writeFloatLE(f32(136), 136); // toffset
  file.write(description.slice(0, 79), 148, 'latin1'); // descrip[80]
  file.writeInt16LE(i16(252), 252); // qform_code
  file.writeInt16LE(i16(254), 254); // sform_code
  for (let offset = 256; offset < 328; offset += 4) file.writeFloatLE(f32(offset), offset); // quatern_b/c/d, qoffset_x/y/z, srow_x/y/z
  file.write('labels', 328, 'latin1'); // intent_name[16]
  file.write('n+1\0', 344, 'latin1'); // magic
  // bytes 348..351: extension flag, all zero (no extensions)
  return file;
}
