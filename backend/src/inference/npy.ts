// Orthanc (1.10+) serves decoded, rescaled pixels as NumPy .npy (/instances/{id}/numpy?rescale=true):
// a short header and raw little-endian values. Reading that header is all this does.

/** The values of a .npy file holding float32 or float64 data, as float32. */
export function readNpy(buffer: Buffer): { shape: number[]; values: Float32Array } {
  if (buffer.length < 10 || buffer.readUInt8(0) !== 0x93 || buffer.subarray(1, 6).toString('latin1') !== 'NUMPY') throw new Error('not a NumPy .npy answer');
  const major = buffer.readUInt8(6);
  const headerLength = major === 1 ? buffer.readUInt16LE(8) : buffer.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = buffer.subarray(headerStart, headerStart + headerLength).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error('Fortran-ordered .npy is not supported');
  const data = buffer.subarray(headerStart + headerLength);
  const count = shape.reduce((a, b) => a * b, 1);
  const copy = Buffer.from(data); // aligned copy for the typed array views
  if (descr === '<f4') return { shape, values: new Float32Array(copy.buffer, copy.byteOffset, count) };
  if (descr === '<f8') return { shape, values: Float32Array.from(new Float64Array(copy.buffer, copy.byteOffset, count)) };
  throw new Error(`unexpected .npy data type ${descr}`);
}
