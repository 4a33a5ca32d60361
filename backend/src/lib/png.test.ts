import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodePngRgba } from './png.js';

describe('encodePngRgba', () => {
  it('writes a PNG whose IHDR and pixel rows read back', () => {
    const rgba = new Uint8Array([255, 0, 0, 255, 0, 0, 0, 0, 0, 255, 0, 128, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]); // 3x2
    const png = encodePngRgba(3, 2, rgba);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
    expect([png.readUInt32BE(16), png.readUInt32BE(20), png[24], png[25]]).toEqual([3, 2, 8, 6]);
    const idatLength = png.readUInt32BE(33);
    expect(png.subarray(37, 41).toString('latin1')).toBe('IDAT');
    const raw = inflateSync(png.subarray(41, 41 + idatLength));
    expect(raw.length).toBe(2 * (3 * 4 + 1));
    expect(Array.from(raw.subarray(1, 13))).toEqual(Array.from(rgba.subarray(0, 12)));
    expect(Array.from(raw.subarray(14, 26))).toEqual(Array.from(rgba.subarray(12, 24)));
    expect(() => encodePngRgba(2, 2, rgba)).toThrow(/expected 16 RGBA bytes/);
  });
});
