import { describe, expect, it } from 'vitest';
import { keySlices } from './key-slices.js';

describe('keySlices', () => {
  it('picks the slice where each label is largest and leaves out absent labels', () => {
    // 2x2 pixels, 3 slices
    const data = new Uint8Array([1, 0, 0, 0, 1, 1, 2, 0, 0, 0, 2, 2]);
    const found = keySlices(data, [2, 2, 3], [
      { labelValue: 1, color: [255, 0, 0] },
      { labelValue: 2, color: [0, 255, 0] },
      { labelValue: 3, color: [0, 0, 255] },
    ]);
    expect(found.map((s) => [s.labelValue, s.sliceIndex])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(found[0]!.maskPng.subarray(1, 4).toString('latin1')).toBe('PNG');
  });
});
