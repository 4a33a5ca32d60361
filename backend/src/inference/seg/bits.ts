/**
 * 1-bit pixel packing for BINARY SEG (PS3.5 8.1.1 / PS3.3 C.8.20.2: frames are concatenated bit by
 * bit with no padding between them; within a byte the first pixel is the least significant bit).
 * Frame f of a SEG with R×C pixels starts at bit f·R·C, which need not be a byte boundary.
 */

/**
 * Sets, in `out`, the bits of the pixels `data[offset .. offset + count)` that equal `label`, starting
 * at bit `bitStart` of `out` (`out` starts zeroed; the frames' bit ranges do not overlap, so bits are
 * OR-ed in). Eight pixels are packed into one byte at a time, then shifted into place.
 */
export function packFrame(data: Uint8Array | Uint16Array, offset: number, count: number, label: number, out: Uint8Array, bitStart: number): void {
  const byteStart = Math.floor(bitStart / 8);
  const shift = bitStart % 8;
  const groups = count >>> 3;
  const L = label;
  for (let g = 0; g < groups; g += 1) {
    const o = offset + (g << 3);
    const v =
      (data[o] === L ? 1 : 0) |
      (data[o + 1] === L ? 2 : 0) |
      (data[o + 2] === L ? 4 : 0) |
      (data[o + 3] === L ? 8 : 0) |
      (data[o + 4] === L ? 16 : 0) |
      (data[o + 5] === L ? 32 : 0) |
      (data[o + 6] === L ? 64 : 0) |
      (data[o + 7] === L ? 128 : 0);
    if (v !== 0) orBits(out, byteStart + g, shift, v);
  }
  const tail = count & 7;
  if (tail) {
    const o = offset + (groups << 3);
    let v = 0;
    for (let n = 0; n < tail; n += 1) if (data[o + n] === L) v |= 1 << n;
    if (v !== 0) orBits(out, byteStart + groups, shift, v);
  }
}

/** ORs the 8-bit group `v`, shifted left by `shift` bits, into out[byte] and out[byte + 1]. */
function orBits(out: Uint8Array, byte: number, shift: number, v: number): void {
  out[byte] = out[byte]! | ((v << shift) & 0xff);
  if (shift !== 0) {
    const high = v >>> (8 - shift);
    if (high !== 0) out[byte + 1] = out[byte + 1]! | high;
  }
}

/** Bit `index` (0-based over the whole pixel data) as 0 or 1; `index` may exceed 2³¹. */
export function bitAt(bytes: Uint8Array, index: number): number {
  return (bytes[Math.floor(index / 8)]! >>> index % 8) & 1;
}

/** Bytes needed for `bits` bits, rounded up to an even length (DICOM values have even length). */
export function packedLength(bits: number): number {
  const bytes = Math.ceil(bits / 8);
  return bytes + (bytes % 2);
}
