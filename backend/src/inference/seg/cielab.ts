/**
 * sRGB (0–255 per channel) → CIELab → DICOM's 16-bit CIELab encoding, for
 * RecommendedDisplayCIELabValue (PS3.3 C.10.7.1.1: L* 0..100 → 0..0xFFFF, a* and b* −128..127 → 0..0xFFFF).
 *
 * Written out (a few lines) rather than taken from dcmjs, whose Colors helper is marked untested
 * upstream. The white point is D65, the sRGB illuminant, as DCMTK (IODCIELabUtil) and dcmjs use, so
 * that viewers built on them (OHIF converts back with dcmjs) show the colour that was asked for.
 */

// IEC 61966-2-1 sRGB → CIE XYZ (D65) matrix.
const M = [
  [0.4124564, 0.3575761, 0.1804375],
  [0.2126729, 0.7151522, 0.072175],
  [0.0193339, 0.119192, 0.9503041],
];
/** D65 reference white, XYZ with Y = 1 (the row sums of M). */
const WHITE = M.map((row) => row[0]! + row[1]! + row[2]!);

/** sRGB companding undone: 0–1 encoded → 0–1 linear light. */
function linear(channel: number): number {
  const c = channel / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** CIE 1976 f(t): cube root above (6/29)³, linear below. */
function f(t: number): number {
  const delta = 6 / 29;
  return t > delta ** 3 ? Math.cbrt(t) : t / (3 * delta * delta) + 4 / 29;
}

/** CIELab (L* 0..100, a*, b*) of an sRGB colour. */
export function rgbToLab(rgb: readonly [number, number, number]): [number, number, number] {
  const lin = rgb.map((v) => linear(Math.min(255, Math.max(0, v))));
  const xyz = M.map((row) => row[0]! * lin[0]! + row[1]! * lin[1]! + row[2]! * lin[2]!);
  const [fx, fy, fz] = xyz.map((v, n) => f(v / WHITE[n]!)) as [number, number, number];
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/** The three unsigned 16-bit values of RecommendedDisplayCIELabValue for an sRGB colour. */
export function rgbToDicomLab(rgb: readonly [number, number, number]): [number, number, number] {
  const [l, a, b] = rgbToLab(rgb);
  const u16 = (v: number) => Math.min(65535, Math.max(0, Math.round(v)));
  return [u16((l * 65535) / 100), u16(((a + 128) * 65535) / 255), u16(((b + 128) * 65535) / 255)];
}
