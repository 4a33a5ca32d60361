// Segmentation end to end against real Orthanc, Redis and the reference inference service:
// series → NIfTI → model → SEG in Orthanc, read back voxel for voxel; retries, restarts, access.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInferenceServer } from '../../infra/inference/server.js';
import { findFreePorts } from '../../infra/src/ports.js';
import { readNpy } from '../src/inference/npy.js';
import { decodeSegToLabelMap } from '../src/inference/seg/decode.js';
import { readLabelMap } from '../src/inference/seg/seg-writer.js';
import { assembleVolume, buildGrid, niftiFromVolume, type SliceMeta } from '../src/inference/volume/volume.js';
import { createTestBackend, createUser, sameOrigin, signIn, startTestServices, testConfig, type TestBackend, type TestServices } from './harness.js';
import { folderFiles, form, freshUid, rewriteDicom } from './dicom.js';

type Job = { id: string; status: string; stage: string; error: string | null; attempts: number; resultId: string | null; studyInstanceUid: string };
type Result = { id: string; segSeriesUid: string; segSopInstanceUid: string; segments: { number: number; labelValue: number; label: string; voxelCount: number; volumeCm3: number }[]; validation: { status: string; comment: string | null } };

const MODEL = 'ct_body_lungs_bone';

/** Holds the first `hold` /infer requests until released, then passes everything to the real service. */
function holdingProxy(target: number, hold: number) {
  let held = 0;
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const server: Server = createServer(async (req, res) => {
    if (req.url?.startsWith('/infer') && held < hold) {
      held++;
      await released;
    }
    const upstream = httpRequest({ host: '127.0.0.1', port: target, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return { server, release, heldCount: () => held };
}

describe('segmentation jobs', () => {
  let services: TestServices;
  let backend: TestBackend;
  let inference: { port: number; close(): Promise<void> };
  let cookie: string;
  let groupId: string;
  let studyUid: string;
  let seriesUid: string;

  const api = (path: string, init: RequestInit & { cookie?: string; base?: TestBackend } = {}) =>
    (init.base ?? backend).app.request(path, { ...init, headers: { origin: sameOrigin.origin, cookie: init.cookie ?? cookie, ...(init.body && typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}), ...(init.headers as Record<string, string>) } });

  async function waitForJob(id: string, until: (job: Job) => boolean, base: TestBackend | null = backend, timeoutMs = 90_000, url?: string, as = cookie): Promise<Job> {
    const started = Date.now();
    for (;;) {
      const answer = url ? await fetch(`${url}/api/inference/jobs/${id}`, { headers: { cookie: as } }) : await api(`/api/inference/jobs/${id}`, { base: base!, cookie: as });
      if (answer.status !== 200) throw new Error(`GET job ${id}: ${answer.status} ${await answer.text()}`);
      const job = ((await answer.json()) as { job: Job }).job;
      if (until(job)) return job;
      if (Date.now() - started > timeoutMs) throw new Error(`job ${id} still ${job.status}/${job.stage}: ${job.error}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async function importSeries(files: { name: string; data: Buffer }[], modality = 'CT'): Promise<{ studyUid: string; seriesUid: string }> {
    const answer = await api(`/api/imports?groupId=${groupId}`, { method: 'POST', body: form(files) });
    expect(answer.status).toBe(201);
    const job = ((await answer.json()) as { import: { studies: { studyInstanceUid: string }[] } }).import;
    const uid = job.studies[0]!.studyInstanceUid;
    const study = ((await (await api(`/api/studies/${uid}`)).json()) as { study: { series: { seriesInstanceUid: string; modality: string }[] } }).study;
    return { studyUid: uid, seriesUid: study.series.find((s) => s.modality === modality)!.seriesInstanceUid };
  }

  beforeAll(async () => {
    services = await startTestServices();
    const [port] = await findFreePorts(1);
    inference = await startInferenceServer({ host: '127.0.0.1', port: port!, maxUploadBytes: 1024 ** 3 });
    backend = createTestBackend(services, { PD_INFERENCE_URL: `http://127.0.0.1:${inference.port}`, PD_INFERENCE_BACKOFF_MS: '200', PD_INFERENCE_ATTEMPTS: '2', PD_INFERENCE_LOCK_MS: '2000' });
    const user = await createUser(backend.deps, { email: 'segmenter@example.test', role: 'researcher', groups: ['Seg Lab'] });
    groupId = user.groupIds[0]!;
    cookie = (await signIn(backend, user.email, user.password)).cookie;
    ({ studyUid, seriesUid } = await importSeries(folderFiles('ct-volume-pancreas-tcia')));
  });

  afterAll(async () => {
    await backend?.close();
    await inference?.close();
    await services?.stop();
  });

  it('lists the models of the inference service', async () => {
    const answer = (await (await api('/api/inference/models')).json()) as { models: { name: string; labels: Record<string, number> }[] };
    expect(answer.models.find((m) => m.name === MODEL)?.labels).toMatchObject({ body: 1, lungs: 2, bone: 3 });
  });

  it('turns a CT series into a SEG in Orthanc that decodes to the model label map voxel for voxel, and passes dciodvfy', async () => {
    const submitted = await api('/api/inference/jobs', { method: 'POST', body: JSON.stringify({ seriesInstanceUids: [seriesUid], model: MODEL }) });
    expect(submitted.status).toBe(202);
    const job = ((await submitted.json()) as { job: Job }).job;
    const done = await waitForJob(job.id, (j) => j.status === 'completed' || j.status === 'failed');
    expect(done).toMatchObject({ status: 'completed', stage: 'done', error: null });

    // The same request again is the same job: no second SEG.
    const again = await api('/api/inference/jobs', { method: 'POST', body: JSON.stringify({ seriesInstanceUids: [seriesUid], model: MODEL }) });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { job: Job }).job.id).toBe(job.id);

    const { result } = (await (await api(`/api/segmentations/${done.resultId}`)).json()) as { result: Result };
    expect(result.segments.map((s) => s.label)).toEqual(expect.arrayContaining(['body', 'bone']));
    for (const segment of result.segments) expect(segment.volumeCm3).toBeGreaterThan(0);

    // Read the SEG back from Orthanc and compare with what the service answers for the same volume.
    const orthanc = backend.deps.orthanc;
    const lookup = async (uid: string) => (JSON.parse(await (await orthanc.raw('POST', '/tools/lookup', { headers: { 'content-type': 'text/plain' }, body: uid })).body.text()) as { ID: string; Type: string }[])[0]!;
    const segInstance = await lookup(result.segSopInstanceUid);
    const segFile = Buffer.from(await (await orthanc.raw('GET', `/instances/${segInstance.ID}/file`)).body.arrayBuffer());
    const sourceSeries = await lookup(seriesUid);
    const instances = (await orthanc.json<{ Instances: string[] }>('GET', `/series/${sourceSeries.ID}`)).Instances;
    const metas: SliceMeta[] = [];
    const values = new Map<string, Float32Array>();
    for (const id of instances) {
      const t = await orthanc.json<Record<string, string>>('GET', `/instances/${id}/simplified-tags`);
      const n = (v: string) => v.split('\\').map(Number);
      metas.push({ sopInstanceUid: t.SOPInstanceUID!, sopClassUid: t.SOPClassUID!, imagePositionPatient: n(t.ImagePositionPatient!) as never, imageOrientationPatient: n(t.ImageOrientationPatient!) as never, pixelSpacing: n(t.PixelSpacing!) as never, rows: Number(t.Rows), columns: Number(t.Columns) });
      values.set(t.SOPInstanceUID!, readNpy(Buffer.from(await (await orthanc.raw('GET', `/instances/${id}/numpy?rescale=true`)).body.arrayBuffer())).values);
    }
    const grid = buildGrid(metas);
    const volume = niftiFromVolume(grid, [assembleVolume(grid, values)]);
    const body = new FormData();
    body.append('params', '{}');
    body.append('file', new Blob([new Uint8Array(volume)]), 'image.nii');
    const expected = readLabelMap(Buffer.from(await (await fetch(`http://127.0.0.1:${inference.port}/infer/${MODEL}?output=image`, { method: 'POST', body })).arrayBuffer()));
    const decoded = decodeSegToLabelMap(segFile, grid);
    expect(decoded.length).toBe(expected.data.length);
    let mismatches = 0;
    for (let i = 0; i < expected.data.length; i++) if (decoded[i] !== expected.data[i]) mismatches++;
    expect(mismatches).toBe(0);
    // Volumes are voxel count × voxel volume.
    const voxelMm3 = grid.spacing[0] * grid.spacing[1] * grid.spacing[2];
    for (const segment of result.segments) {
      let count = 0;
      for (let i = 0; i < expected.data.length; i++) if (expected.data[i] === segment.labelValue) count++;
      expect(segment.voxelCount).toBe(count);
      expect(segment.volumeCm3).toBeCloseTo((count * voxelMm3) / 1000, 3);
    }

    const segPath = join(services.dir, 'seg.dcm');
    writeFileSync(segPath, segFile);
    let report = '';
    try {
      report = execFileSync('dciodvfy', [segPath], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      report = `${(error as { stdout?: string }).stdout ?? ''}${(error as { stderr?: string }).stderr ?? ''}`;
    }
    expect(report.split('\n').filter((line) => line.startsWith('Error -'))).toEqual([]);

    // The SEG is in the registry under the same study, and key slices render.
    const study = ((await (await api(`/api/studies/${studyUid}`)).json()) as { study: { series: { modality: string }[] } }).study;
    expect(study.series.filter((s) => s.modality === 'SEG')).toHaveLength(1);
    const slices = ((await (await api(`/api/segmentations/${result.id}/key-slices`)).json()) as { slices: { imageUrl: string; maskUrl: string }[] }).slices;
    expect(slices).toHaveLength(result.segments.length);
    for (const url of [slices[0]!.imageUrl, slices[0]!.maskUrl]) {
      const png = await api(url);
      expect(png.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await png.arrayBuffer()).subarray(1, 4).toString('latin1')).toBe('PNG');
    }
  });

  it('lets radiologists approve or reject (with a comment), and nobody outside the study see the result', async () => {
    const { results } = (await (await api(`/api/segmentations?studyInstanceUid=${studyUid}`)).json()) as { results: Result[] };
    const id = results[0]!.id;
    const radiologist = await createUser(backend.deps, { email: 'reader@example.test', role: 'radiologist', groups: ['Seg Lab'] });
    const readerCookie = (await signIn(backend, radiologist.email, radiologist.password)).cookie;
    const outsider = await createUser(backend.deps, { email: 'outsider@example.test', role: 'researcher', groups: ['Elsewhere'] });
    const outsiderCookie = (await signIn(backend, outsider.email, outsider.password)).cookie;

    expect((await api(`/api/segmentations/${id}/validation`, { method: 'POST', body: JSON.stringify({ decision: 'approved' }) })).status).toBe(403);
    const noComment = await api(`/api/segmentations/${id}/validation`, { method: 'POST', body: JSON.stringify({ decision: 'rejected' }), cookie: readerCookie });
    expect(noComment.status).toBe(400);
    expect(((await noComment.json()) as { error: { message: string } }).error.message).toMatch(/comment is required/);
    const rejected = await api(`/api/segmentations/${id}/validation`, { method: 'POST', body: JSON.stringify({ decision: 'rejected', comment: 'Bone leaks into the table.' }), cookie: readerCookie });
    expect(((await rejected.json()) as { result: Result }).result.validation).toMatchObject({ status: 'rejected', comment: 'Bone leaks into the table.' });
    const approved = await api(`/api/segmentations/${id}/validation`, { method: 'POST', body: JSON.stringify({ decision: 'approved' }), cookie: readerCookie });
    expect(((await approved.json()) as { result: Result }).result.validation.status).toBe('approved');
    const audit = backend.deps.db.$client.prepare("SELECT action FROM audit_log WHERE action LIKE 'segmentation.%' ORDER BY id").all() as { action: string }[];
    expect(audit.map((a) => a.action)).toEqual(['segmentation.reject', 'segmentation.approve']);

    expect((await api(`/api/segmentations/${id}`, { cookie: outsiderCookie })).status).toBe(404);
    expect((await api(`/api/segmentations/${id}/key-slices`, { cookie: outsiderCookie })).status).toBe(404);
    expect((await api(`/api/inference/jobs`, { method: 'POST', body: JSON.stringify({ seriesInstanceUids: [seriesUid], model: MODEL }), cookie: outsiderCookie })).status).toBe(404);
    expect((await api(`/api/inference/jobs`, { method: 'POST', body: JSON.stringify({ seriesInstanceUids: [seriesUid], model: MODEL }), cookie: readerCookie })).status).toBe(403);
    expect((await api(`/api/segmentations/${id}`, { method: 'DELETE', cookie: readerCookie })).status).toBe(403);
    expect(((await (await api('/api/segmentations', { cookie: outsiderCookie })).json()) as { results: unknown[] }).results).toEqual([]);
  });

  it('compares volumes across the patient\'s studies over time', async () => {
    // The same patient scanned again later: a new study of the same images.
    const later = freshUid();
    const series2 = freshUid();
    const files = folderFiles('ct-volume-pancreas-tcia')
      .filter((f) => f.name.endsWith('.dcm'))
      .map((f, i) => ({ name: `later/${i}.dcm`, data: rewriteDicom(f.data, { StudyInstanceUID: later, SeriesInstanceUID: series2, SOPInstanceUID: freshUid(), StudyDate: '20991231' }) }));
    const second = await importSeries(files);
    const job = ((await (await api('/api/inference/jobs', { method: 'POST', body: JSON.stringify({ seriesInstanceUids: [second.seriesUid], model: MODEL }) })).json()) as { job: Job }).job;
    const done = await waitForJob(job.id, (j) => j.status === 'completed' || j.status === 'failed');
    expect(done.status).toBe('completed');
    const { history } = (await (await api(`/api/segmentations/${done.resultId}`)).json()) as { history: { label: string; points: { studyDate: string; volumeCm3: number }[] }[] };
    const body = history.find((h) => h.label === 'body')!;
    expect(body.points).toHaveLength(2);
    expect(body.points[1]!.studyDate).toBe('20991231');
    expect(body.points[0]!.volumeCm3).toBeCloseTo(body.points[1]!.volumeCm3, 6);
  });

  it('refuses channels that are not on one grid, with a clear reason', async () => {
    const mr = await importSeries(folderFiles('mr-brain-t1-ge-refaced-40sl').map((f) => ({ ...f, data: rewriteDicom(f.data, { StudyInstanceUID: studyUid, PatientID: 'Pancreas-CT-CB_001', PatientName: 'Pancreas-CT-CB_001' }) })), 'MR');
    const answer = await api('/api/inference/jobs', { method: 'POST', body: JSON.stringify({ seriesInstanceUids: [seriesUid, mr.seriesUid], model: MODEL }) });
    expect(answer.status, await answer.clone().text()).toBe(202);
    const job = ((await answer.json()) as { job: Job }).job;
    const failed = await waitForJob(job.id, (j) => j.status === 'failed' || j.status === 'completed');
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/not on one grid/);
  });

  it('retries when the inference service is down, then fails with a reason a person understands', { timeout: 120_000 }, async () => {
    const [closedPort] = await findFreePorts(1);
    const down = createTestBackend(services, { PD_INFERENCE_URL: `http://127.0.0.1:${closedPort}`, PD_INFERENCE_BACKOFF_MS: '200', PD_INFERENCE_ATTEMPTS: '3' });
    try {
      const user = await createUser(down.deps, { email: 'down@example.test', role: 'researcher', groups: ['Down Lab'] });
      const downCookie = (await signIn(down, user.email, user.password)).cookie;
      const models = await api('/api/inference/models', { base: down, cookie: downCookie });
      expect(models.status).toBe(503);
      expect(((await models.json()) as { error: { message: string } }).error.message).toMatch(/cannot be reached/);
      // The service answers the submit, then goes away before the job runs.
      const proxy = holdingProxy(inference.port, 0);
      await new Promise<void>((resolve) => proxy.server.listen(closedPort, '127.0.0.1', resolve));
      const answer = await api(`/api/imports?groupId=${user.groupIds[0]}`, { method: 'POST', body: form(folderFiles('ct-volume-pancreas-tcia').slice(0, 4).map((f) => ({ ...f, data: rewriteDicom(f.data, { StudyInstanceUID: '1.2.826.0.1.3680043.8.498.4242', SeriesInstanceUID: '1.2.826.0.1.3680043.8.498.4243', SOPInstanceUID: freshUid() }) }))), base: down, cookie: downCookie });
      expect(answer.status).toBe(201);
      const submitted = await api('/api/inference/jobs', { method: 'POST', body: JSON.stringify({ seriesInstanceUids: ['1.2.826.0.1.3680043.8.498.4243'], model: MODEL }), base: down, cookie: downCookie });
      expect(submitted.status, await submitted.clone().text()).toBe(202);
      proxy.server.closeAllConnections();
      await new Promise((resolve) => proxy.server.close(resolve));
      const job = ((await submitted.json()) as { job: Job }).job;
      const failed = await waitForJob(job.id, (j) => j.status === 'failed' || j.status === 'completed', down, 90_000, undefined, downCookie);
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatch(/cannot be reached .* gave up after 3 attempts/);
      expect(failed.attempts).toBe(3);
    } finally {
      await down.close();
    }
  });

  it('finishes a job after the backend process is killed in the middle of it', { timeout: 240_000 }, async () => {
    const proxy = holdingProxy(inference.port, 1);
    const [proxyPort, backendPort] = await findFreePorts(2);
    await new Promise<void>((resolve) => proxy.server.listen(proxyPort, '127.0.0.1', resolve));
    const config = testConfig(services, {});
    const env = {
      ...process.env,
      PD_DATABASE_PATH: config.databasePath,
      PD_REDIS_URL: services.redis.url,
      PD_ORTHANC_URL: services.orthanc.url,
      PD_ORTHANC_USER: services.orthanc.user,
      PD_ORTHANC_PASSWORD: services.orthanc.password,
      PD_PUBLIC_URL: 'http://gateway.test',
      PD_JWT_SECRET: 'integration-test-jwt-secret-0123456789abcdef',
      PD_LOG_LEVEL: 'silent',
      PD_BACKEND_PORT: String(backendPort),
      PD_TMP_DIR: join(services.dir, 'tmp'),
      PD_INFERENCE_URL: `http://127.0.0.1:${proxyPort}`,
      PD_INFERENCE_LOCK_MS: '2000',
    };
    const url = `http://127.0.0.1:${backendPort}`;
    const startBackend = async (): Promise<ChildProcess> => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: join(import.meta.dirname, '..'), env, stdio: 'ignore' });
      for (let i = 0; i < 100; i++) {
        if (await fetch(`${url}/api/health/live`).then((r) => r.ok).catch(() => false)) return child;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error('backend did not start');
    };
    let child = await startBackend();
    try {
      // A user and a study in this backend's own database.
      const { createDeps } = await import('../src/lib/deps.js');
      const { createLogger } = await import('../src/lib/logger.js');
      const { loadConfig } = await import('../src/config.js');
      const deps = createDeps(loadConfig(env), createLogger('silent'));
      const user = await createUser(deps, { email: 'restart@example.test', role: 'researcher', groups: ['Restart Lab'] });
      const login = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: sameOrigin, body: JSON.stringify({ email: user.email, password: user.password }) });
      cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      const study3 = freshUid();
      const series3 = freshUid();
      const files = folderFiles('ct-volume-pancreas-tcia').filter((f) => f.name.endsWith('.dcm')).map((f) => ({ ...f, data: rewriteDicom(f.data, { StudyInstanceUID: study3, SeriesInstanceUID: series3, SOPInstanceUID: freshUid() }) }));
      const imported = await fetch(`${url}/api/imports?groupId=${user.groupIds[0]}`, { method: 'POST', headers: { origin: sameOrigin.origin, cookie }, body: form(files) });
      expect(imported.status).toBe(201);
      const submitted = await fetch(`${url}/api/inference/jobs`, { method: 'POST', headers: { ...sameOrigin, cookie }, body: JSON.stringify({ seriesInstanceUids: [series3], model: MODEL }) });
      const job = ((await submitted.json()) as { job: Job }).job;
      await waitForJob(job.id, (j) => j.stage === 'inferring', null, 60_000, url);
      // The stage is written just before the request goes out: let it reach the proxy.
      await expect.poll(() => proxy.heldCount(), { timeout: 10_000 }).toBe(1);
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      child = await startBackend();
      const done = await waitForJob(job.id, (j) => j.status === 'completed' || j.status === 'failed', null, 90_000, url);
      expect(done.status).toBe('completed');
      const results = deps.db.$client.prepare('SELECT COUNT(*) AS n FROM segmentation_results WHERE job_id = ?').get(job.id) as { n: number };
      expect(results.n).toBe(1);
      await deps.inferenceQueue.close();
      deps.redis.disconnect();
      deps.db.$client.close();
    } finally {
      proxy.release();
      child.kill('SIGKILL');
      proxy.server.closeAllConnections();
      await new Promise((resolve) => proxy.server.close(resolve));
    }
  });
});
