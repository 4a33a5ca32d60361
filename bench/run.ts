/**
 * `npm run bench`: every figure measured in one run beside its anchor (Orthanc direct).
 *
 *   node --import tsx bench/run.ts            full run (~15 min on 2 cores)
 *   BENCH_QUICK=1 node --import tsx bench/run.ts   smoke run, everything ~10× smaller (~3 min)
 *
 * Starts the whole stack on free ports exactly as the e2e tests do (frontend/e2e/stack-process.ts),
 * plus an nginx of its own straight to Orthanc (bench/lib/direct-nginx.ts: the gateway's proxy
 * settings without the authorization), generates the data from the shared 20-slice CT series
 * (bench/lib/data.ts), and measures:
 *   1. DICOMweb through the gateway (signed-in researcher) vs the direct nginx: QIDO study search
 *      and series /metadata latency, WADO-RS frames throughput with 8 concurrent clients;
 *   2. import of a 1,000-instance study as one ZIP (POST /api/imports) vs the same files POSTed to
 *      Orthanc's /instances 4 at a time; backend peak RSS while importing a ~1 GB ZIP;
 *   3. export of that study (identified and de-identified ZIP, build + download) vs Orthanc's
 *      /studies/{id}/archive; backend peak RSS during a ~1 GB export;
 *   4. GET /api/patients?limit=25 at 32 connections vs Orthanc's /patients?expand&limit=25;
 *   5. SEG encoding (bench/seg-encode.ts, run after the stack is stopped).
 * Prints a table (stdout; progress goes to stderr) and writes bench/results.json with the
 * machine, the method of every figure and all raw samples. Exits non-zero only when something
 * could not be run; a missed target is reported, not fatal.
 *
 * Settings (environment): BENCH_QUICK=1, BENCH_LARGE_GB (default 1; 0.1 when quick),
 * BENCH_SERIES_SLICES (300), BENCH_STUDY_INSTANCES (1000), BENCH_SEED_PATIENTS (40),
 * BENCH_QIDO_RUNS (100), BENCH_METADATA_RUNS (25), BENCH_FRAMES_RUNS (9), BENCH_FRAMES_CLIENTS (8),
 * BENCH_IMPORT_RUNS (5), BENCH_EXPORT_RUNS (3), BENCH_API_RUNS (3), BENCH_API_SECONDS (10),
 * BENCH_API_CONNECTIONS (32), BENCH_SEG_RUNS (5), BENCH_KEEP_DATA=1 (keep the temp folder),
 * BENCH_ONLY (comma-separated section numbers, e.g. 2,3a,3), BENCH_RESULTS (output path, default bench/results.json), BENCH_HOLD_SECONDS (pause after the setup,
 * printing URLs and the researcher's cookie, to poke at the running stack by hand).
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { Agent, Pool, type Dispatcher } from 'undici';
import { isStorageRace, STORE_ATTEMPTS } from '../backend/src/orthanc/client.js';
import { findFreePort } from '../infra/src/ports.js';
import { launchStack, printedAdminPassword, repoRoot, servicePids, stackEnvironment, stopStack, type StackProcess } from '../frontend/e2e/stack-process.js';
import { benchUid, buildBaseSet, copyUids, freshTag, multipartFile, patchInstance, ROLE, writeZip, type BaseInstance, type Tags, type ZipEntry } from './lib/data.js';
import { startDirectNginx, type DirectNginx } from './lib/direct-nginx.js';
import { expectStatus, GatewaySession, jsonOf, timed, type Headers, type TimedResponse } from './lib/http.js';
import { cpuDuring, processesMentioning, rssBytes, sampleRss, stopProcesses, waitQuiet, type RssTrace } from './lib/proc.js';
import { median, pairedRatio, quantile, ratioInterval, round, summarize, type Summary } from './lib/stats.js';

const execFileAsync = promisify(execFile);

// ---------------------------------------------------------------- settings

const QUICK = process.env.BENCH_QUICK === '1';
const setting = (name: string, full: number, quick: number): number => {
  const raw = process.env[name];
  const value = raw !== undefined && raw !== '' ? Number(raw) : QUICK ? quick : full;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number (got "${raw}")`);
  return value;
};
const cfg = {
  quick: QUICK,
  seriesSlices: Math.round(setting('BENCH_SERIES_SLICES', 300, 30)),
  studyInstances: Math.round(setting('BENCH_STUDY_INSTANCES', 1000, 100)),
  largeGb: setting('BENCH_LARGE_GB', 1, 0.1),
  seedPatients: Math.round(setting('BENCH_SEED_PATIENTS', 40, 30)),
  qidoRuns: Math.round(setting('BENCH_QIDO_RUNS', 100, 5)),
  metadataRuns: Math.round(setting('BENCH_METADATA_RUNS', 25, 3)),
  framesRuns: Math.round(setting('BENCH_FRAMES_RUNS', 9, 2)),
  framesClients: Math.round(setting('BENCH_FRAMES_CLIENTS', 8, 8)),
  importRuns: Math.round(setting('BENCH_IMPORT_RUNS', 5, 2)),
  importConcurrency: 4, // PD_IMPORT_CONCURRENCY's default, what the backend uses
  exportRuns: Math.round(setting('BENCH_EXPORT_RUNS', 3, 2)),
  apiRuns: Math.round(setting('BENCH_API_RUNS', 3, 1)),
  apiSeconds: setting('BENCH_API_SECONDS', 10, 2),
  apiConnections: Math.round(setting('BENCH_API_CONNECTIONS', 32, 32)),
  segRuns: Math.round(setting('BENCH_SEG_RUNS', 5, 2)),
  segSlices: 300,
  keepData: process.env.BENCH_KEEP_DATA === '1',
  resultsPath: resolve(process.env.BENCH_RESULTS ?? join(import.meta.dirname, 'results.json')),
};

const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MB = 1e6;

// ---------------------------------------------------------------- figures

type Target = { kind: 'ratio' | 'absolute'; op: '<=' | '>=' | '<'; value: number; unit?: string };
type Figure = {
  id: string;
  section: string;
  metric: string;
  unit: string;
  better: 'lower' | 'higher';
  ours: Summary | null;
  anchor: Summary | null;
  anchorLabel: string | null;
  /** ours median / anchor median. */
  ratio: number | null;
  /** 95 % bootstrap interval of `ratio` (bench/lib/stats.ts), null with fewer than 5 samples a side. */
  ratioInterval95: [number, number] | null;
  /** For sides sampled in alternation (sample i of each ran back to back): the median of the per-pair ratios and its 95 % interval (bench/lib/stats.ts). Reported beside `ratio`; the target is judged on `ratio`. */
  pairedRatio: { median: number; interval95: [number, number] } | null;
  target: Target | null;
  pass: boolean | null;
  method: string;
  extra?: Record<string, unknown>;
};
const figures: Figure[] = [];
const errors: { section: string; error: string }[] = [];
const sectionLog: { section: string; startedAt: string; loadAverage: number[]; seconds?: number; ok?: boolean }[] = [];

function compare(value: number, target: Target): boolean {
  if (target.op === '<=') return value <= target.value;
  if (target.op === '<') return value < target.value;
  return value >= target.value;
}

function addFigure({ paired, ...f }: Omit<Figure, 'ratio' | 'ratioInterval95' | 'pairedRatio' | 'pass' | 'anchorLabel' | 'target'> & { anchorLabel?: string; target?: Target | null; paired?: boolean }): Figure {
  const ratio = f.ours && f.anchor ? f.ours.median / f.anchor.median : null;
  const ratioInterval95 = f.ours && f.anchor ? ratioInterval(f.ours.samples, f.anchor.samples) : null;
  const pairedView = paired && f.ours && f.anchor ? pairedRatio(f.ours.samples, f.anchor.samples) : null;
  const target = f.target ?? null;
  let pass: boolean | null = null;
  if (target?.kind === 'ratio' && ratio !== null) pass = compare(ratio, target);
  if (target?.kind === 'absolute' && f.ours) pass = compare(f.ours.median, target);
  const figure: Figure = { ...f, anchorLabel: f.anchorLabel ?? (f.anchor ? 'Orthanc direct' : null), target, ratio, ratioInterval95, pairedRatio: pairedView, pass };
  figures.push(figure);
  log(`  ${f.metric}: ours ${fmt(f.ours?.median)} ${f.unit}${f.anchor ? `, anchor ${fmt(f.anchor.median)} ${f.unit}, ratio ${fmt(ratio)}${ratioInterval95 ? ` (95 % interval ${ratioText(ratioInterval95[0])}–${ratioText(ratioInterval95[1])})` : ''}${pairedView ? `, paired ${pairedText(pairedView)}` : ''}` : ''}${pass === null ? '' : pass ? ' (meets target)' : ' (misses target)'}`);
  return figure;
}

/** Set by SIGINT/SIGTERM/SIGHUP: no further section starts while everything is being stopped. */
let aborted = false;

/** BENCH_ONLY=2,3a,3 runs only those numbered sections (setup always runs): for working on one figure. */
const onlySections = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim())) : null;

async function section(name: string, body: () => Promise<void>): Promise<boolean> {
  if (aborted) return false;
  const number = /^(\d+[a-z]?)\./.exec(name)?.[1];
  if (onlySections && number && !onlySections.has(number)) return true;
  const t0 = performance.now();
  const entry: (typeof sectionLog)[number] = { section: name, startedAt: new Date().toISOString(), loadAverage: loadavg().map((v) => round(v, 2)) };
  sectionLog.push(entry);
  log(`== ${name} (load average ${entry.loadAverage.join(' ')})`);
  try {
    await body();
    entry.seconds = Math.round((performance.now() - t0) / 1000);
    entry.ok = true;
    log(`== ${name} done in ${entry.seconds} s`);
    return true;
  } catch (error) {
    entry.seconds = Math.round((performance.now() - t0) / 1000);
    entry.ok = false;
    const text = (error as Error).stack ?? String(error);
    errors.push({ section: name, error: text });
    log(`!! ${name} failed: ${text}`);
    return false;
  }
}

// ---------------------------------------------------------------- formatting

function fmt(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}
const ratioText = (ratio: number) => (ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(3));
const pair = (s: Summary | null, unit: string) => (s ? (s.n > 1 ? `${fmt(s.median)} / ${fmt(s.p95)} ${unit}` : `${fmt(s.median)} ${unit}`) : '—');
const targetText = (t: Target | null) => (!t ? 'report' : t.kind === 'ratio' ? `ratio ${t.op} ${t.value}` : `${t.op} ${t.value} ${t.unit ?? ''}`.trim());

const SECTION_ORDER = ['DICOMweb', 'API', 'Import', 'Export', 'SEG'];
/** By section; within one, memory figures after the others; otherwise in the order measured. */
const ordered = () => {
  const key = (f: Figure) => [SECTION_ORDER.indexOf(f.section), /rss/i.test(f.id) ? 1 : 0, figures.indexOf(f)];
  return [...figures].sort((a, b) => {
    const [ka, kb] = [key(a), key(b)];
    return ka[0]! - kb[0]! || ka[1]! - kb[1]! || ka[2]! - kb[2]!;
  });
};

const pairedText = (p: NonNullable<Figure['pairedRatio']>) => `${ratioText(p.median)}× (${ratioText(p.interval95[0])}–${ratioText(p.interval95[1])})`;

function table(): string {
  const rows = ordered().map((f) => [f.metric, pair(f.ours, f.unit), pair(f.anchor, f.unit), f.ratio === null ? '—' : `${ratioText(f.ratio)}×${f.ratioInterval95 ? ` (${ratioText(f.ratioInterval95[0])}–${ratioText(f.ratioInterval95[1])})` : ''}`, f.pairedRatio ? pairedText(f.pairedRatio) : '—', targetText(f.target), f.pass === null ? '—' : f.pass ? 'PASS' : 'FAIL']);
  const head = ['metric', 'ours (median / p95)', 'anchor: Orthanc direct (median / p95)', 'ratio (95 % interval)', 'paired ratio (95 %)', 'target', 'result'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------- measurement helpers

/** Runs `a` and `b` `runs` times each, alternating which goes first, so drift hits both alike. */
async function alternate<T>(runs: number, a: () => Promise<T>, b: () => Promise<T>, between?: () => Promise<void>): Promise<{ a: T[]; b: T[] }> {
  const out = { a: [] as T[], b: [] as T[] };
  for (let i = 0; i < runs; i += 1) {
    if (i % 2 === 0) {
      out.a.push(await a());
      if (between) await between();
      out.b.push(await b());
    } else {
      out.b.push(await b());
      if (between) await between();
      out.a.push(await a());
    }
    if (between) await between();
  }
  return out;
}

const BROWSER_JSON: Headers = { accept: 'application/dicom+json', 'accept-encoding': 'gzip, deflate, br' };
const FRAME_ACCEPT = 'multipart/related; type=application/octet-stream; transfer-syntax=*';

type FramesRun = { seconds: number; bytes: number; frames: number; mbPerS: number; framesPerS: number; requestMs: { p50: number; p95: number } };

/** `clients` concurrent clients, each fetching every frame once (each starting at its own offset, as separate viewers would). */
async function framesRun(pool: Pool, origin: string, paths: string[], clients: number, headersFor: (path: string) => Headers): Promise<FramesRun> {
  const t0 = performance.now();
  let bytes = 0;
  let frames = 0;
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const offset = Math.floor((c * paths.length) / clients);
      for (let i = 0; i < paths.length; i += 1) {
        const path = paths[(offset + i) % paths.length]!;
        const response = await timed(pool, origin, { path, headers: headersFor(path) });
        if (response.status !== 200) throw new Error(`frame ${path}: HTTP ${response.status}`);
        bytes += response.bytes;
        frames += 1;
        latencies.push(response.totalMs);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, bytes, frames, mbPerS: bytes / MB / seconds, framesPerS: frames / seconds, requestMs: { p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95) } };
}

type LoadRun = { seconds: number; ok: number; failed: number; rps: number; latencies: number[]; statuses: Record<string, number> };

/** A closed loop of `connections` clients, each sending the next request when the last answer ended, for `seconds`. */
async function loadRun(pool: Pool, origin: string, path: string, connections: number, seconds: number, headers: () => Headers): Promise<LoadRun> {
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let ok = 0;
  let failed = 0;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) {
        try {
          const response = await timed(pool, origin, { path, headers: headers(), timeoutMs: 30_000 });
          statuses[response.status] = (statuses[response.status] ?? 0) + 1;
          if (response.status === 200) {
            ok += 1;
            latencies.push(response.totalMs);
          } else failed += 1;
        } catch {
          failed += 1;
          statuses.error = (statuses.error ?? 0) + 1;
        }
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  return { seconds: elapsed, ok, failed, rps: ok / elapsed, latencies, statuses };
}

const mbOf = (bytes: number) => round(bytes / MB, 1);
const roundAll = (values: Record<string, number>) => Object.fromEntries(Object.entries(values).map(([k, v]) => [k, round(v, 2)]));
const totalCpu = (cpu: Record<string, number>) => Object.values(cpu).reduce((a, b) => a + b, 0);
/** Per process, the median over runs of its CPU seconds, each run's figure multiplied by `scale(run)`. */
const perProcess = <R extends { cpuSeconds: Record<string, number> }>(list: R[], scale: (run: R) => number = () => 1) =>
  Object.fromEntries(Object.keys(list[0]?.cpuSeconds ?? {}).map((name) => [name, round(median(list.map((r) => (r.cpuSeconds[name] ?? 0) * scale(r))), 2)]));
const cpuText = (values: Record<string, number>) => Object.entries(values).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
/** The exact kernel peak of a window when the reset worked, else the sampled one. */
const peakOf = (trace: RssTrace) => (trace.highWaterReset && trace.highWaterAfterBytes !== null ? Math.max(trace.highWaterAfterBytes, trace.peakBytes) : trace.peakBytes);
const rssFigure = (trace: RssTrace) => ({
  peakMB: mbOf(trace.peakBytes),
  startMB: mbOf(trace.startBytes),
  endMB: mbOf(trace.endBytes),
  highWaterBeforeMB: trace.highWaterBeforeBytes === null ? null : mbOf(trace.highWaterBeforeBytes),
  highWaterAfterMB: trace.highWaterAfterBytes === null ? null : mbOf(trace.highWaterAfterBytes),
  highWaterReset: trace.highWaterReset,
  intervalMs: trace.intervalMs,
  samplesMB: trace.samples.map(([t, b]) => [t, mbOf(b)]),
});

/** Peak RSS (sampled, the figure), the kernel's exact peak of the window, and the growth over the start. */
function addRssFigures(id: string, section: string, metric: string, what: string, trace: RssTrace, extra: Record<string, unknown>): void {
  // The kernel updates VmHWM lazily (when RSS is about to shrink), so a sample can be above it.
  const exact = trace.highWaterReset && trace.highWaterAfterBytes !== null ? Math.max(trace.highWaterAfterBytes, trace.peakBytes) : null;
  addFigure({
    id: `${id}.rss`,
    section,
    metric,
    unit: 'MB',
    better: 'lower',
    ours: summarize([trace.peakBytes / MB], 'lower'),
    anchor: null,
    target: { kind: 'absolute', op: '<', value: 300, unit: 'MB' },
    method: `${what}; the backend's resident set (VmRSS of /proc/<pid>/status, the number \`ps -o rss= -p <pid>\` prints) sampled every ${trace.intervalMs} ms over the whole operation; MB = 10^6 bytes. RSS at the start: ${mbOf(trace.startBytes)} MB, at the end: ${mbOf(trace.endBytes)} MB.`,
    extra: { ...extra, rss: rssFigure(trace) },
  });
  if (exact !== null) {
    addFigure({
      id: `${id}.rssKernelPeak`,
      section,
      metric: '  … exact peak (kernel VmHWM)',
      unit: 'MB',
      better: 'lower',
      ours: summarize([exact / MB], 'lower'),
      anchor: null,
      target: { kind: 'absolute', op: '<', value: 300, unit: 'MB' },
      method: 'The kernel\'s peak-RSS counter of the backend (VmHWM), reset (echo 5 > /proc/<pid>/clear_refs) as the operation starts and read as it ends, so spikes between two samples count too; the kernel updates it lazily, so the highest sample is taken when that is higher.',
    });
  }
  addFigure({
    id: `${id}.rssGrowth`,
    section,
    metric: '  … growth over the RSS at the start',
    unit: 'MB',
    better: 'lower',
    ours: summarize([(Math.max(trace.peakBytes, exact ?? 0) - trace.startBytes) / MB], 'lower'),
    anchor: null,
    method: 'The exact peak above minus the first sample (taken as the request starts).',
  });
}

// ---------------------------------------------------------------- the run

type Ctx = {
  temp: string;
  stack: StackProcess;
  gw: string; // where to connect to the gateway
  direct: DirectNginx;
  directAgent: Agent;
  orthancPort: number;
  admin: GatewaySession;
  user: GatewaySession;
  groupId: string;
  pids: { backend: number; orthanc: number; nginx: number };
  base: BaseInstance[];
  series: { studyUid: string; seriesUid: string; sopUids: string[]; bytes: number };
  keptStudy?: { uid: string; count: number };
  largeStudy?: { uid: string; count: number; zipBytes: number };
};

// What the benchmark started, stopped in reverse order (each step once, even when a signal
// arrives while the run's own `finally` is stopping things).
type Cleanup = { name: string; run: () => Promise<void> };
const serviceCleanups: Cleanup[] = [];
const finalCleanups: Cleanup[] = [];
const runSteps = async (steps: Cleanup[]) => {
  while (steps.length) {
    const step = steps.pop()!;
    try {
      await step.run();
    } catch (error) {
      log(`cleanup "${step.name}" failed: ${(error as Error).message}`);
    }
  }
};
let stoppingServices: Promise<void> | null = null;
const stopServices = (): Promise<void> => (stoppingServices ??= runSteps(serviceCleanups));
let cleaning: Promise<void> | null = null;
const cleanupAll = (): Promise<void> => (cleaning ??= stopServices().then(() => runSteps(finalCleanups)));
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    aborted = true;
    log(`${signal}: stopping everything the benchmark started`);
    void cleanupAll().then(() => process.exit(130));
  });
}

async function directJson<T>(ctx: Ctx, method: Dispatcher.HttpMethod, path: string, body?: string, contentType = 'application/json'): Promise<T> {
  const response = await timed(ctx.directAgent, ctx.direct.url, { method, path, body, headers: body ? { 'content-type': contentType } : {}, keepBody: true });
  return jsonOf<T>(expectStatus(response, [200], `Orthanc ${method} ${path}`));
}

async function orthancStudyId(ctx: Ctx, studyUid: string): Promise<string> {
  const found = await directJson<{ Type: string; ID: string }[]>(ctx, 'POST', '/tools/lookup', studyUid, 'text/plain');
  const study = found.find((f) => f.Type === 'Study');
  if (!study) throw new Error(`Orthanc does not know study ${studyUid}`);
  return study.ID;
}

const quiet = async (ctx: Ctx) => {
  const q = await waitQuiet([ctx.pids.backend, ctx.pids.orthanc]);
  if (!q.quiet) log(`  (services still busy after ${q.waitedMs} ms; going on)`);
};

type ImportAnswer = { import: { id: string; status: string; counters: { instancesStored: number; duplicates: number; rejected: number; skipped: number; filesReceived: number } } };

/**
 * One ZIP (a path, streamed from disk, or its bytes) through the gateway's one-request import;
 * times request start to the last byte of the answer.
 */
async function gatewayImport(ctx: Ctx, zip: string | Buffer, expected: number, label: string): Promise<{ response: TimedResponse; answer: ImportAnswer; rss: RssTrace; afterUploadMs: number }> {
  await ctx.admin.ensureFresh();
  const multipart = multipartFile(zip, `${label}.zip`);
  // When the HTTP client has taken the body's last byte (all but what the socket buffers still hold).
  let uploadSentAt = Number.NaN;
  multipart.body.once('end', () => (uploadSentAt = performance.now()));
  const rss = sampleRss(ctx.pids.backend);
  let response: TimedResponse;
  let trace: RssTrace;
  try {
    response = await ctx.admin.call('POST', `/api/imports?groupId=${ctx.groupId}`, {
      body: multipart.body,
      headers: { 'content-type': multipart.contentType, 'content-length': String(multipart.length) },
      timeoutMs: 3_600_000,
    });
  } finally {
    trace = rss.stop();
  }
  const answer = jsonOf<ImportAnswer>(expectStatus(response, [200, 201], `import ${label}`));
  if (answer.import.counters.instancesStored !== expected) {
    throw new Error(`import ${label}: ${answer.import.counters.instancesStored} of ${expected} instances stored (${JSON.stringify(answer.import.counters)}, status ${answer.import.status})`);
  }
  return { response, answer, rss: trace, afterUploadMs: response.startedAt + response.totalMs - uploadSentAt };
}

const zipEntries = (base: BaseInstance[], tags: Tags, prefix = 'bench'): ZipEntry[] =>
  base.map((b) => ({ name: `${prefix}/series-${b.series + 1}/${String(b.slice + 1).padStart(4, '0')}.dcm`, size: b.data.length, make: () => patchInstance(b, tags) }));

async function setup(ctx: Partial<Ctx> & { temp: string }): Promise<Ctx> {
  // Data first: it needs nothing running.
  const t0 = performance.now();
  log(`generating the base set: ${cfg.studyInstances} instances (series of ${cfg.seriesSlices}) from ct-volume-pancreas-tcia with dcmjs`);
  const base = buildBaseSet(cfg.studyInstances, cfg.seriesSlices);
  log(`  done in ${((performance.now() - t0) / 1000).toFixed(1)} s (${mbOf(base.reduce((n, b) => n + b.data.length, 0))} MB)`);

  const env = await stackEnvironment(join(ctx.temp, 'runtime'));
  mkdirSync(env.PD_RUNTIME_DIR!, { recursive: true });
  env.PD_ADMIN_EMAIL = 'bench.admin@bench.test';
  log(`starting the stack (gateway port ${env.PD_HTTP_PORT}, Orthanc ${env.PD_ORTHANC_HTTP_PORT})`);
  let launched: StackProcess | undefined;
  serviceCleanups.push({
    name: 'stack',
    run: async () => {
      // Interrupted (or timed out) before READY, the launcher is not handed over and has no
      // shutdown handler yet: stop it and the services it started, found by our temp folder.
      if (!launched) await stopProcesses(processesMentioning(ctx.temp));
      await stopStack(launched, env);
    },
  });
  launched = await launchStack(env);
  const stack = launched;
  const gw = `http://127.0.0.1:${env.PD_HTTP_PORT}`;
  const secrets = JSON.parse(readFileSync(join(stack.runtimeDir, 'secrets.json'), 'utf8')) as { orthancUser: string; orthancPassword: string };
  const services = servicePids(stack.runtimeDir);
  const pids = { backend: services.backend!, orthanc: services.orthanc!, nginx: services.nginx! };
  if (!pids.backend || !pids.orthanc) throw new Error(`stack.json lacks service pids: ${JSON.stringify(services)}`);
  const orthancPort = Number(env.PD_ORTHANC_HTTP_PORT);
  await waitQuiet([pids.backend, pids.orthanc]);
  const idle = rssBytes(pids.backend);
  if (idle !== null) {
    addFigure({
      id: 'backend.idle.rss',
      section: 'Import',
      metric: 'Backend RSS, idle after start',
      unit: 'MB',
      better: 'lower',
      ours: summarize([idle / MB], 'lower'),
      anchor: null,
      method: 'VmRSS of the backend process (node --import tsx src/server.ts, as the launcher runs it) once the freshly started stack is idle, before any data; the baseline under the peak-RSS figures below. MB = 10^6 bytes.',
    });
  }

  const directPort = await findFreePort();
  const direct = await startDirectNginx({
    bin: process.env.PD_NGINX_BIN ?? '/usr/sbin/nginx',
    dir: join(ctx.temp, 'direct-nginx'),
    port: directPort,
    orthancPort,
    orthancUser: secrets.orthancUser,
    orthancPassword: secrets.orthancPassword,
    snippetsDir: join(repoRoot, 'nginx'),
  });
  serviceCleanups.push({ name: 'direct nginx', run: direct.stop });
  log(`direct nginx to Orthanc at ${direct.url}`);
  const directAgent = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
  serviceCleanups.push({ name: 'direct agent', run: () => directAgent.close() });

  // The first admin changes the generated password, then makes a researcher: the "logged-in user".
  const admin = new GatewaySession(gw, stack.url, 'admin');
  serviceCleanups.push({ name: 'admin session', run: () => admin.close() });
  const generated = printedAdminPassword(stack.output());
  if (!generated) throw new Error('the launcher printed no first-admin password');
  await admin.login(env.PD_ADMIN_EMAIL, generated);
  const adminPassword = `bench-admin-${randomBytes(12).toString('base64url')}`;
  await admin.changePassword(generated, adminPassword);
  const session = await admin.json<{ user: { groups: { id: string; name: string }[] } }>('GET', '/api/auth/session', [200]);
  const groupId = session.user.groups[0]?.id;
  if (!groupId) throw new Error('the first admin has no group');
  const created = await admin.json<{ password: string }>('POST', '/api/admin/users', [201], {
    json: { email: 'bench.researcher@bench.test', displayName: 'Bench Researcher', role: 'researcher', groupIds: [groupId] },
  });
  const user = new GatewaySession(gw, stack.url, 'researcher');
  serviceCleanups.push({ name: 'researcher session', run: () => user.close() });
  await user.login('bench.researcher@bench.test', created.password);
  await user.changePassword(created.password, `bench-user-${randomBytes(12).toString('base64url')}`);

  const full = { ...ctx, stack, gw, direct, directAgent, orthancPort, admin, user, groupId, pids, base } as Ctx;

  // Seed through the gateway: the series for the DICOMweb figures and single-instance patients
  // so that a page of 25 patients / studies is full.
  const seriesBase = base.filter((b) => b.series === 0);
  const seriesTags: Tags = { study: freshTag(), instances: freshTag(), patient: freshTag() };
  const seedEntries: ZipEntry[] = zipEntries(seriesBase, seriesTags, 'series');
  for (let p = 0; p < cfg.seedPatients; p += 1) {
    const tags: Tags = { study: freshTag(), instances: freshTag(), patient: freshTag() };
    seedEntries.push({ name: `patients/${p + 1}.dcm`, size: base[p % base.length]!.data.length, make: () => patchInstance(base[p % base.length]!, tags) });
  }
  const seedZip = join(ctx.temp, 'seed.zip');
  const seed = await writeZip(seedZip, seedEntries);
  log(`seeding: ${seriesBase.length}-slice series + ${cfg.seedPatients} one-instance patients (${mbOf(seed.bytes)} MB ZIP) through /api/imports`);
  await gatewayImport(full, seedZip, seedEntries.length, 'seed');
  rmSync(seedZip, { force: true });
  const uids = copyUids(seriesTags, seriesBase);
  full.series = { studyUid: uids.studyInstanceUid, seriesUid: uids.seriesInstanceUids[0]!, sopUids: uids.sopInstanceUids, bytes: seriesBase.reduce((n, b) => n + b.data.length, 0) };
  await quiet(full);
  return full;
}

async function measureDicomweb(ctx: Ctx): Promise<void> {
  const userHeaders = (path: string, extra: Headers) => ctx.user.headersFor(path, 'GET', extra);
  const oursGet = (path: string, extra: Headers) => timed(ctx.user.agent, ctx.gw, { path, headers: userHeaders(path, extra) });
  const directGet = (path: string, extra: Headers) => timed(ctx.directAgent, ctx.direct.url, { path, headers: extra });
  const okMs = async (p: Promise<TimedResponse>, what: string) => expectStatus(await p, [200], what).totalMs;
  await ctx.user.ensureFresh();

  // QIDO as OHIF's study list sends it.
  const qido = '/dicom-web/studies?limit=25&offset=0&fuzzymatching=false&includefield=00081030%2C00080060';
  const count = async (response: Promise<TimedResponse>) => (JSON.parse((await response).body!.toString('utf8')) as unknown[]).length;
  const oursCount = await count(timed(ctx.user.agent, ctx.gw, { path: qido, headers: userHeaders(qido, { accept: 'application/dicom+json' }), keepBody: true }));
  const directCount = await count(timed(ctx.directAgent, ctx.direct.url, { path: qido, headers: { accept: 'application/dicom+json' }, keepBody: true }));
  for (let i = 0; i < 3; i += 1) {
    await okMs(oursGet(qido, BROWSER_JSON), 'QIDO (gateway)');
    await okMs(directGet(qido, BROWSER_JSON), 'QIDO (direct)');
  }
  const q = await alternate(cfg.qidoRuns, () => okMs(oursGet(qido, BROWSER_JSON), 'QIDO (gateway)'), () => okMs(directGet(qido, BROWSER_JSON), 'QIDO (direct)'));
  addFigure({
    id: 'dicomweb.qido.latency',
    section: 'DICOMweb',
    metric: 'QIDO study search latency',
    unit: 'ms',
    better: 'lower',
    paired: true,
    ours: summarize(q.a, 'lower'),
    anchor: summarize(q.b, 'lower'),
    target: { kind: 'ratio', op: '<=', value: 1.1 },
    method: `GET ${qido} with Accept: application/dicom+json and Accept-Encoding: gzip, one keep-alive connection, sequential, ${cfg.qidoRuns} requests per side alternating (3 warm-up each); time from request to last byte. Ours: gateway nginx → backend (signed-in researcher: the search is restricted to the studies of their groups) → Orthanc; anchor: the direct nginx → Orthanc. Results per page: ours ${oursCount}, anchor ${directCount}.`,
  });

  // The same search as an admin: the backend passes Orthanc's answer through unrestricted, which
  // separates the cost of the hop through the backend from that of the per-group restriction.
  await ctx.admin.ensureFresh();
  const adminGet = (path: string, extra: Headers) => timed(ctx.admin.agent, ctx.gw, { path, headers: ctx.admin.headersFor(path, 'GET', extra) });
  for (let i = 0; i < 3; i += 1) await okMs(adminGet(qido, BROWSER_JSON), 'QIDO (gateway, admin)');
  const qa = await alternate(cfg.qidoRuns, () => okMs(adminGet(qido, BROWSER_JSON), 'QIDO (gateway, admin)'), () => okMs(directGet(qido, BROWSER_JSON), 'QIDO (direct)'));
  addFigure({
    id: 'dicomweb.qido.latency.admin',
    section: 'DICOMweb',
    metric: '  … the same search as an admin (unrestricted)',
    unit: 'ms',
    better: 'lower',
    paired: true,
    ours: summarize(qa.a, 'lower'),
    anchor: summarize(qa.b, 'lower'),
    target: { kind: 'ratio', op: '<=', value: 1.1 },
    method: `As above with the admin's session: the backend forwards the query to Orthanc unchanged (admins see every study), so this isolates the backend hop from the per-group UID restriction. Own alternating anchor samples (${cfg.qidoRuns}).`,
  });

  // Series metadata of the big series.
  const metadata = `/dicom-web/studies/${ctx.series.studyUid}/series/${ctx.series.seriesUid}/metadata`;
  const items = await count(timed(ctx.directAgent, ctx.direct.url, { path: metadata, headers: { accept: 'application/dicom+json' }, keepBody: true }));
  if (items !== ctx.series.sopUids.length) throw new Error(`metadata lists ${items} instances, expected ${ctx.series.sopUids.length}`);
  await okMs(oursGet(metadata, BROWSER_JSON), 'metadata (gateway)');
  await okMs(directGet(metadata, BROWSER_JSON), 'metadata (direct)');
  const m = await alternate(cfg.metadataRuns, () => okMs(oursGet(metadata, BROWSER_JSON), 'metadata (gateway)'), () => okMs(directGet(metadata, BROWSER_JSON), 'metadata (direct)'));
  addFigure({
    id: 'dicomweb.metadata.latency',
    section: 'DICOMweb',
    metric: `Series /metadata latency (${ctx.series.sopUids.length} slices)`,
    unit: 'ms',
    better: 'lower',
    paired: true,
    ours: summarize(m.a, 'lower'),
    anchor: summarize(m.b, 'lower'),
    target: { kind: 'ratio', op: '<=', value: 1.1 },
    method: `GET /dicom-web/studies/{study}/series/{series}/metadata (${items} instances, Orthanc "SeriesMetadata": "Full") with Accept-Encoding: gzip, sequential, ${cfg.metadataRuns} per side alternating (1 warm-up each), request to last byte. Ours: gateway nginx auth_request (per-study decision, cached 10 s) → Orthanc; anchor: direct nginx → Orthanc.`,
  });

  // WADO-RS frames, 8 concurrent clients each reading every frame.
  const framePath = (sop: string) => `/dicom-web/studies/${ctx.series.studyUid}/series/${ctx.series.seriesUid}/instances/${sop}/frames/1`;
  const paths = ctx.series.sopUids.map(framePath);
  const frameHeaders: Headers = { accept: FRAME_ACCEPT, 'accept-encoding': 'gzip, deflate, br' };
  const oursPool = new Pool(ctx.gw, { connections: cfg.framesClients, keepAliveTimeout: 30_000 });
  const directPool = new Pool(ctx.direct.url, { connections: cfg.framesClients, keepAliveTimeout: 30_000 });
  try {
    const probe = await timed(directPool, ctx.direct.url, { path: paths[0]!, headers: frameHeaders });
    if (probe.status !== 200 || !String(probe.headers['content-type']).startsWith('multipart/related') || probe.bytes < 512 * 512 * 2) {
      throw new Error(`frame probe: HTTP ${probe.status}, ${probe.headers['content-type']}, ${probe.bytes} bytes`);
    }
    // Warm-up: one client reads every frame on each side (page cache, connections).
    await framesRun(oursPool, ctx.gw, paths, 1, (p) => userHeaders(p, frameHeaders));
    await framesRun(directPool, ctx.direct.url, paths, 1, () => frameHeaders);
    const f = await alternate(
      cfg.framesRuns,
      async () => {
        await ctx.user.ensureFresh();
        const { result, cpu } = await cpuDuring({ backend: ctx.pids.backend, orthanc: ctx.pids.orthanc, nginx: ctx.pids.nginx }, () => framesRun(oursPool, ctx.gw, paths, cfg.framesClients, (p) => userHeaders(p, frameHeaders)));
        return { ...result, cpuSeconds: roundAll(cpu) };
      },
      async () => {
        const { result, cpu } = await cpuDuring({ backend: ctx.pids.backend, orthanc: ctx.pids.orthanc, nginx: ctx.direct.child.pid! }, () => framesRun(directPool, ctx.direct.url, paths, cfg.framesClients, () => frameHeaders));
        return { ...result, cpuSeconds: roundAll(cpu) };
      },
    );
    const method = `${cfg.framesClients} concurrent clients (one keep-alive connection each), each GETting frame 1 of all ${paths.length} instances (one request per frame, each client starting at its own offset) with Accept: ${FRAME_ACCEPT}; ${cfg.framesRuns} runs per side alternating after one single-client warm-up pass each; MB/s = multipart body bytes (10^6) / wall time of the run. Ours: gateway nginx auth_request (cached per credential and study for 10 s) → Orthanc; anchor: direct nginx → Orthanc.`;
    addFigure({
      id: 'dicomweb.frames.mbps',
      section: 'DICOMweb',
      metric: `WADO-RS frames throughput (${cfg.framesClients} clients)`,
      unit: 'MB/s',
      better: 'higher',
      paired: true,
      ours: summarize(f.a.map((r) => r.mbPerS), 'higher'),
      anchor: summarize(f.b.map((r) => r.mbPerS), 'higher'),
      target: { kind: 'ratio', op: '>=', value: 0.9 },
      method,
      extra: { runsOurs: f.a, runsAnchor: f.b },
    });
    addFigure({
      id: 'dicomweb.frames.fps',
      section: 'DICOMweb',
      metric: `WADO-RS frames per second (${cfg.framesClients} clients)`,
      unit: 'frames/s',
      better: 'higher',
      paired: true,
      ours: summarize(f.a.map((r) => r.framesPerS), 'higher'),
      anchor: summarize(f.b.map((r) => r.framesPerS), 'higher'),
      target: { kind: 'ratio', op: '>=', value: 0.9 },
      method,
    });
    const perThousand = (r: { frames: number }) => 1000 / r.frames;
    addFigure({
      id: 'dicomweb.frames.cpuPerThousand',
      section: 'DICOMweb',
      metric: '  … CPU time per 1,000 frames, all processes',
      unit: 'core-s',
      better: 'lower',
      paired: true,
      ours: summarize(f.a.map((r) => totalCpu(r.cpuSeconds) * perThousand(r)), 'lower'),
      anchor: summarize(f.b.map((r) => totalCpu(r.cpuSeconds) * perThousand(r)), 'lower'),
      method: 'Report only: the CPU time (user + system, all threads; /proc/<pid>/stat) that the backend, Orthanc, the nginx in front (the gateway\'s, or the direct one) and the load generator (this process) used during each frames run above, per 1,000 frames. On 2 cores, what the gateway spends beyond the anchor is taken from Orthanc.',
      extra: { oursMedianByProcess: perProcess(f.a, perThousand), anchorMedianByProcess: perProcess(f.b, perThousand) },
    });
  } finally {
    await oursPool.close();
    await directPool.close();
  }
}

async function measureApi(ctx: Ctx): Promise<void> {
  const oursPath = '/api/patients?limit=25';
  // Orthanc 1.10 refuses `limit` without `since` (400 "Missing since argument").
  const anchorPath = '/patients?expand&since=0&limit=25';
  const headers: Headers = { accept: 'application/json', 'accept-encoding': 'gzip, deflate, br' };
  await ctx.user.ensureFresh();
  const oursPatients = jsonOf<{ patients: unknown[] }>(expectStatus(await ctx.user.call('GET', oursPath), [200], 'GET /api/patients')).patients.length;
  const anchorPatients = (await directJson<unknown[]>(ctx, 'GET', anchorPath)).length;
  const oursPool = new Pool(ctx.gw, { connections: cfg.apiConnections, keepAliveTimeout: 30_000 });
  const directPool = new Pool(ctx.direct.url, { connections: cfg.apiConnections, keepAliveTimeout: 30_000 });
  try {
    const oursHeaders = () => ctx.user.headersFor(oursPath, 'GET', headers);
    const warm = Math.min(2, cfg.apiSeconds / 2);
    await loadRun(oursPool, ctx.gw, oursPath, cfg.apiConnections, warm, oursHeaders);
    await loadRun(directPool, ctx.direct.url, anchorPath, cfg.apiConnections, warm, () => headers);
    const r = await alternate(
      cfg.apiRuns,
      async () => {
        await ctx.user.ensureFresh();
        return loadRun(oursPool, ctx.gw, oursPath, cfg.apiConnections, cfg.apiSeconds, oursHeaders);
      },
      () => loadRun(directPool, ctx.direct.url, anchorPath, cfg.apiConnections, cfg.apiSeconds, () => headers),
      () => quiet(ctx),
    );
    const failures = [...r.a, ...r.b].reduce((n, run) => n + run.failed, 0);
    if (failures) log(`  API load: ${failures} requests did not answer 200 (${JSON.stringify(r.a.map((x) => x.statuses))} / ${JSON.stringify(r.b.map((x) => x.statuses))})`);
    const method = `Closed loop of ${cfg.apiConnections} concurrent requests (undici Pool, ${cfg.apiConnections} keep-alive connections), each connection sending its next request when the answer's last byte arrived, for ${cfg.apiSeconds} s; ${cfg.apiRuns} run(s) per side alternating after a ${warm} s warm-up each. req/s = answers with 200 / elapsed. Ours: GET ${oursPath} as a signed-in researcher through the gateway (${oursPatients} patients per page); anchor: GET ${anchorPath} through the direct nginx (${anchorPatients} per page). Accept-Encoding: gzip on both. The load generator runs on the same 2 cores as the stack. Latency percentiles pool every request of every run.`;
    const statuses = { ours: r.a.map((x) => x.statuses), anchor: r.b.map((x) => x.statuses) };
    addFigure({
      id: 'api.patients.rps',
      section: 'API',
      metric: `GET /api/patients?limit=25 at ${cfg.apiConnections} connections`,
      unit: 'req/s',
      better: 'higher',
      paired: true,
      ours: summarize(r.a.map((x) => x.rps), 'higher'),
      anchor: summarize(r.b.map((x) => x.rps), 'higher'),
      method,
      extra: { statuses, runs: { ours: r.a.map(({ latencies, ...rest }) => rest), anchor: r.b.map(({ latencies, ...rest }) => rest) } },
    });
    const oursLat = r.a.flatMap((x) => x.latencies);
    const anchorLat = r.b.flatMap((x) => x.latencies);
    for (const q of [0.5, 0.95, 0.99]) {
      const name = `p${Math.round(q * 100)}`;
      const one = (v: number[]): Summary => ({ median: quantile(v, q), p95: quantile(v, q), min: Math.min(...v), max: Math.max(...v), n: 1, samples: [] });
      addFigure({
        id: `api.patients.latency.${name}`,
        section: 'API',
        metric: `  … latency ${name} at ${cfg.apiConnections} connections`,
        unit: 'ms',
        better: 'lower',
        ours: one(oursLat),
        anchor: one(anchorLat),
        method: `${name} of all request latencies of the runs above (${oursLat.length} ours, ${anchorLat.length} anchor); raw latencies are summarised, not stored.`,
      });
    }
  } finally {
    await oursPool.close();
    await directPool.close();
  }
}

async function measureImport(ctx: Ctx): Promise<void> {
  const count = ctx.base.length;
  const zipPath = join(ctx.temp, 'import.zip');
  const oursRuns: { seconds: number; rate: number; zipBytes: number; rssPeakMB: number; rssStartMB: number; afterUploadMs: number; cpuSeconds: Record<string, number> }[] = [];
  const directRuns: { seconds: number; rate: number; bytes: number; afterUploadMs: number; cpuSeconds: Record<string, number> }[] = [];
  const totalBytes = ctx.base.reduce((n, b) => n + b.data.length, 0);
  const runs = cfg.importRuns;

  const ours = async (run: number) => {
    const tags: Tags = { study: freshTag(), instances: freshTag(), patient: freshTag() };
    const zip = await writeZip(zipPath, zipEntries(ctx.base, tags));
    // In memory before the clock starts, as the anchor's files are: reading 526 MB from the page
    // cache during the run cost the load generator ~0.5 core-s more than the anchor's client,
    // taken from the same 2 cores.
    const zipBytes = readFileSync(zipPath);
    await quiet(ctx);
    const { result, cpu } = await cpuDuring({ backend: ctx.pids.backend, orthanc: ctx.pids.orthanc, nginx: ctx.pids.nginx }, () => gatewayImport(ctx, zipBytes, count, `import-${run}`));
    const { response, rss, afterUploadMs } = result;
    const seconds = response.totalMs / 1000;
    oursRuns.push({ seconds, rate: count / seconds, zipBytes: zip.bytes, rssPeakMB: mbOf(peakOf(rss)), rssStartMB: mbOf(rss.startBytes), afterUploadMs, cpuSeconds: roundAll(cpu) });
    log(`  gateway import run ${run + 1}: ${count} instances in ${seconds.toFixed(1)} s (${(count / seconds).toFixed(1)}/s), backend RSS peak ${mbOf(rss.peakBytes)} MB, CPU s ${cpuText(cpu)}`);
    const uid = benchUid(tags.study, ROLE.study, 0);
    if (run === runs - 1) ctx.keptStudy = { uid, count };
    else {
      await quiet(ctx);
      await ctx.admin.ensureFresh();
      expectStatus(await ctx.admin.call('DELETE', `/api/studies/${uid}`), [200, 204], 'DELETE /api/studies');
    }
    rmSync(zipPath, { force: true });
  };

  const direct = async (run: number) => {
    const tags: Tags = { study: freshTag(), instances: freshTag(), patient: freshTag() };
    const files = ctx.base.map((b) => patchInstance(b, tags));
    const pool = new Pool(ctx.direct.url, { connections: cfg.importConcurrency, keepAliveTimeout: 30_000 });
    await quiet(ctx);
    let next = 0;
    let studyId = '';
    let lastPostAt = Number.NaN;
    const t0 = performance.now();
    const { cpu } = await cpuDuring({ backend: ctx.pids.backend, orthanc: ctx.pids.orthanc, nginx: ctx.direct.child.pid! }, async () => {
      try {
        await Promise.all(
          Array.from({ length: cfg.importConcurrency }, async () => {
            while (next < files.length) {
              const file = files[next++]!;
              if (next === files.length) lastPostAt = performance.now();
              const post = () => timed(pool, ctx.direct.url, { method: 'POST', path: '/instances', body: file, headers: { 'content-type': 'application/dicom', 'content-length': String(file.length) }, keepBody: true });
              let response = await post();
              // Orthanc 1.10's storage-directory race (see OrthancClient.storeInstance): sent
              // again the way the backend does, so the anchor is not held to a stricter client.
              for (let attempt = 1; attempt < STORE_ATTEMPTS && isStorageRace(response.status, response.body?.toString('utf8') ?? ''); attempt++) {
                log(`  (Orthanc direct: storage-directory race, attempt ${attempt + 1})`);
                await sleep(2 * attempt + Math.random() * 10);
                response = await post();
              }
              const answer = jsonOf<{ Status: string; ParentStudy: string }>(expectStatus(response, [200], 'Orthanc POST /instances'));
              if (answer.Status !== 'Success') throw new Error(`Orthanc answered ${answer.Status} for a fresh instance`);
              studyId = answer.ParentStudy;
            }
          }),
        );
      } finally {
        await pool.close();
      }
    });
    const ended = performance.now();
    const seconds = (ended - t0) / 1000;
    directRuns.push({ seconds, rate: count / seconds, bytes: totalBytes, afterUploadMs: ended - lastPostAt, cpuSeconds: roundAll(cpu) });
    log(`  Orthanc direct run ${run + 1}: ${count} instances in ${seconds.toFixed(1)} s (${(count / seconds).toFixed(1)}/s), CPU s ${cpuText(cpu)}`);
    // The registry picks the study up from Orthanc's change feed (into the inbox); let it, then delete it in Orthanc.
    await quiet(ctx);
    expectStatus(await timed(ctx.directAgent, ctx.direct.url, { method: 'DELETE', path: `/studies/${studyId}`, keepBody: true }), [200], 'Orthanc DELETE /studies');
  };

  let oursRun = 0;
  let directRun = 0;
  await alternate(
    runs,
    () => ours(oursRun++),
    () => direct(directRun++),
  );
  addFigure({
    id: 'import.study.rate',
    section: 'Import',
    metric: `Import ${count}-instance study`,
    unit: 'inst/s',
    better: 'higher',
    paired: true,
    ours: summarize(oursRuns.map((r) => r.rate), 'higher'),
    anchor: summarize(directRuns.map((r) => r.rate), 'higher'),
    target: { kind: 'ratio', op: '>=', value: 0.8 },
    method: `${count} CT instances (${mbOf(totalBytes)} MB, ${Math.ceil(count / cfg.seriesSlices)} series) with fresh study/series/SOP UIDs and patient per run. Ours: one stored (uncompressed) ZIP of ${mbOf(oursRuns[0]?.zipBytes ?? 0)} MB, read into memory before the clock starts (as the anchor's files are), POST /api/imports?groupId=… (multipart, admin session) through the gateway; the time runs from the request's first byte to the last byte of the answer, which comes when every instance is stored, registered and the import completed. Anchor: the same files POSTed to Orthanc's /instances through the direct nginx, ${cfg.importConcurrency} at a time (the backend's PD_IMPORT_CONCURRENCY), from memory; a post Orthanc 1.10 fails with its storage-directory race (500, OrthancStatus 2001 or 14, or -1 naming a storage folder) is sent again, up to ${STORE_ATTEMPTS} tries, as the backend does. ${runs} runs per side alternating; the services are let go idle before each run; each study is deleted after its run (ours: DELETE /api/studies/{uid}; anchor: Orthanc DELETE after the registry has seen it), except the last gateway import, kept for the export figures. Note: the backend also follows Orthanc's change feed during the anchor runs (as it would in production).`,
    extra: { runsOurs: oursRuns, runsAnchor: directRuns },
  });
  addFigure({
    id: 'import.study.cpuSeconds',
    section: 'Import',
    metric: '  … CPU time used, all processes',
    unit: 'core-s',
    better: 'lower',
    paired: true,
    ours: summarize(oursRuns.map((r) => totalCpu(r.cpuSeconds)), 'lower'),
    anchor: summarize(directRuns.map((r) => totalCpu(r.cpuSeconds)), 'lower'),
    method: `Report only: the CPU time (user + system, all threads; /proc/<pid>/stat) that the backend, Orthanc, the nginx in front (the gateway's, or the direct one) and the load generator (this process) used during each import run above. This machine has ${cpus().length} cores, so a run cannot take less than this total divided by ${cpus().length}. Medians per process: ours ${cpuText(perProcess(oursRuns))}; anchor ${cpuText(perProcess(directRuns))} (the anchor's backend figure is its change feed picking the study up).`,
    extra: { oursMedianByProcess: perProcess(oursRuns), anchorMedianByProcess: perProcess(directRuns) },
  });
  addFigure({
    id: 'import.study.afterUpload',
    section: 'Import',
    metric: "  … answer after the upload's last byte",
    unit: 'ms',
    better: 'lower',
    paired: true,
    ours: summarize(oursRuns.map((r) => r.afterUploadMs), 'lower'),
    anchor: summarize(directRuns.map((r) => r.afterUploadMs), 'lower'),
    method: "Report only: the time from the moment the client had handed its last byte on (ours: the end of the multipart body; anchor: the start of the last file's POST) to the last answer. Ours is mostly the megabytes still buffered between the client, nginx and the backend (sockets, the backend's window), stored at the run's full rate, then the ZIP's directory pass (every entry it lists is checked against those read while the archive arrived) and the registry update; the anchor's is its last stores in flight.",
  });
  addFigure({
    id: 'import.study.rssPeak',
    section: 'Import',
    metric: `Backend peak RSS, importing the ${count}-instance ZIP`,
    unit: 'MB',
    better: 'lower',
    ours: summarize(oursRuns.map((r) => r.rssPeakMB), 'lower'),
    anchor: null,
    method: 'Per gateway import run above: the kernel\'s peak RSS of the backend (VmHWM, reset as the request starts; the 200 ms samples when the reset is not possible). Report only: the < 300 MB target is on the ~1 GB archive.',
  });

  // The ~1 GB archive, for the backend's peak memory.
  const size = ctx.base[0]!.data.length;
  const largeCount = Math.max(1, Math.ceil((cfg.largeGb * 1e9) / size));
  const studyTag = freshTag();
  const patientTag = freshTag();
  const entries: ZipEntry[] = [];
  for (let copy = 0; entries.length < largeCount; copy += 1) {
    const tags: Tags = { study: studyTag, instances: freshTag(), patient: patientTag };
    for (const b of ctx.base) {
      if (entries.length >= largeCount) break;
      entries.push({ name: `large/copy-${copy + 1}/series-${b.series + 1}/${String(b.slice + 1).padStart(4, '0')}.dcm`, size: b.data.length, make: () => patchInstance(b, tags) });
    }
  }
  const largeZip = join(ctx.temp, 'large.zip');
  log(`  writing the large archive: ${largeCount} instances`);
  const written = await writeZip(largeZip, entries);
  await quiet(ctx);
  log(`  importing the large archive (${mbOf(written.bytes)} MB) through /api/imports`);
  const { response, rss } = await gatewayImport(ctx, largeZip, largeCount, 'large');
  rmSync(largeZip, { force: true });
  const seconds = response.totalMs / 1000;
  ctx.largeStudy = { uid: benchUid(studyTag, ROLE.study, 0), count: largeCount, zipBytes: written.bytes };
  addRssFigures(
    'import.large',
    'Import',
    `Backend peak RSS, importing a ${(written.bytes / 1e9).toFixed(2)} GB ZIP`,
    `One stored ZIP of ${largeCount} instances (${mbOf(written.bytes)} MB) in one study through POST /api/imports, from the request's first byte to the answer (${seconds.toFixed(1)} s, ${(largeCount / seconds).toFixed(1)} instances/s)`,
    rss,
    { seconds, instancesPerS: largeCount / seconds, zipBytes: written.bytes },
  );
}

type ExportView = { export: { id: string; status: string; error: string | null; progress: { instancesTotal: number; instancesDone: number; filesWritten: number; bytesWritten: number }; flaggedSeries: { seriesInstanceUid: string; reason: string; excluded: boolean }[] } };
type ExportRun = { totalMs: number; ttfbMs: number; buildMs: number; bytes: number; mbPerS: number; files: number; flagged: number; rss: RssTrace };

/** POST /api/exports, poll until completed, download: timed from the POST to the last byte of the ZIP. */
async function gatewayExport(ctx: Ctx, studyUid: string, deidentify: boolean): Promise<ExportRun> {
  await ctx.admin.ensureFresh();
  const rss = sampleRss(ctx.pids.backend);
  try {
    const t0 = performance.now();
    const created = await ctx.admin.json<ExportView>('POST', '/api/exports', [202], {
      json: { studyInstanceUids: [studyUid], format: 'dicom', deidentify, purpose: 'Benchmark: export throughput', recipient: 'Preview-DICOM benchmark' },
    });
    const id = created.export.id;
    let view = created;
    while (view.export.status === 'running') {
      await sleep(100);
      view = await ctx.admin.json<ExportView>('GET', `/api/exports/${id}`, [200]);
    }
    if (view.export.status !== 'completed') throw new Error(`export ${id} ended ${view.export.status}: ${view.export.error}`);
    const built = performance.now();
    const path = `/api/exports/${id}/download`;
    const download = expectStatus(await timed(ctx.admin.agent, ctx.gw, { path, headers: ctx.admin.headersFor(path) }), [200], 'export download');
    const totalMs = download.startedAt + download.totalMs - t0;
    return {
      totalMs,
      ttfbMs: download.startedAt + download.ttfbMs - t0,
      buildMs: built - t0,
      bytes: download.bytes,
      mbPerS: download.bytes / MB / (totalMs / 1000),
      files: view.export.progress.filesWritten,
      flagged: view.export.flaggedSeries.length,
      rss: rss.stop(),
    };
  } catch (error) {
    rss.stop();
    throw error;
  }
}

/** The ~1 GB export, for the backend's peak memory (run before the repeated exports). */
async function measureLargeExport(ctx: Ctx): Promise<void> {
  const large = ctx.largeStudy;
  if (!large) throw new Error('no large study imported (the import section failed), so no large export');
  await quiet(ctx);
  const r = await gatewayExport(ctx, large.uid, false);
  if (r.files < large.count) throw new Error(`large export wrote ${r.files} files for ${large.count} instances`);
  log(`  large export: ${mbOf(r.bytes)} MB in ${(r.totalMs / 1000).toFixed(1)} s, RSS peak ${mbOf(r.rss.peakBytes)} MB`);
  addRssFigures(
    'export.large',
    'Export',
    `Backend peak RSS, exporting a ${(r.bytes / 1e9).toFixed(2)} GB ZIP`,
    `Identified export of the large archive's study (${large.count} instances), from the POST through the build to the download's last byte (${mbOf(r.bytes)} MB in ${(r.totalMs / 1000).toFixed(1)} s = ${fmt(r.mbPerS)} MB/s, build ${(r.buildMs / 1000).toFixed(1)} s); measured before the repeated export runs below, so earlier exports do not raise its starting point`,
    r.rss,
    { totalMs: r.totalMs, buildMs: r.buildMs, ttfbMs: r.ttfbMs, bytes: r.bytes },
  );
  // De-identification parses every header with dcmjs, whose garbage the identified export never makes.
  await quiet(ctx);
  const d = await gatewayExport(ctx, large.uid, true);
  if (d.files < large.count) throw new Error(`large de-identified export wrote ${d.files} files for ${large.count} instances`);
  log(`  large export (de-identified): ${mbOf(d.bytes)} MB in ${(d.totalMs / 1000).toFixed(1)} s, RSS peak ${mbOf(d.rss.peakBytes)} MB`);
  addRssFigures(
    'export.largeDeidentified',
    'Export',
    `Backend peak RSS, exporting a ${(d.bytes / 1e9).toFixed(2)} GB de-identified ZIP`,
    `De-identified export (PS3.15 basic profile) of the same study right after the identified one, so it starts from the RSS that one left (${mbOf(d.bytes)} MB in ${(d.totalMs / 1000).toFixed(1)} s = ${fmt(d.mbPerS)} MB/s, build ${(d.buildMs / 1000).toFixed(1)} s)`,
    d.rss,
    { totalMs: d.totalMs, buildMs: d.buildMs, ttfbMs: d.ttfbMs, bytes: d.bytes },
  );
}

async function measureExport(ctx: Ctx): Promise<void> {
  if (!ctx.keptStudy) {
    log('  (no study kept from the import figures: importing one for the export)');
    const tags: Tags = { study: freshTag(), instances: freshTag(), patient: freshTag() };
    const zipPath = join(ctx.temp, 'export-study.zip');
    await writeZip(zipPath, zipEntries(ctx.base, tags));
    await gatewayImport(ctx, zipPath, ctx.base.length, 'export-study');
    rmSync(zipPath, { force: true });
    ctx.keptStudy = { uid: benchUid(tags.study, ROLE.study, 0), count: ctx.base.length };
  }
  const study = ctx.keptStudy;
  const orthancId = await orthancStudyId(ctx, study.uid);
  const orthancRuns: { totalMs: number; ttfbMs: number; bytes: number; mbPerS: number }[] = [];
  const oursRuns: ExportRun[] = [];
  const deidRuns: ExportRun[] = [];
  const orthanc = async () => {
    await quiet(ctx);
    const r = expectStatus(await timed(ctx.directAgent, ctx.direct.url, { path: `/studies/${orthancId}/archive` }), [200], 'Orthanc archive');
    orthancRuns.push({ totalMs: r.totalMs, ttfbMs: r.ttfbMs, bytes: r.bytes, mbPerS: r.bytes / MB / (r.totalMs / 1000) });
    log(`  Orthanc archive: ${mbOf(r.bytes)} MB in ${(r.totalMs / 1000).toFixed(1)} s, first byte after ${r.ttfbMs.toFixed(0)} ms`);
  };
  const ours = async (deidentify: boolean) => {
    await quiet(ctx);
    const r = await gatewayExport(ctx, study.uid, deidentify);
    if (r.files < study.count) throw new Error(`export wrote ${r.files} files for ${study.count} instances (flagged series: ${r.flagged})`);
    (deidentify ? deidRuns : oursRuns).push(r);
    log(`  export${deidentify ? ' (de-identified)' : ''}: ${mbOf(r.bytes)} MB in ${(r.totalMs / 1000).toFixed(1)} s (build ${(r.buildMs / 1000).toFixed(1)} s), first byte after ${r.ttfbMs.toFixed(0)} ms, RSS peak ${mbOf(r.rss.peakBytes)} MB`);
  };
  const steps = [() => ours(false), () => orthanc(), () => ours(true)];
  for (let run = 0; run < cfg.exportRuns; run += 1) for (let k = 0; k < steps.length; k += 1) await steps[(k + run) % steps.length]!();

  const studyBytes = ctx.base.reduce((n, b) => n + b.data.length, 0);
  const oursSummary = (runs: ExportRun[]) => runs.map(({ rss, ...rest }) => ({ ...rest, rssPeakMB: mbOf(peakOf(rss)), rssStartMB: mbOf(rss.startBytes) }));
  const common = `the kept ${study.count}-instance study (registered to the admin's group), ${cfg.exportRuns} runs of each kind, rotating their order, services idle before each. Ours: POST /api/exports {studyInstanceUids:[uid], format:"dicom"} as the admin, GET /api/exports/{id} every 100 ms until completed, then GET /api/exports/{id}/download through the gateway; anchor: GET /studies/{orthancId}/archive through the direct nginx (Orthanc streams the ZIP as it builds it).`;
  addFigure({
    id: 'export.identified.mbps',
    section: 'Export',
    metric: `Export ${study.count}-instance study, identified ZIP`,
    unit: 'MB/s',
    better: 'higher',
    ours: summarize(oursRuns.map((r) => r.mbPerS), 'higher'),
    anchor: summarize(orthancRuns.map((r) => r.mbPerS), 'higher'),
    target: { kind: 'ratio', op: '>=', value: 1.0 },
    method: `MB/s = ZIP bytes (10^6) / time from the request (ours: the POST, so the build counts) to the last byte of the ZIP; ${common} ZIP sizes: ours ${mbOf(oursRuns[0]?.bytes ?? 0)} MB (stored), Orthanc ${mbOf(orthancRuns[0]?.bytes ?? 0)} MB (Orthanc deflates its archive, so its ZIP is smaller and its ZIP MB/s understates the data it delivers: see the next row).`,
    extra: { runsOurs: oursSummary(oursRuns), runsAnchor: orthancRuns },
  });
  addFigure({
    id: 'export.identified.dicomMbps',
    section: 'Export',
    metric: '  … DICOM data delivered per second',
    unit: 'MB/s',
    better: 'higher',
    ours: summarize(oursRuns.map((r) => studyBytes / MB / (r.totalMs / 1000)), 'higher'),
    anchor: summarize(orthancRuns.map((r) => studyBytes / MB / (r.totalMs / 1000)), 'higher'),
    target: { kind: 'ratio', op: '>=', value: 1.0 },
    method: `The study's DICOM bytes (${mbOf(studyBytes)} MB, the same for both) / the same end-to-end times as the row above: throughput independent of how each side compresses its ZIP.`,
  });
  addFigure({
    id: 'export.identified.ttfb',
    section: 'Export',
    metric: '  … time to first byte',
    unit: 'ms',
    better: 'lower',
    ours: summarize(oursRuns.map((r) => r.ttfbMs), 'lower'),
    anchor: summarize(orthancRuns.map((r) => r.ttfbMs), 'lower'),
    method: `Ours: from the POST /api/exports to the first byte of the download (the ZIP is built completely first, so this is ≈ the build time: median build ${fmt(median(oursRuns.map((r) => r.buildMs)))} ms); Orthanc: from the GET to the first body byte. Same runs as above.`,
  });
  addFigure({
    id: 'export.deidentified.mbps',
    section: 'Export',
    metric: `Export ${study.count}-instance study, de-identified ZIP`,
    unit: 'MB/s',
    better: 'higher',
    ours: summarize(deidRuns.map((r) => r.mbPerS), 'higher'),
    anchor: summarize(orthancRuns.map((r) => r.mbPerS), 'higher'),
    anchorLabel: 'Orthanc archive (identified)',
    method: `As the identified export with deidentify: true (PS3.15 basic profile, default options); the anchor is the same Orthanc archive runs (Orthanc's own /anonymize is not comparable: it writes a new study). Flagged series: ${deidRuns[0]?.flagged ?? 0}. ZIP size ${mbOf(deidRuns[0]?.bytes ?? 0)} MB; median build ${fmt(median(deidRuns.map((r) => r.buildMs)))} ms; median first byte ${fmt(median(deidRuns.map((r) => r.ttfbMs)))} ms.`,
    extra: { runs: oursSummary(deidRuns) },
  });
  addFigure({
    id: 'export.study.rssPeak',
    section: 'Export',
    metric: `Backend peak RSS, exporting the ${study.count}-instance study`,
    unit: 'MB',
    better: 'lower',
    ours: summarize([...oursRuns, ...deidRuns].map((r) => peakOf(r.rss) / MB), 'lower'),
    anchor: null,
    method: 'Per export run above (identified and de-identified), from the POST to the download\'s last byte: the kernel\'s peak RSS of the backend (VmHWM, reset as the POST starts). Report only: the < 300 MB target is on the ~1 GB export.',
  });

}

type SegLine = { ok: boolean; grid: string; timesMs: number[]; medianMs: number; p95Ms: number; peakRssDeltaVsMask: number; peakRssDeltaMiB: number; maskMiB: number; frames: number; error?: string };

async function measureSeg(): Promise<unknown> {
  const args = ['--import', 'tsx', 'bench/seg-encode.ts', '--runs', String(cfg.segRuns), '--slices', String(cfg.segSlices)];
  // Through a small shell, not forked from this process: Linux carries a forked child's RSS
  // high-water mark (ru_maxrss, which seg-encode.ts reads) over from the parent, and this runner
  // holds the benchmark data (~1 GB): forked directly, the SEG memory figure came out ~6× too high.
  const child = spawn('/bin/sh', ['-c', '"$0" "$@"; exit $?', process.execPath, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const stopChild: Cleanup = { name: 'seg-encode', run: async () => void (child.exitCode === null && child.kill('SIGTERM')) };
  finalCleanups.push(stopChild);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  finalCleanups.splice(finalCleanups.indexOf(stopChild), 1);
  const line = JSON.parse(stdout.trim().split('\n').pop() || '{}') as SegLine;
  if (code !== 0 || !line.ok) throw new Error(`bench/seg-encode.ts exited ${code}: ${line.error ?? stdout.slice(-500)} ${stderr.slice(-500)}`);
  const method = `bench/seg-encode.ts --runs ${cfg.segRuns} --slices ${cfg.segSlices} in its own process (started through /bin/sh, see run.ts) after the stack was stopped: BINARY SEG of a ${line.grid} 3-label mask (${line.frames} frames).`;
  addFigure({ id: 'seg.encode.time', section: 'SEG', metric: `SEG encode time (${line.grid}, 3 labels)`, unit: 'ms', better: 'lower', ours: summarize(line.timesMs, 'lower'), anchor: null, target: { kind: 'absolute', op: '<', value: 2000, unit: 'ms' }, method });
  addFigure({
    id: 'seg.encode.memory',
    section: 'SEG',
    metric: 'SEG encode peak memory growth / mask size',
    unit: '×',
    better: 'lower',
    ours: summarize([line.peakRssDeltaVsMask], 'lower'),
    anchor: null,
    target: { kind: 'absolute', op: '<', value: 4, unit: '×' },
    method: `${method} Peak RSS growth ${line.peakRssDeltaMiB} MiB against the ${line.maskMiB} MiB mask.`,
  });
  return line;
}

async function machine(ctx: Ctx | null) {
  const cpu = cpus();
  let nginxVersion: string | null = null;
  try {
    const { stderr } = await execFileAsync(process.env.PD_NGINX_BIN ?? '/usr/sbin/nginx', ['-v']);
    nginxVersion = stderr.trim().replace(/^nginx version: (nginx\/)?/, '');
  } catch {
    nginxVersion = null;
  }
  let orthanc: unknown = null;
  let dicomweb: unknown = null;
  if (ctx) {
    try {
      orthanc = await directJson(ctx, 'GET', '/system');
      dicomweb = (await directJson<{ Version?: string }>(ctx, 'GET', '/plugins/dicom-web')).Version ?? null;
    } catch {
      /* reported as null */
    }
  }
  return {
    cpuModel: cpu[0]?.model ?? 'unknown',
    cpuCount: cpu.length,
    ramGB: round(totalmem() / 1e9, 1),
    freeRamGBAtStart: round(freemem() / 1e9, 1),
    loadAverageAtStart: loadavg().map((v) => round(v, 2)),
    kernel: release(),
    node: process.version,
    nginx: nginxVersion,
    orthancVersion: (orthanc as { Version?: string } | null)?.Version ?? null,
    orthancDicomWebPlugin: dicomweb,
    orthancSystem: orthanc,
  };
}

async function main(): Promise<number> {
  const started = new Date();
  const t0 = performance.now();
  log(`Preview-DICOM benchmark (${cfg.quick ? 'quick' : 'full'} mode): ${JSON.stringify(cfg)}`);
  const temp = mkdtempSync(join(tmpdir(), 'preview-dicom-bench-'));
  finalCleanups.push({
    name: 'temp folder',
    run: async () => {
      // Safety net: anything still running from our temp folder (normally nothing) is stopped first.
      const left = processesMentioning(temp);
      if (left.length) {
        log(`stopping ${left.length} leftover process(es): ${left.map((p) => `${p.pid} ${p.command.slice(0, 80)}`).join('; ')}`);
        await stopProcesses(left);
      }
      if (cfg.keepData) log(`kept ${temp}`);
      else rmSync(temp, { recursive: true, force: true });
    },
  });
  const holder: { ctx?: Ctx } = {};
  let machineInfo: Awaited<ReturnType<typeof machine>> | null = null;
  let seg: unknown = null;
  try {
    const ok = await section('setup (data, stack, direct nginx, users, seed)', async () => {
      holder.ctx = await setup({ temp });
    });
    if (ok && holder.ctx) {
      const c: Ctx = holder.ctx;
      machineInfo = await machine(c);
      const hold = Number(process.env.BENCH_HOLD_SECONDS ?? 0);
      if (hold > 0) {
        log(`holding ${hold} s for inspection: gateway ${c.gw} (researcher cookie: ${c.user.cookieHeader('/')}), direct ${c.direct.url}, series ${c.series.studyUid}/${c.series.seriesUid}`);
        await sleep(hold * 1000);
      }
      await section('1. DICOMweb: gateway vs direct', () => measureDicomweb(c));
      await section('4. API: /api/patients vs Orthanc /patients', () => measureApi(c));
      await section('2. Import', () => measureImport(c));
      await section('3a. Export: the ~1 GB study, backend memory', () => measureLargeExport(c));
      await section('3. Export', () => measureExport(c));
    }
  } finally {
    log('stopping the stack and the direct nginx');
    await stopServices();
  }
  await section('5. SEG encode', async () => {
    seg = await measureSeg();
  });
  machineInfo ??= await machine(null);

  const results = {
    benchmark: 'Preview-DICOM gateway vs Orthanc direct',
    date: started.toISOString(),
    durationS: Math.round((performance.now() - t0) / 1000),
    mode: cfg.quick ? 'quick' : 'full',
    settings: cfg,
    machine: machineInfo,
    notes: [
      'ours = through the Preview-DICOM gateway (nginx → backend/authorization → Orthanc); anchor = an nginx of the benchmark with the gateway\'s proxy settings straight to Orthanc (bench/lib/direct-nginx.ts).',
      'median and p95 are over the repeated runs (nearest rank). For rates (MB/s, inst/s, req/s, frames/s) the p95 column is the slow tail: the 5th percentile of the rates.',
      'ratio = ours median / anchor median; ratioInterval95 = its 95 % percentile-bootstrap interval (each side resampled 2,000 times; a seeded generator, so the same samples give the same interval). pairedRatio (figures whose sides alternated, sample i of each back to back) = median of the per-pair ratios and its 95 % interval (pairs resampled), which cancels a slowdown of the machine both samples of a pair shared; reported, the target is judged on ratio. Targets: latency ratio <= 1.1, throughput ratio >= 0.9 (DICOMweb), >= 0.8 (import), >= 1.0 (export, identified), peak backend RSS < 300 MB, SEG encode median < 2 s and memory growth < 4× the mask.',
      'Everything (stack, anchor nginx, load generator) shares the same machine; figures from a busy machine are noisier.',
    ],
    sections: sectionLog,
    loadAverageAtEnd: loadavg().map((v) => round(v, 2)),
    figures: ordered(),
    seg,
    errors,
  };
  // Microsecond precision is plenty (and keeps the file readable).
  const rounded = (_key: string, value: unknown) => (typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 1000) / 1000 : value);
  writeFileSync(cfg.resultsPath, `${JSON.stringify(results, rounded, 2)}\n`);
  await cleanupAll();

  const missed = figures.filter((f) => f.pass === false).length;
  process.stdout.write(`\nPreview-DICOM benchmark — ${results.mode} mode, ${started.toISOString()}, ${machineInfo.cpuCount} × ${machineInfo.cpuModel}, ${machineInfo.ramGB} GB RAM, Node ${machineInfo.node}, Orthanc ${machineInfo.orthancVersion ?? '?'} (DICOMweb ${machineInfo.orthancDicomWebPlugin ?? '?'}), nginx ${machineInfo.nginx ?? '?'}\n\n`);
  process.stdout.write(`${table()}\n\n`);
  process.stdout.write(`p95 of rates = the slow tail (5th percentile); the interval beside a ratio is its 95 % bootstrap interval (how far the run's noise could move it). ${figures.filter((f) => f.pass === true).length} targets met, ${missed} missed. Raw samples and methods: ${cfg.resultsPath}\n`);
  if (errors.length) {
    process.stdout.write(`\nCould not be measured:\n${errors.map((e) => `  - ${e.section}: ${e.error.split('\n')[0]}`).join('\n')}\n`);
    return 1;
  }
  return 0;
}

main()
  .then((code) => process.exit(code))
  .catch(async (error) => {
    log(`benchmark failed: ${(error as Error).stack ?? String(error)}`);
    await cleanupAll();
    process.exit(1);
  });
