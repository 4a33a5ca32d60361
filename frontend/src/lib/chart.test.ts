import { describe, expect, it } from 'vitest';
import type { VolumeHistory } from '../api/types';
import { chartSummary, dicomDay, historyRows, linePath, niceStep, niceTicks, spacedLabels, stepDecimals, volumeChart } from './chart';

const point = (resultId: string, studyDate: string, volumeCm3: number) => ({ resultId, studyInstanceUid: `1.${resultId}`, studyDate, volumeCm3, validationStatus: 'pending' });
const plainDate = (date: string) => date || 'No date';
const colorOf = (label: string) => (label === 'body' ? 'red' : 'blue');

describe('ticks', () => {
  it('steps by 1, 2, 2.5 or 5 times a power of ten', () => {
    expect(niceStep(10)).toBe(2);
    expect(niceStep(1000)).toBe(200);
    expect(niceStep(12)).toBe(2.5);
    expect(niceStep(0.3)).toBeCloseTo(0.1);
    expect(niceStep(0)).toBe(1);
  });

  it('starts at zero and ends at or above the maximum', () => {
    expect(niceTicks(1234)).toEqual([0, 250, 500, 750, 1000, 1250]);
    expect(niceTicks(10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0.3)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(niceTicks(0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  it('knows how many decimals a step needs', () => {
    expect(stepDecimals(250)).toBe(0);
    expect(stepDecimals(2.5)).toBe(1);
    expect(stepDecimals(0.05)).toBe(2);
  });
});

describe('dates and paths', () => {
  it('reads DICOM dates as days, refusing impossible ones', () => {
    expect(dicomDay('19700102')).toBe(1);
    expect(dicomDay('20240230')).toBeNull();
    expect(dicomDay('')).toBeNull();
  });

  it('writes a path through the points', () => {
    expect(linePath([{ x: 1, y: 2 }, { x: 3.14159, y: 4 }])).toBe('M1 2 L3.1 4');
    expect(linePath([{ x: 5, y: 5 }])).toBe('M5 5');
    expect(linePath([])).toBe('');
  });

  it('leaves out labels that would overlap', () => {
    expect(spacedLabels([{ x: 0 }, { x: 50 }, { x: 100 }, { x: 120 }, { x: 250 }], 80).map((t) => t.x)).toEqual([0, 100, 250]);
  });
});

describe('historyRows', () => {
  it('gives one row per result, oldest first, a column per label', () => {
    const history: VolumeHistory = [
      { label: 'body', points: [point('r1', '20200101', 10), point('r2', '20210101', 12)] },
      { label: 'bone', points: [point('r2', '20210101', 3)] },
    ];
    expect(historyRows(history).map((r) => [r.resultId, r.volumes])).toEqual([
      ['r1', [10, null]],
      ['r2', [12, 3]],
    ]);
  });
});

describe('volumeChart', () => {
  it('places dated results by time and volumes from zero', () => {
    const history: VolumeHistory = [{ label: 'body', points: [point('r1', '20200101', 500), point('r2', '20200111', 1000), point('r3', '20200131', 250)] }];
    const chart = volumeChart(history, { colorOf, formatDate: plainDate, width: 400, height: 200, currentResultId: 'r2' });
    expect(chart.timeScale).toBe(true);
    const [line] = chart.lines;
    const xs = line!.points.map((p) => p.x);
    // 10 of 30 days along: a third of the inner width.
    expect((xs[1]! - xs[0]!) / (xs[2]! - xs[0]!)).toBeCloseTo(1 / 3, 1);
    expect(line!.color).toBe('red');
    expect(line!.points.map((p) => p.current)).toEqual([false, true, false]);
    expect(line!.path.startsWith('M')).toBe(true);
    expect(line!.path.split('L')).toHaveLength(3);
    expect(chart.yTicks.map((t) => t.value)).toEqual([0, 200, 400, 600, 800, 1000]);
    // The largest volume touches the top tick, zero the bottom.
    expect(line!.points[1]!.y).toBe(chart.yTicks[5]!.y);
    expect(chart.yTicks[0]!.y).toBe(chart.box.bottom);
    expect(line!.points[0]!.title).toContain('on 20200101');
  });

  it('draws a single result as one dot in the middle', () => {
    const chart = volumeChart([{ label: 'bone', points: [point('r1', '20200101', 42)] }], { colorOf, formatDate: plainDate, width: 400 });
    const [line] = chart.lines;
    expect(line!.points).toHaveLength(1);
    expect(line!.points[0]!.x).toBe((chart.box.left + chart.box.right) / 2);
    expect(line!.path).toMatch(/^M[\d.]+ [\d.]+$/);
    expect(chart.xTicks).toEqual([{ x: line!.points[0]!.x, label: '20200101' }]);
  });

  it('spaces results evenly when a date is missing', () => {
    const history: VolumeHistory = [{ label: 'body', points: [point('r1', '', 1), point('r2', '20200101', 2), point('r3', '20250101', 3)] }];
    const chart = volumeChart(history, { colorOf, formatDate: plainDate, width: 400 });
    expect(chart.timeScale).toBe(false);
    const xs = chart.lines[0]!.points.map((p) => p.x);
    expect(xs[1]! - xs[0]!).toBeCloseTo(xs[2]! - xs[1]!, 0);
    expect(chart.xTicks[0]!.label).toBe('No date');
  });

  it('has an empty chart with a default scale when there is no history', () => {
    const chart = volumeChart([], { colorOf });
    expect(chart.lines).toEqual([]);
    expect(chart.yTicks.map((t) => t.value)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });
});

describe('chartSummary', () => {
  it('says each label from first to last volume', () => {
    const history: VolumeHistory = [
      { label: 'body', points: [point('r1', '20200101', 10), point('r2', '20210101', 12.5)] },
      { label: 'bone', points: [point('r2', '20210101', 3)] },
    ];
    expect(chartSummary(history, plainDate, 'en-US')).toBe('Segment volumes over 2 results: body from 10.00 cm³ (20200101) to 12.50 cm³ (20210101); bone 3.00 cm³ (20210101).');
    expect(chartSummary([], plainDate)).toMatch(/no values/);
  });
});
