import { describe, expect, it } from 'vitest';
import { headOf, indexAcross, viewsLength, viewsOf } from './byte-views.js';

const split = (bytes: Buffer, cuts: number[]): Buffer[] => {
  const views: Buffer[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    views.push(bytes.subarray(at, cut));
    at = cut;
  }
  return views;
};

describe('byte views', () => {
  const bytes = Buffer.from('..PK\u0007\u0008....PK\u0007\u0008..P..PK\u0007\u0008', 'latin1');
  const needle = Buffer.from('PK\u0007\u0008', 'latin1');

  it('finds every match as indexOf on the joined bytes does, wherever the views are cut', () => {
    const expected: number[] = [];
    for (let hit = bytes.indexOf(needle); hit >= 0; hit = bytes.indexOf(needle, hit + 1)) expected.push(hit);
    for (let a = 0; a <= bytes.length; a++) {
      for (let b = a; b <= bytes.length; b += 3) {
        const views = split(bytes, [a, b, Math.min(bytes.length, b + 1)]);
        const found: number[] = [];
        for (let hit = indexAcross(views, needle); hit >= 0; hit = indexAcross(views, needle, hit + 1)) found.push(hit);
        expect(found, `cut at ${a}, ${b}`).toEqual(expected);
      }
    }
  });

  it('reports no match for a needle cut off by the end', () => {
    expect(indexAcross(split(Buffer.from('abcPK\u0007', 'latin1'), [4]), needle)).toBe(-1);
    expect(indexAcross([], needle)).toBe(-1);
  });

  it('slices and heads without joining what one view holds', () => {
    const views = split(bytes, [5, 9, 9, 20]);
    expect(Buffer.concat(viewsOf(views, 3, 22)).equals(bytes.subarray(3, 22))).toBe(true);
    expect(viewsLength(viewsOf(views, 0, bytes.length))).toBe(bytes.length);
    expect(headOf(views, 4).buffer).toBe(views[0]!.buffer);
    expect(headOf(views, 12).equals(bytes.subarray(0, 12))).toBe(true);
    expect(headOf(views, 1000).equals(bytes)).toBe(true);
    expect(headOf([], 4).length).toBe(0);
  });
});
