/**
 * SEG encoding benchmark: a synthetic 512×512×300 CT grid and a 3-label mask (a body cylinder, two
 * lung boxes, bone spheres), encoded 5 times. Prints one JSON line: median / p95 time, peak RSS and
 * heap/ArrayBuffer deltas against the mask size. Exits non-zero if encoding fails.
 *
 *   node --import tsx bench/seg-encode.ts [--runs 5] [--slices 300]
 *
 * Targets (from the design): median under 2 s, peak memory growth under 4× the mask (uint8, 75 MiB).
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { encodeSeg, type SegSource } from '../backend/src/inference/seg/seg-writer.js';
import { buildGrid, type SliceMeta } from '../backend/src/inference/volume/volume.js';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const RUNS = arg('runs', 5);
const COLUMNS = 512;
const ROWS = 512;
const SLICES = arg('slices', 300);

// A collectable heap for honest baselines without needing --expose-gc on the command line.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const uid = (n: number) => `1.2.826.0.1.3680043.10.555.${n}`;
const slices: SliceMeta[] = Array.from({ length: SLICES }, (_, k) => ({
  sopInstanceUid: uid(1000 + k),
  sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
  imagePositionPatient: [-250, -250, -600 + k * 1.5],
  imageOrientationPatient: [1, 0, 0, 0, 1, 0],
  pixelSpacing: [0.9765625, 0.9765625],
  rows: ROWS,
  columns: COLUMNS,
  sliceThickness: 1.5,
}));
const grid = buildGrid(slices);

function makeMask(): Uint8Array {
  const mask = new Uint8Array(COLUMNS * ROWS * SLICES);
  for (let k = 0; k < SLICES; k += 1) {
    const base = k * COLUMNS * ROWS;
    for (let j = 0; j < ROWS; j += 1) {
      const row = base + j * COLUMNS;
      for (let i = 0; i < COLUMNS; i += 1) {
        const dx = (i - 256) / 200;
        const dy = (j - 260) / 150;
        if (dx * dx + dy * dy > 1) continue;
        let label = 1; // body: an elliptic cylinder through every slice
        if (k > SLICES * 0.55 && k < SLICES * 0.95 && j > 170 && j < 330 && ((i > 110 && i < 230) || (i > 282 && i < 402))) label = 2; // lungs: two boxes
        const bx = i - 256;
        const by = j - 380;
        if (bx * bx + by * by < 28 * 28) label = 3; // spine: a bone column
        mask[row + i] = label;
      }
    }
    // ribs-ish bone spheres every 40 slices
    for (let c = 20; c < SLICES; c += 40) {
      const dz = k - c;
      if (Math.abs(dz) > 10) continue;
      for (const [ci, cj] of [[140, 200], [372, 200], [256, 120]] as const) {
        for (let j = cj - 12; j <= cj + 12; j += 1)
          for (let i = ci - 12; i <= ci + 12; i += 1) if ((i - ci) ** 2 + (j - cj) ** 2 + dz * dz <= 144) mask[base + j * COLUMNS + i] = 3;
      }
    }
  }
  return mask;
}

const source: SegSource = {
  studyInstanceUid: uid(1),
  seriesInstanceUid: uid(2),
  frameOfReferenceUid: uid(3),
  sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
  patient: { PatientName: 'Bench^Synthetic', PatientID: 'BENCH' },
  study: { StudyDate: '20250101', StudyTime: '120000', StudyID: '1' },
};

const mask = makeMask();
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
const quantile = (a: number[], q: number) => sorted(a)[Math.min(a.length - 1, Math.ceil(q * a.length) - 1)]!;

gc();
const before = process.memoryUsage();
const maxRssBefore = process.resourceUsage().maxRSS * 1024; // kB → bytes; peak so far (mask creation)
const times: number[] = [];
const retained: { rss: number; heapUsed: number; arrayBuffers: number }[] = [];
let result: ReturnType<typeof encodeSeg> | undefined;
try {
  for (let run = 0; run < RUNS; run += 1) {
    result = undefined;
    gc();
    const t0 = performance.now();
    result = encodeSeg({
      source,
      grid,
      labelMap: { data: mask, dims: [COLUMNS, ROWS, SLICES], affineLps: grid.affineLps },
      segments: [
        { labelValue: 1, label: 'body' },
        { labelValue: 2, label: 'lungs' },
        { labelValue: 3, label: 'bone' },
      ],
      algorithm: { name: 'bench', version: '1' },
      seriesDescription: 'bench segmentation',
    });
    times.push(performance.now() - t0);
    const m = process.memoryUsage();
    retained.push({ rss: m.rss - before.rss, heapUsed: m.heapUsed - before.heapUsed, arrayBuffers: m.arrayBuffers - before.arrayBuffers });
  }
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: (error as Error).stack ?? String(error) }));
  process.exit(1);
}

const maxRssAfter = process.resourceUsage().maxRSS * 1024;
const peakRssDelta = Math.max(0, maxRssAfter - before.rss);
const maskBytes = mask.byteLength;
const labelled = mask.reduce((n, v) => n + (v ? 1 : 0), 0);
const counted = result!.segments.reduce((n, s) => n + s.voxelCount, 0);
const median = quantile(times, 0.5);
const p95 = quantile(times, 0.95);
const line = {
  ok: counted === labelled,
  grid: `${COLUMNS}x${ROWS}x${SLICES}`,
  maskMiB: mib(maskBytes),
  segments: result!.segments.map((s) => ({ label: s.label, voxels: s.voxelCount, frames: s.frames, cm3: Math.round(s.volumeCm3) })),
  frames: result!.numberOfFrames,
  part10MiB: mib(result!.part10.length),
  runs: RUNS,
  timesMs: times.map((t) => Math.round(t)),
  medianMs: Math.round(median),
  p95Ms: Math.round(p95),
  peakRssDeltaMiB: mib(peakRssDelta),
  peakRssDeltaVsMask: Math.round((peakRssDelta / maskBytes) * 100) / 100,
  peakRssBeforeEncodesMiB: mib(maxRssBefore),
  retainedAfterEncodeMiB: { rss: mib(Math.max(...retained.map((r) => r.rss))), heapUsed: mib(Math.max(...retained.map((r) => r.heapUsed))), arrayBuffers: mib(Math.max(...retained.map((r) => r.arrayBuffers))) },
  targets: { medianUnder2s: median < 2000, peakUnder4xMask: peakRssDelta < 4 * maskBytes },
  node: process.version,
};
console.log(JSON.stringify(line));
if (!line.ok) process.exit(1);
