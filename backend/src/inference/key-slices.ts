import { encodePngRgba } from '../lib/png.js';

export type KeySlice = { labelValue: number; sliceIndex: number; maskPng: Buffer };

/**
 * For each label, the slice where it covers the most voxels, with that slice's mask as an
 * RGBA PNG in the label's colour (transparent elsewhere). `data` is i fastest, then j, then k.
 */
export function keySlices(data: Uint8Array | Uint16Array, dims: [number, number, number], labels: { labelValue: number; color: [number, number, number] }[]): KeySlice[] {
  const [columns, rows, slices] = dims;
  const perSlice = columns * rows;
  const counts = new Map(labels.map((l) => [l.labelValue, new Uint32Array(slices)]));
  for (let k = 0; k < slices; k++) {
    const offset = k * perSlice;
    for (let p = 0; p < perSlice; p++) {
      const value = data[offset + p]!;
      if (value) {
        const row = counts.get(value);
        if (row) row[k]!++;
      }
    }
  }
  return labels.flatMap((label) => {
    const row = counts.get(label.labelValue)!;
    let best = -1;
    for (let k = 0; k < slices; k++) if (row[k]! > 0 && (best < 0 || row[k]! > row[best]!)) best = k;
    if (best < 0) return [];
    const rgba = new Uint8Array(perSlice * 4);
    const offset = best * perSlice;
    for (let p = 0; p < perSlice; p++) {
      if (data[offset + p] !== label.labelValue) continue;
      rgba[p * 4] = label.color[0];
      rgba[p * 4 + 1] = label.color[1];
      rgba[p * 4 + 2] = label.color[2];
      rgba[p * 4 + 3] = 255;
    }
    return [{ labelValue: label.labelValue, sliceIndex: best, maskPng: encodePngRgba(columns, rows, rgba) }];
  });
}
