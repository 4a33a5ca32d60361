import { describe, expect, it } from 'vitest';
import { median, pairedRatio, quantile, ratioInterval } from './stats.js';

describe('bench statistics', () => {
  it('takes nearest-rank quantiles and the middle of an even count', () => {
    expect(quantile([5, 1, 4, 2, 3], 0.95)).toBe(5);
    expect(quantile([5, 1, 4, 2, 3], 0.05)).toBe(1);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('brackets the ratio of medians, narrows with more samples and repeats for the same samples', () => {
    // Latencies around 22 ms (ours) and 20 ms (anchor) with a deterministic spread of ±3 ms.
    const spread = (n: number, centre: number) => Array.from({ length: n }, (_, i) => centre + 3 * Math.sin(i * 2.399));
    const few = ratioInterval(spread(30, 22), spread(30, 20))!;
    const many = ratioInterval(spread(300, 22), spread(300, 20))!;
    expect(few[0]).toBeLessThan(1.1);
    expect(few[1]).toBeGreaterThan(1.1);
    expect(many[0]).toBeGreaterThan(few[0]);
    expect(many[1]).toBeLessThan(few[1]);
    expect(many[1] - many[0]).toBeLessThan((few[1] - few[0]) / 2);
    expect(ratioInterval(spread(30, 22), spread(30, 20))).toEqual(few);
  });

  it('gives no interval for a handful of samples', () => {
    expect(ratioInterval([1, 2, 3, 4], [1, 2, 3, 4, 5])).toBeNull();
  });

  it('cancels a disturbance both sides of a pair share, which the ratio of medians does not', () => {
    // Both sides switch between a fast and a slow mode together; ours is 2 ms slower in each.
    // Two pairs straddle a switch (ours slow, anchor still fast), which is enough to put the
    // two medians in different modes when the modes are about half and half.
    const anchor = [...Array(50).fill(23), ...Array(48).fill(35), 23, 23];
    const ours = [...Array(50).fill(25), ...Array(48).fill(37), 37, 37];
    expect(median(ours) / median(anchor)).toBeGreaterThan(1.3);
    expect(ratioInterval(ours, anchor)![1]).toBeGreaterThan(1.3);
    const paired = pairedRatio(ours, anchor)!;
    expect(paired.median).toBeGreaterThanOrEqual(37 / 35);
    expect(paired.median).toBeLessThanOrEqual(25 / 23);
    expect(paired.interval95[0]).toBeGreaterThanOrEqual(37 / 35);
    expect(paired.interval95[1]).toBeLessThanOrEqual(25 / 23);
    expect(pairedRatio(ours, anchor.slice(1))).toBeNull();
    expect(pairedRatio(ours.slice(0, 4), anchor.slice(0, 4))).toBeNull();
  });
});
