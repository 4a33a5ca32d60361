import { describe, expect, it } from 'vitest';
import { bitAt, packedLength, packFrame } from './bits.js';

/** The obvious bit-at-a-time packer, as the reference. */
function naive(frames: Uint8Array[], label: number): Uint8Array {
  const n = frames[0]?.length ?? 0;
  const out = new Uint8Array(packedLength(frames.length * n));
  frames.forEach((frame, f) => frame.forEach((v, p) => {
    if (v === label) {
      const bit = f * n + p;
      out[bit >> 3] = out[bit >> 3]! | (1 << (bit & 7));
    }
  }));
  return out;
}

function pack(frames: Uint8Array[], label: number): Uint8Array {
  const n = frames[0]!.length;
  const data = new Uint8Array(frames.length * n);
  frames.forEach((f, k) => data.set(f, k * n));
  const out = new Uint8Array(packedLength(frames.length * n));
  frames.forEach((_, k) => packFrame(data, k * n, n, label, out, k * n));
  return out;
}

const frameOf = (n: number, set: number[]) => {
  const f = new Uint8Array(n);
  for (const p of set) f[p] = 1;
  return f;
};

describe('packFrame (DICOM bit order: first pixel in the least significant bit)', () => {
  it('places single pixels', () => {
    expect(Array.from(pack([frameOf(16, [0])], 1))).toEqual([0x01, 0x00]);
    expect(Array.from(pack([frameOf(16, [7])], 1))).toEqual([0x80, 0x00]);
    expect(Array.from(pack([frameOf(16, [8])], 1))).toEqual([0x00, 0x01]);
    expect(Array.from(pack([frameOf(16, [1, 2, 15])], 1))).toEqual([0x06, 0x80]);
  });

  it('concatenates 5×3 frames without padding: frame 2 starts at bit 15', () => {
    // Frame 1 full (bits 0..14), frame 2 only its first pixel (bit 15), frame 3 only its last pixel (bit 44).
    const out = pack([frameOf(15, Array.from({ length: 15 }, (_, p) => p)), frameOf(15, [0]), frameOf(15, [14])], 1);
    expect(out.length).toBe(6); // 45 bits → 6 bytes (even)
    expect(Array.from(out)).toEqual([0xff, 0xff, 0x00, 0x00, 0x00, 0x10]);
  });

  it('only the requested label becomes 1', () => {
    const frame = Uint8Array.from([0, 1, 2, 1, 3, 2, 2, 0, 1]);
    expect(Array.from(pack([frame], 2))).toEqual([0b01100100, 0b00000000]);
    expect(Array.from(pack([frame], 1))).toEqual([0b00001010, 0b00000001]);
  });

  it('matches the naive packer on random frames of odd and even sizes across byte boundaries', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (const [columns, rows, count] of [[1, 1, 9], [3, 3, 5], [5, 3, 7], [7, 9, 3], [8, 8, 3], [13, 11, 4], [1, 17, 6]] as const) {
      const frames = Array.from({ length: count }, () => Uint8Array.from({ length: columns * rows }, () => Math.floor(rand() * 3)));
      for (const label of [1, 2]) expect(pack(frames, label)).toEqual(naive(frames, label));
    }
  });

  it('works on uint16 label maps and at a frame offset inside the map', () => {
    const data = Uint16Array.from([0, 300, 300, 0, 300, 0, 0, 300, 300, 7]);
    const out = new Uint8Array(2);
    packFrame(data, 1, 9, 300, out, 3);
    // pixels 1..9 of the map: 300,300,0,300,0,0,300,300,7 → label at p = 0,1,3,6,7 → bits 3,4,6,9,10
    expect(Array.from(out)).toEqual([0b01011000, 0b00000110]);
  });

  it('bitAt reads back what was packed', () => {
    const frames = [frameOf(15, [0, 3, 14]), frameOf(15, [1, 8])];
    const out = pack(frames, 1);
    const bits = Array.from({ length: 30 }, (_, b) => bitAt(out, b));
    expect(bits.flatMap((v, b) => (v ? [b] : []))).toEqual([0, 3, 14, 16, 23]);
  });

  it('pads the pixel data to an even length', () => {
    expect([0, 1, 8, 15, 16, 17, 30, 45, 48].map(packedLength)).toEqual([0, 2, 2, 2, 2, 4, 4, 6, 6]);
  });
});
