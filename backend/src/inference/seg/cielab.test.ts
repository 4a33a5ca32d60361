import { describe, expect, it } from 'vitest';
import { rgbToDicomLab, rgbToLab } from './cielab.js';
import { dcmjs } from './dcmjs.js';

describe('sRGB → CIELab → DICOM 16-bit', () => {
  it('white, black and grey are neutral', () => {
    expect(rgbToDicomLab([255, 255, 255])).toEqual([65535, 32896, 32896]);
    expect(rgbToDicomLab([0, 0, 0])).toEqual([0, 32896, 32896]);
    const [l, a, b] = rgbToLab([119, 119, 119]);
    expect(l).toBeCloseTo(50, 0);
    expect(Math.abs(a)).toBeLessThan(1e-6);
    expect(Math.abs(b)).toBeLessThan(1e-6);
  });

  it('primaries match the published CIELab (D65) values', () => {
    const cases: [[number, number, number], [number, number, number]][] = [
      [[255, 0, 0], [53.2408, 80.0925, 67.2032]],
      [[0, 255, 0], [87.7347, -86.1827, 83.1793]],
      [[0, 0, 255], [32.2970, 79.1875, -107.8602]],
    ];
    for (const [rgb, lab] of cases) rgbToLab(rgb).forEach((v, n) => expect(v).toBeCloseTo(lab[n]!, 2));
    // L* × 65535/100, (a* + 128) × 65535/255, (b* + 128) × 65535/255, rounded.
    expect(rgbToDicomLab([255, 0, 0])).toEqual([34891, 53480, 50167]);
  });

  it('agrees with dcmjs (which OHIF uses to turn the value back into RGB)', () => {
    for (const rgb of [[221, 130, 101], [128, 174, 128], [241, 214, 145], [0, 130, 200], [12, 250, 3]] as [number, number, number][]) {
      const ours = rgbToDicomLab(rgb);
      const theirs = dcmjs.data.Colors.rgb2DICOMLAB(rgb.map((v) => v / 255));
      ours.forEach((v, n) => expect(Math.abs(v - theirs[n]!)).toBeLessThanOrEqual(5)); // dcmjs rounds its white point and matrix differently
      const back = dcmjs.data.Colors.dicomlab2RGB(ours);
      back.forEach((v, n) => expect(Math.abs(v * 255 - rgb[n]!)).toBeLessThan(1.5));
    }
  });
});
