// Classical 3-D image operations on flat typed arrays (index = x + nx·(y + ny·z)).
// Every flood fill is iterative (breadth-first over a growable ring buffer, no recursion), so
// each operation is O(voxels) in time; besides the mask itself the only memory is the queue,
// which holds one BFS frontier (a surface, far smaller than the volume).
//
// Masks use small state values in place: 0 = off, 1 = on (candidate), 2/3 = temporary marks.

export type Grid = { nx: number; ny: number; nz: number };

/** A FIFO of voxel indices in a ring buffer that doubles when full (capacity: a power of two). */
export class IndexQueue {
  private buffer: Int32Array;
  private head = 0;
  private tail = 0;
  length = 0;

  constructor(capacity = 1 << 16) {
    if (capacity < 1 || (capacity & (capacity - 1)) !== 0) throw new Error('IndexQueue capacity must be a power of two');
    this.buffer = new Int32Array(capacity);
  }

  push(index: number): void {
    if (this.length === this.buffer.length) this.grow();
    this.buffer[this.tail] = index;
    this.tail = (this.tail + 1) & (this.buffer.length - 1);
    this.length++;
  }

  shift(): number {
    const index = this.buffer[this.head]!;
    this.head = (this.head + 1) & (this.buffer.length - 1);
    this.length--;
    return index;
  }

  private grow(): void {
    const next = new Int32Array(this.buffer.length * 2);
    // Unroll the ring: [head..end) then [0..tail).
    next.set(this.buffer.subarray(this.head));
    next.set(this.buffer.subarray(0, this.head), this.buffer.length - this.head);
    this.head = 0;
    this.tail = this.buffer.length;
    this.buffer = next;
  }
}

/**
 * 3-D flood fill with 6-connectivity: from `seed` (whose value must be `from`), every voxel
 * reachable through voxels valued `from` is set to `to`. Returns how many voxels changed.
 */
export function flood3d(mask: Uint8Array, grid: Grid, seed: number, from: number, to: number, queue = new IndexQueue()): number {
  const { nx, ny, nz } = grid;
  const nxy = nx * ny;
  const lastRow = nxy - nx;
  const lastSlice = nxy * (nz - 1);
  let count = 0;
  mask[seed] = to;
  queue.push(seed);
  while (queue.length > 0) {
    const i = queue.shift();
    count++;
    const x = i % nx;
    const inSlice = i % nxy; // x + nx·y
    if (x > 0 && mask[i - 1] === from) {
      mask[i - 1] = to;
      queue.push(i - 1);
    }
    if (x < nx - 1 && mask[i + 1] === from) {
      mask[i + 1] = to;
      queue.push(i + 1);
    }
    if (inSlice >= nx && mask[i - nx] === from) {
      mask[i - nx] = to;
      queue.push(i - nx);
    }
    if (inSlice < lastRow && mask[i + nx] === from) {
      mask[i + nx] = to;
      queue.push(i + nx);
    }
    if (i >= nxy && mask[i - nxy] === from) {
      mask[i - nxy] = to;
      queue.push(i - nxy);
    }
    if (i < lastSlice && mask[i + nxy] === from) {
      mask[i + nxy] = to;
      queue.push(i + nxy);
    }
  }
  return count;
}

/**
 * Keeps only the largest 6-connected component of the voxels valued 1 (ties: the component met
 * first in index order). Afterwards the mask is 1 on that component and 0 elsewhere.
 * Returns the component's size in voxels (0 for an empty mask).
 */
export function keepLargestComponent(mask: Uint8Array, grid: Grid): number {
  const queue = new IndexQueue();
  let bestSeed = -1;
  let bestSize = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] !== 1) continue;
    const size = flood3d(mask, grid, i, 1, 2, queue);
    if (size > bestSize) {
      bestSize = size;
      bestSeed = i;
    }
  }
  if (bestSeed >= 0) flood3d(mask, grid, bestSeed, 2, 3, queue);
  for (let i = 0; i < mask.length; i++) mask[i] = mask[i] === 3 ? 1 : 0;
  return bestSize;
}

/**
 * Keeps the 6-connected components of the voxels valued 1 that have at least `minVoxels` voxels.
 * Afterwards the mask is 1 on the kept components and 0 elsewhere. Returns the kept components' sizes.
 */
export function keepComponentsAtLeast(mask: Uint8Array, grid: Grid, minVoxels: number): number[] {
  const queue = new IndexQueue();
  const kept: number[] = [];
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] !== 1) continue;
    const size = flood3d(mask, grid, i, 1, 2, queue);
    if (size >= minVoxels) {
      flood3d(mask, grid, i, 2, 3, queue);
      kept.push(size);
    }
  }
  for (let i = 0; i < mask.length; i++) mask[i] = mask[i] === 3 ? 1 : 0;
  return kept;
}

/**
 * In every slice (plane of constant z), sets to `to` each voxel valued `from` that is reachable
 * from the slice's border through voxels valued `from` (2-D, 4-connectivity).
 */
export function markReachableFromSliceBorder(mask: Uint8Array, grid: Grid, from: number, to: number): void {
  const { nx, ny, nz } = grid;
  const nxy = nx * ny;
  const queue = new IndexQueue();
  const seed = (i: number) => {
    if (mask[i] === from) {
      mask[i] = to;
      queue.push(i);
    }
  };
  for (let z = 0; z < nz; z++) {
    const base = z * nxy;
    for (let x = 0; x < nx; x++) {
      seed(base + x);
      seed(base + (ny - 1) * nx + x);
    }
    for (let y = 0; y < ny; y++) {
      seed(base + y * nx);
      seed(base + y * nx + nx - 1);
    }
    while (queue.length > 0) {
      const i = queue.shift();
      const local = i - base;
      const x = local % nx;
      const y = (local - x) / nx;
      if (x > 0 && mask[i - 1] === from) {
        mask[i - 1] = to;
        queue.push(i - 1);
      }
      if (x < nx - 1 && mask[i + 1] === from) {
        mask[i + 1] = to;
        queue.push(i + 1);
      }
      if (y > 0 && mask[i - nx] === from) {
        mask[i - nx] = to;
        queue.push(i - nx);
      }
      if (y < ny - 1 && mask[i + nx] === from) {
        mask[i + nx] = to;
        queue.push(i + nx);
      }
    }
  }
}

/**
 * Fills holes slice by slice: background (0) not reachable from the slice border through
 * background (2-D, 4-connectivity) becomes foreground. Input and output: 1 = on, 0 = off.
 * Returns how many voxels were filled.
 */
export function fillHolesSliceBySlice(mask: Uint8Array, grid: Grid): number {
  markReachableFromSliceBorder(mask, grid, 0, 2);
  let filled = 0;
  for (let i = 0; i < mask.length; i++) {
    const v = mask[i];
    if (v === 2) mask[i] = 0;
    else if (v === 0) {
      mask[i] = 1;
      filled++;
    }
  }
  return filled;
}

export type Scalars = ArrayLike<number>;

/**
 * Otsu's threshold over a 256-bin histogram spanning [min, max] of the finite values of
 * `data * slope + inter`. bin(v) = min(255, floor((v − min) · 256 / (max − min))); the chosen
 * bin t maximises the between-class variance w0·w1·(μ0 − μ1)² of {bin ≤ t} vs {bin > t}
 * (first t on ties). Foreground is bin(v) > t. Returns null when all values are equal.
 */
export function otsu(data: Scalars, slope: number, inter: number): { min: number; max: number; bin: number; threshold: number } | null {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]! * slope + inter;
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(max > min) || !Number.isFinite(max - min)) return null; // constant (or empty) volume
  const histogram = new Float64Array(256);
  const scale = 256 / (max - min);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]! * slope + inter;
    if (v >= min && v <= max) histogram[Math.min(255, Math.floor((v - min) * scale))]!++;
  }
  let total = 0;
  let sumAll = 0;
  for (let b = 0; b < 256; b++) {
    total += histogram[b]!;
    sumAll += b * histogram[b]!;
  }
  let w0 = 0;
  let sum0 = 0;
  let best = -1;
  let bestBin = 0;
  for (let t = 0; t < 255; t++) {
    w0 += histogram[t]!;
    sum0 += t * histogram[t]!;
    const w1 = total - w0;
    if (w0 === 0 || w1 === 0) continue;
    const mu0 = sum0 / w0;
    const mu1 = (sumAll - sum0) / w1;
    const between = w0 * w1 * (mu0 - mu1) ** 2;
    if (between > best) {
      best = between;
      bestBin = t;
    }
  }
  return { min, max, bin: bestBin, threshold: min + ((bestBin + 1) * (max - min)) / 256 };
}

/** Sets `mask` to 1 where bin(v) > t for Otsu's bin t (see `otsu`), 0 elsewhere (everywhere for a constant volume). */
export function otsuForeground(data: Scalars, slope: number, inter: number, mask: Uint8Array): ReturnType<typeof otsu> {
  mask.fill(0);
  const result = otsu(data, slope, inter);
  if (!result) return result;
  const scale = 256 / (result.max - result.min);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]! * slope + inter;
    // NaN fails the comparison: never foreground.
    if (v >= result.min && Math.min(255, Math.floor((v - result.min) * scale)) > result.bin) mask[i] = 1;
  }
  return result;
}
