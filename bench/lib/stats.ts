// Order statistics for the benchmark figures: the usual median, and nearest-rank percentiles
// (as bench/seg-encode.ts computes its p95).

export const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b);

/** Nearest-rank quantile: the smallest sample with at least q of the samples at or below it. */
export function quantile(values: number[], q: number): number {
  if (!values.length) return Number.NaN;
  const s = sorted(values);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** The middle sample, or the mean of the two middle ones. */
export function median(values: number[]): number {
  if (!values.length) return Number.NaN;
  const s = sorted(values);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export type Summary = { median: number; p95: number; min: number; max: number; n: number; samples: number[] };

/**
 * Median and p95 of samples. For figures where lower is better (latency, time) p95 is the
 * 95th percentile; for rates (higher is better) it is the tail on the slow side, i.e. the
 * 5th percentile of the rates (= the rate of a run at the p95 run time).
 */
export function summarize(samples: number[], better: 'lower' | 'higher'): Summary {
  return {
    median: median(samples),
    p95: better === 'lower' ? quantile(samples, 0.95) : quantile(samples, 0.05),
    min: Math.min(...samples),
    max: Math.max(...samples),
    n: samples.length,
    samples,
  };
}

export const round = (value: number, digits = 2): number => (Number.isFinite(value) ? Math.round(value * 10 ** digits) / 10 ** digits : value);

/** mulberry32: a tiny seeded generator, so the same samples always give the same interval. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The median of one bootstrap resample (drawn with replacement) of the values, from a generator
 * seeded the same every time, so the same samples always give the same interval. Written here
 * rather than taken from a statistics package: it is these few lines.
 */
function medianResampler(): (values: number[]) => number {
  const random = seededRandom(0x5eed);
  return (values) => median(Array.from(values, () => values[Math.floor(random() * values.length)]!));
}

/**
 * 95 % percentile-bootstrap interval of median(ours) / median(anchor): each side is resampled
 * with replacement `iterations` times. It says whether a ratio beside its target is more than
 * the noise of the run; null with fewer than 5 samples a side, where it would say nothing.
 */
export function ratioInterval(ours: number[], anchor: number[], iterations = 2000): [number, number] | null {
  if (ours.length < 5 || anchor.length < 5) return null;
  const resampledMedian = medianResampler();
  const ratios = Array.from({ length: iterations }, () => resampledMedian(ours) / resampledMedian(anchor));
  return [quantile(ratios, 0.025), quantile(ratios, 0.975)];
}

/**
 * The paired view of alternated samples: ours[i] and anchor[i] ran back to back, so a
 * disturbance of the machine that lasts a second or two (here: Orthanc's latency switching
 * between ~23 and ~35 ms for a QIDO search in runs of samples) hits both. The median of the
 * per-pair ratios cancels it where the ratio of medians does not (the two medians can land
 * in different modes). Its 95 % interval resamples whole pairs. Null when the sides differ in
 * length or have fewer than 5 pairs.
 */
export function pairedRatio(ours: number[], anchor: number[], iterations = 2000): { median: number; interval95: [number, number] } | null {
  if (ours.length !== anchor.length || ours.length < 5) return null;
  const perPair = ours.map((value, i) => value / anchor[i]!);
  const resampledMedian = medianResampler();
  const medians = Array.from({ length: iterations }, () => resampledMedian(perPair));
  return { median: median(perPair), interval95: [quantile(medians, 0.025), quantile(medians, 0.975)] };
}
