/**
 * The volume-over-time chart as numbers: scales, ticks and SVG paths, computed here so the
 * component only draws them. No chart library: the SVG is written by hand.
 */
import type { VolumeHistory } from '../api/types';
import { formatStudyDate } from './format';
import { formatVolume } from './segmentation';

/** The step between ticks covering `range` in about `count` steps: 1, 2, 2.5 or 5 times a power of ten. */
export function niceStep(range: number, count = 5): number {
  if (!Number.isFinite(range) || range <= 0 || count < 1) return 1;
  const raw = range / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const residual = raw / magnitude;
  const nice = residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 2.5 ? 2.5 : residual <= 5 ? 5 : 10;
  return nice * magnitude;
}

/** Decimals a tick step needs to be written exactly (0.25 → 2, 50 → 0). */
export function stepDecimals(step: number): number {
  if (!Number.isFinite(step) || step <= 0 || step >= 1) {
    const text = String(step);
    return text.includes('.') ? text.split('.')[1]!.length : 0;
  }
  for (let decimals = 1; decimals <= 12; decimals++) if (Math.abs(Math.round(step * 10 ** decimals) - step * 10 ** decimals) < 1e-6) return decimals;
  return 12;
}

/** Ticks from 0 to at least `max`, evenly stepped; a scale of volumes starts at zero so changes are not exaggerated. */
export function niceTicks(max: number, count = 5): number[] {
  const top = Number.isFinite(max) && max > 0 ? max : 1;
  const step = niceStep(top, count);
  const decimals = stepDecimals(step);
  const steps = Math.max(1, Math.ceil(top / step - 1e-9));
  return Array.from({ length: steps + 1 }, (_, i) => Number((i * step).toFixed(decimals)));
}

/** A DICOM date (YYYYMMDD) as whole days since 1970, or null when it is not a real date. */
export function dicomDay(date: string): number | null {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(date.trim());
  if (!match) return null;
  const [, y, m, d] = match.map(Number) as [number, number, number, number];
  const time = Date.UTC(y, m - 1, d);
  const check = new Date(time);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) return null;
  return time / 86_400_000;
}

/** "M x y L x y …" through the points in order; a single point gives a bare move (drawn as a dot by the caller). */
export function linePath(points: { x: number; y: number }[]): string {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${round(p.x)} ${round(p.y)}`).join(' ');
}

const round = (value: number) => Math.round(value * 10) / 10;

/** Which labels along an axis to draw: the first, then each one at least `minGap` after the last drawn. */
export function spacedLabels<T extends { x: number }>(ticks: T[], minGap: number): T[] {
  const shown: T[] = [];
  for (const tick of [...ticks].sort((a, b) => a.x - b.x)) {
    const last = shown[shown.length - 1];
    if (!last || tick.x - last.x >= minGap) shown.push(tick);
  }
  return shown;
}

/** One result along the time axis: its study date and each label's volume in it (null where it has no such label). */
export type HistoryRow = { resultId: string; studyInstanceUid: string; studyDate: string; validationStatus: string; volumes: (number | null)[] };

/** The history as a table: one row per result, oldest study first, one volume column per label (in `history` order). */
export function historyRows(history: VolumeHistory): HistoryRow[] {
  const rows = new Map<string, HistoryRow>();
  history.forEach((series, column) => {
    for (const point of series.points) {
      let row = rows.get(point.resultId);
      if (!row) {
        row = { resultId: point.resultId, studyInstanceUid: point.studyInstanceUid, studyDate: point.studyDate, validationStatus: point.validationStatus, volumes: history.map(() => null) };
        rows.set(point.resultId, row);
      }
      row.volumes[column] = point.volumeCm3;
    }
  });
  // Stable: results of the same date keep the server's order.
  return [...rows.values()].sort((a, b) => a.studyDate.localeCompare(b.studyDate));
}

export type ChartBox = { width: number; height: number; left: number; right: number; top: number; bottom: number };

export type PlotPoint = { x: number; y: number; value: number; studyDate: string; resultId: string; current: boolean; title: string };

export type PlotLine = { label: string; color: string; points: PlotPoint[]; path: string };

export type VolumeChartModel = {
  box: ChartBox;
  /** Study dates along the bottom (spaced so they do not overlap). */
  xTicks: { x: number; label: string }[];
  /** Volumes up the side, from 0. */
  yTicks: { y: number; value: number; label: string }[];
  lines: PlotLine[];
  /** True when dates are placed by time; false when some are missing and results are simply evenly spaced. */
  timeScale: boolean;
  rows: HistoryRow[];
};

export type VolumeChartOptions = {
  colorOf: (label: string, index: number) => string;
  /** The result on screen: its points are drawn larger. */
  currentResultId?: string;
  formatDate?: (dicomDate: string) => string;
  locale?: string;
  width?: number;
  height?: number;
};

/** Distance kept between the plot's edge and the first and last dates, so their dots and labels fit. */
const EDGE = 24;

export function volumeChart(history: VolumeHistory, options: VolumeChartOptions): VolumeChartModel {
  const width = options.width ?? 640;
  const height = options.height ?? 260;
  const box: ChartBox = { width, height, left: 72, right: width - 16, top: 12, bottom: height - 36 };
  const formatDate = options.formatDate ?? ((date: string) => (date ? formatStudyDate(date) : 'No date'));
  const rows = historyRows(history);

  // Across: by time when every result has a real study date, else one even step per result.
  const days = rows.map((row) => dicomDay(row.studyDate));
  const timeScale = rows.length > 0 && days.every((day) => day !== null);
  const innerLeft = box.left + EDGE;
  const innerRight = box.right - EDGE;
  const middle = (box.left + box.right) / 2;
  let xOf: (row: HistoryRow, index: number) => number;
  if (timeScale) {
    const first = Math.min(...(days as number[]));
    const last = Math.max(...(days as number[]));
    xOf = (_row, index) => (last === first ? middle : innerLeft + ((days[index]! - first) / (last - first)) * (innerRight - innerLeft));
  } else {
    xOf = (_row, index) => (rows.length === 1 ? middle : innerLeft + (index / (rows.length - 1)) * (innerRight - innerLeft));
  }
  const xByResult = new Map(rows.map((row, index) => [row.resultId, xOf(row, index)]));

  // Up: from zero to a round number at or above the largest volume.
  const largest = Math.max(0, ...history.flatMap((series) => series.points.map((p) => p.volumeCm3)).filter(Number.isFinite));
  const ticks = niceTicks(largest);
  const yMax = ticks[ticks.length - 1]!;
  const decimals = stepDecimals(ticks[1]! - ticks[0]!);
  const yOf = (value: number) => box.bottom - (Math.max(0, value) / yMax) * (box.bottom - box.top);
  const yTicks = ticks.map((value) => ({ y: round(yOf(value)), value, label: value.toLocaleString(options.locale, { minimumFractionDigits: decimals, maximumFractionDigits: decimals }) }));

  const dateTicks: { x: number; label: string }[] = [];
  for (const row of rows) {
    const x = round(xByResult.get(row.resultId)!);
    if (!dateTicks.some((tick) => tick.x === x)) dateTicks.push({ x, label: formatDate(row.studyDate) });
  }

  const lines = history.map((series, index) => {
    const points = series.points
      .filter((point) => Number.isFinite(point.volumeCm3) && xByResult.has(point.resultId))
      .map((point) => ({
        x: round(xByResult.get(point.resultId)!),
        y: round(yOf(point.volumeCm3)),
        value: point.volumeCm3,
        studyDate: point.studyDate,
        resultId: point.resultId,
        current: point.resultId === options.currentResultId,
        title: `${series.label}: ${formatVolume(point.volumeCm3, options.locale)} on ${formatDate(point.studyDate)}`,
      }))
      .sort((a, b) => a.x - b.x);
    return { label: series.label, color: options.colorOf(series.label, index), points, path: linePath(points) };
  });

  return { box, xTicks: spacedLabels(dateTicks, 84), yTicks, lines, timeScale, rows };
}

/** The chart in words, for its accessible name: each label from its first to its last volume. */
export function chartSummary(history: VolumeHistory, formatDate: (dicomDate: string) => string = formatStudyDate, locale?: string): string {
  const studies = historyRows(history).length;
  if (studies === 0) return 'Segment volumes over time: no values.';
  const parts = history
    .filter((series) => series.points.length > 0)
    .map((series) => {
      const first = series.points[0]!;
      const last = series.points[series.points.length - 1]!;
      const at = (p: typeof first) => `${formatVolume(p.volumeCm3, locale)} (${formatDate(p.studyDate)})`;
      return series.points.length === 1 ? `${series.label} ${at(first)}` : `${series.label} from ${at(first)} to ${at(last)}`;
    });
  return `Segment volumes over ${studies} result${studies === 1 ? '' : 's'}: ${parts.join('; ')}.`;
}

/** Colours for labels without one of their own. */
export const fallbackPalette = ['#1f6feb', '#c62828', '#1a7f37', '#8a5a00', '#8250df', '#0a7ea4', '#bf3989', '#57606a'];
