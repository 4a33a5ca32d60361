// Load/soak run through the gateway: simulated OHIF viewers and concurrent imports against
// a whole stack, with latency percentiles per request kind. Not part of the normal tests.
//
//   npm run test:soak                       # launches its own stack in a temp folder (as ./stack up does)
//   npm run test:soak -- --duration 120 --viewers 80 --imports 5
//   npm run test:soak -- --url http://localhost:8080 --email admin@… --password …   # an already running stack
//
// Each viewer: QIDO studies → QIDO series of one study → that series' /metadata → every frame of
// the series (multipart/related octet-stream, as OHIF asks), a few at a time; then again. Each
// importer: a ZIP of 100 fresh-UID CT instances (5 series × 20 real slices) through /api/imports,
// then again. Any failed request (network error, non-2xx, an import that did not store all 100)
// counts as an error; the run exits 1 if there was any. Prints a table and writes soak/results.json.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, fetch as undiciFetch, FormData as UndiciFormData } from 'undici';
import yazl from 'yazl';
import { treeRssBytes } from '../bench/lib/proc.js';
import { launchStack, printedAdminPassword, servicePids, stackEnvironment, stopStack, type StackProcess } from '../frontend/e2e/stack-process.js';

const here = import.meta.dirname;
const sharedData = resolve(here, '../../shared/data');

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    email: { type: 'string' },
    password: { type: 'string' },
    duration: { type: 'string', default: '60' },
    viewers: { type: 'string', default: '50' },
    imports: { type: 'string', default: '5' },
    'frame-concurrency': { type: 'string', default: '4' },
    out: { type: 'string', default: join(here, 'results.json') },
  },
});
const DURATION_MS = Number(args.duration) * 1000;
const VIEWERS = Number(args.viewers);
const IMPORTERS = Number(args.imports);
const FRAME_CONCURRENCY = Number(args['frame-concurrency']);
const INSTANCES_PER_IMPORT = 100;

// One connection pool for the whole run (like browsers sharing a host's connections, but more of them).
const dispatcher = new Agent({ connections: 512, keepAliveTimeout: 30_000, pipelining: 1 });

type Kind = 'qido-studies' | 'qido-series' | 'metadata' | 'frame' | 'import';
type Sample = { ms: number; bytes: number };
const samples: Record<Kind, Sample[]> = { 'qido-studies': [], 'qido-series': [], metadata: [], frame: [], import: [] };
const errors: Record<Kind, number> = { 'qido-studies': 0, 'qido-series': 0, metadata: 0, frame: 0, import: 0 };
const errorExamples: string[] = [];

function fail(kind: Kind, message: string): void {
  errors[kind]++;
  if (errorExamples.length < 30) errorExamples.push(`${kind}: ${message}`);
}

/** A timed request; returns the body, or null (and counts an error) when it failed. */
async function timed(kind: Kind, url: string, init: { cookie: string; method?: string; headers?: Record<string, string>; body?: unknown; timeoutMs?: number }, check?: (status: number, body: Buffer) => string | null): Promise<Buffer | null> {
  const started = performance.now();
  try {
    const response = await undiciFetch(url, {
      method: init.method ?? 'GET',
      headers: { cookie: init.cookie, ...(init.headers ?? {}) },
      body: init.body as never,
      dispatcher,
      signal: AbortSignal.timeout(init.timeoutMs ?? 60_000),
    });
    const body = Buffer.from(await response.arrayBuffer());
    const ms = performance.now() - started;
    const problem = response.status >= 300 ? `${response.status} ${url.slice(0, 160)} ${body.toString('utf8', 0, 200)}` : (check?.(response.status, body) ?? null);
    if (problem) {
      fail(kind, problem);
      return null;
    }
    samples[kind].push({ ms, bytes: body.length });
    return body;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? '';
    fail(kind, `${(error as Error).message} ${cause} ${url.slice(0, 160)}`);
    return null;
  }
}

// ------------------------------------------------------------------ fresh-UID instances, fast

/** Where a UID element's value sits in a file (implicit or explicit VR little endian), found by its tag. */
function uidValueAt(file: Buffer, group: number, element: number, from: number): { at: number; length: number } | null {
  const tag = Buffer.alloc(4);
  tag.writeUInt16LE(group, 0);
  tag.writeUInt16LE(element, 2);
  for (let at = file.indexOf(tag, from); at >= 0; at = file.indexOf(tag, at + 1)) {
    const explicit = file.toString('latin1', at + 4, at + 6) === 'UI';
    const length = explicit ? file.readUInt16LE(at + 6) : file.readUInt32LE(at + 4);
    const start = at + (explicit ? 8 : 8);
    if (length > 0 && length <= 64 && /^[0-9.]+\0?$/.test(file.toString('latin1', start, start + length))) return { at: start, length };
  }
  return null;
}

type Template = { data: Buffer; meta: { at: number; length: number }; study: { at: number; length: number }; series: { at: number; length: number }; sop: { at: number; length: number } };

function templates(): Template[] {
  const folder = join(sharedData, 'ct-volume-pancreas-tcia');
  return readdirSync(folder)
    .filter((name) => name.endsWith('.dcm'))
    .sort()
    .map((name) => {
      const data = readFileSync(join(folder, name));
      const meta = uidValueAt(data, 0x0002, 0x0003, 132);
      const study = uidValueAt(data, 0x0020, 0x000d, 132 + 100);
      const series = uidValueAt(data, 0x0020, 0x000e, 132 + 100);
      const sop = uidValueAt(data, 0x0008, 0x0018, 132 + 100);
      if (!meta || !study || !series || !sop) throw new Error(`cannot find the UIDs in ${name}`);
      return { data, meta, study, series, sop };
    });
}

let uidCounter = 0;
/** A new UID of exactly `length` characters (the value keeps its length and padding). */
function uidOfLength(length: number): string {
  const digits = `${Date.now()}${process.pid}${++uidCounter}${Math.random().toString().slice(2)}${Math.random().toString().slice(2)}`.replace(/^0+/, '');
  const base = `2.25.${digits}`.padEnd(length, '7');
  return base.slice(0, length).replace(/\.$/, '7');
}

function writeUid(file: Buffer, where: { at: number; length: number }, uid: string): void {
  const padded = where.length;
  const text = uid.slice(0, file[where.at + padded - 1] === 0 ? padded - 1 : padded);
  file.write(text, where.at, 'latin1');
}

async function freshStudyZip(slices: Template[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const studyUid = uidOfLength(slices[0]!.study.length - (slices[0]!.data[slices[0]!.study.at + slices[0]!.study.length - 1] === 0 ? 1 : 0));
  for (let s = 0; s < INSTANCES_PER_IMPORT / slices.length; s++) {
    const seriesUid = uidOfLength(slices[0]!.series.length);
    for (const [i, slice] of slices.entries()) {
      const data = Buffer.from(slice.data);
      const sopUid = uidOfLength(slice.sop.length);
      writeUid(data, slice.study, studyUid);
      writeUid(data, slice.series, seriesUid);
      writeUid(data, slice.sop, sopUid);
      writeUid(data, slice.meta, sopUid);
      zip.addBuffer(data, `soak/series${s}/${i}.dcm`, { compress: false });
    }
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

// ------------------------------------------------------------------ the stack and its users

async function login(base: string, email: string, password: string): Promise<string> {
  const response = await undiciFetch(`${base}/api/auth/login`, { method: 'POST', headers: { origin: base, 'content-type': 'application/json' }, body: JSON.stringify({ email, password }), dispatcher });
  if (response.status !== 200) throw new Error(`sign-in of ${email}: ${response.status} ${await response.text()}`);
  return response.headers.getSetCookie().map((c) => c.split(';')[0]!).join('; ');
}

async function api<T>(base: string, cookie: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await undiciFetch(`${base}${path}`, { method, headers: { cookie, origin: base, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body), dispatcher });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : null) as T;
}

/** Signs the admin in (changing a first-start password), makes a Soak group and a researcher in it. */
async function prepareUsers(base: string, email: string, password: string): Promise<{ researcher: { email: string; password: string }; groupId: string }> {
  let adminCookie = await login(base, email, password);
  const session = await api<{ user: { mustChangePassword: boolean } }>(base, adminCookie, 'GET', '/api/auth/session');
  if (session.user.mustChangePassword) {
    await api(base, adminCookie, 'POST', '/api/auth/change-password', { currentPassword: password, newPassword: 'soak-admin-secret-password-2026' });
    adminCookie = await login(base, email, 'soak-admin-secret-password-2026');
  }
  const suffix = Date.now().toString(36);
  const group = await api<{ group: { id: string } }>(base, adminCookie, 'POST', '/api/admin/groups', { name: `Soak ${suffix}` });
  const created = await api<{ password: string }>(base, adminCookie, 'POST', '/api/admin/users', { email: `soak.${suffix}@soak.test`, displayName: 'Soak viewer', role: 'researcher', groupIds: [group.group.id] });
  const researcher = { email: `soak.${suffix}@soak.test`, password: 'soak-researcher-secret-2026' };
  const first = await login(base, researcher.email, created.password);
  await api(base, first, 'POST', '/api/auth/change-password', { currentPassword: created.password, newPassword: researcher.password });
  return { researcher, groupId: group.group.id };
}

/** The studies viewers load: the 20-slice CT, the 40-slice MR and the 3-slice CT, imported once. */
async function seed(base: string, cookie: string, groupId: string): Promise<void> {
  for (const folder of ['ct-volume-pancreas-tcia', 'mr-brain-t1-ge-refaced-40sl', 'seg-dcmqi-ct3slice/ct']) {
    const form = new UndiciFormData();
    const dir = join(sharedData, folder);
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.dcm'))) form.append('file', new Blob([new Uint8Array(readFileSync(join(dir, name)))]), name);
    const response = await undiciFetch(`${base}/api/imports?groupId=${groupId}`, { method: 'POST', headers: { cookie, origin: base }, body: form, dispatcher });
    if (response.status !== 201) throw new Error(`seeding ${folder}: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  }
}

// ------------------------------------------------------------------ the simulated users

type DicomJson = Record<string, { Value?: unknown[] }>;
const value = (item: DicomJson, tag: string) => item[tag]?.Value?.[0] as string | undefined;
const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!;
const FRAME_ACCEPT = 'multipart/related; type=application/octet-stream; transfer-syntax=*';
const QIDO_FIELDS = 'includefield=00081030%2C00080060%2C00080020%2C00100010%2C00100020';

async function viewer(base: string, cookie: string, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const studiesBody = await timed('qido-studies', `${base}/dicom-web/studies?limit=101&offset=0&fuzzymatching=false&${QIDO_FIELDS}`, { cookie, headers: { accept: 'application/dicom+json' } });
    if (!studiesBody) continue;
    const studies = JSON.parse(studiesBody.toString('utf8')) as DicomJson[];
    if (!studies.length) {
      fail('qido-studies', 'no studies listed');
      continue;
    }
    const study = value(pick(studies), '0020000D')!;
    const seriesBody = await timed('qido-series', `${base}/dicom-web/studies/${study}/series`, { cookie, headers: { accept: 'application/dicom+json' } });
    if (!seriesBody) continue;
    const series = (JSON.parse(seriesBody.toString('utf8')) as DicomJson[]).filter((s) => ['CT', 'MR'].includes(value(s, '00080060') ?? ''));
    if (!series.length) continue;
    const seriesUid = value(pick(series), '0020000E')!;
    const metadataBody = await timed('metadata', `${base}/dicom-web/studies/${study}/series/${seriesUid}/metadata`, { cookie, headers: { accept: 'application/dicom+json' } });
    if (!metadataBody) continue;
    const instances = (JSON.parse(metadataBody.toString('utf8')) as DicomJson[]).map((m) => value(m, '00080018')!).filter(Boolean);
    let next = 0;
    const lane = async () => {
      while (next < instances.length && Date.now() < deadline) {
        const sop = instances[next++]!;
        await timed('frame', `${base}/dicom-web/studies/${study}/series/${seriesUid}/instances/${sop}/frames/1`, { cookie, headers: { accept: FRAME_ACCEPT } }, (_status, body) => (body.length > 1000 ? null : `frame of ${body.length} bytes`));
      }
    };
    await Promise.all(Array.from({ length: FRAME_CONCURRENCY }, lane));
  }
}

async function importer(base: string, cookie: string, groupId: string, slices: Template[], deadline: number): Promise<number> {
  let done = 0;
  while (Date.now() < deadline) {
    const zip = await freshStudyZip(slices);
    const form = new UndiciFormData();
    form.append('file', new Blob([new Uint8Array(zip)]), `soak-${Date.now()}.zip`);
    const ok = await timed('import', `${base}/api/imports?groupId=${groupId}`, { cookie, method: 'POST', headers: { origin: base }, body: form, timeoutMs: 300_000 }, (_status, body) => {
      const job = (JSON.parse(body.toString('utf8')) as { import: { status: string; counters: { instancesStored: number; rejected: number } } }).import;
      return job.status === 'completed' && job.counters.instancesStored === INSTANCES_PER_IMPORT && job.counters.rejected === 0 ? null : `import ${job.status} ${JSON.stringify(job.counters)}`;
    });
    if (ok) done++;
  }
  return done;
}

// ------------------------------------------------------------------ figures

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** A service's resident memory with its direct children's: nginx works in its workers, not its master. */
function rssMb(pid: number | undefined): number | null {
  const bytes = pid ? treeRssBytes(pid) : null;
  return bytes === null ? null : bytes / 1024 / 1024;
}

async function main(): Promise<void> {
  let stack: StackProcess | undefined;
  let env: Record<string, string> | undefined;
  let base = args.url?.replace(/\/+$/, '') ?? '';
  let email = args.email ?? '';
  let password = args.password ?? '';
  const cleanup = async () => {
    await dispatcher.close().catch(() => undefined);
    if (stack) await stopStack(stack, env);
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    if (!base) {
      console.log('Launching a stack in a temporary folder (as ./stack up does)...');
      env = await stackEnvironment();
      stack = await launchStack(env);
      base = stack.url;
      email = 'first.admin@e2e.test';
      password = printedAdminPassword(stack.output())!;
    }
    if (!email || !password) throw new Error('With --url, give --email and --password of an admin.');
    const { researcher, groupId } = await prepareUsers(base, email, password);
    const seedCookie = await login(base, researcher.email, researcher.password);
    console.log('Seeding the studies the viewers load...');
    await seed(base, seedCookie, groupId);
    const viewerCookies: string[] = [];
    for (let i = 0; i < VIEWERS; i++) viewerCookies.push(await login(base, researcher.email, researcher.password));
    const slices = templates();
    const pids = env ? servicePids(env.PD_RUNTIME_DIR!) : {};

    console.log(`Running ${VIEWERS} viewers and ${IMPORTERS} importers against ${base} for ${DURATION_MS / 1000} s...`);
    const startedAt = Date.now();
    const deadline = startedAt + DURATION_MS;
    const peaks: Record<string, number> = {};
    const sampler = setInterval(() => {
      for (const [name, pid] of Object.entries(pids)) {
        const rss = rssMb(pid);
        if (rss !== null) peaks[name] = Math.max(peaks[name] ?? 0, rss);
      }
    }, 1_000);
    const [, importCounts] = await Promise.all([
      Promise.all(viewerCookies.map((cookie) => viewer(base, cookie, deadline))),
      Promise.all(Array.from({ length: IMPORTERS }, (_, i) => importer(base, viewerCookies[i % viewerCookies.length]!, groupId, slices, deadline))),
    ]);
    clearInterval(sampler);
    const elapsedS = (Date.now() - startedAt) / 1000;

    const rows = (Object.keys(samples) as Kind[]).map((kind) => {
      const ms = samples[kind].map((s) => s.ms).sort((a, b) => a - b);
      const bytes = samples[kind].reduce((n, s) => n + s.bytes, 0);
      return {
        kind,
        requests: ms.length,
        errors: errors[kind],
        perSecond: +(ms.length / elapsedS).toFixed(1),
        p50ms: +percentile(ms, 50).toFixed(1),
        p95ms: +percentile(ms, 95).toFixed(1),
        p99ms: +percentile(ms, 99).toFixed(1),
        maxMs: +(ms[ms.length - 1] ?? NaN).toFixed(1),
        mbPerSecond: +(bytes / 1024 / 1024 / elapsedS).toFixed(2),
      };
    });
    const totalErrors = Object.values(errors).reduce((a, b) => a + b, 0);
    const results = {
      at: new Date().toISOString(),
      target: base,
      launchedStack: Boolean(stack),
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      settings: { durationS: DURATION_MS / 1000, viewers: VIEWERS, importers: IMPORTERS, frameConcurrencyPerViewer: FRAME_CONCURRENCY, instancesPerImport: INSTANCES_PER_IMPORT },
      elapsedS: +elapsedS.toFixed(1),
      importsCompleted: importCounts.reduce((a, b) => a + b, 0),
      instancesImported: importCounts.reduce((a, b) => a + b, 0) * INSTANCES_PER_IMPORT,
      peakRssMb: Object.fromEntries(Object.entries(peaks).map(([k, v]) => [k, Math.round(v)])),
      totals: { requests: rows.reduce((n, r) => n + r.requests, 0), errors: totalErrors, perSecond: +(rows.reduce((n, r) => n + r.requests, 0) / elapsedS).toFixed(1) },
      kinds: rows,
      errorExamples,
    };
    console.log('');
    console.table(Object.fromEntries(rows.map(({ kind, ...rest }) => [kind, rest])));
    console.log(`${results.totals.requests} requests in ${results.elapsedS} s (${results.totals.perSecond}/s), ${totalErrors} errors; ${results.importsCompleted} imports of ${INSTANCES_PER_IMPORT} instances; peak RSS MB ${JSON.stringify(results.peakRssMb)}`);
    if (errorExamples.length) console.log(`errors, first ones:\n  ${errorExamples.join('\n  ')}`);
    writeFileSync(args.out!, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`written to ${args.out}`);
    process.exitCode = totalErrors > 0 || rows.some((r) => r.requests === 0) ? 1 : 0;
  } finally {
    await cleanup();
  }
}

await main();
