// Export bundles against real Orthanc, Redis and the reference inference service: identified
// round trip byte for byte, de-identification checked attribute by attribute against Table
// E.1-1, NIfTI geometry, burned-in exclusion, access, faults, the ledger.
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import * as nifti from 'nifti-reader-js';
import yauzl from 'yauzl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInferenceServer } from '../../infra/inference/server.js';
import { findFreePorts } from '../../infra/src/ports.js';
import { resolveAction, type DeidOption } from '../src/exports/deid/profile.js';
import { deidentificationTable } from '../src/exports/deid/table.js';
import { buildGrid, type SliceMeta } from '../src/inference/volume/volume.js';
import { createTestBackend, createUser, sameOrigin, signIn, startTestServices, type TestBackend, type TestServices } from './harness.js';
import { folderFiles, form, freshUid, rewriteDicom, sharedData } from './dicom.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
// @ts-ignore -- dcmjs ships no type declarations
import dcmjsUntyped from 'dcmjs';

type DcmjsData = { DicomMessage: { readFile(buffer: ArrayBuffer): { dict: Record<string, { vr: string; Value?: unknown[] }>; meta: Record<string, { vr: string; Value?: unknown[] }> } } };
const dcmjs = (dcmjsUntyped as { data: DcmjsData }).data;
type Dict = Record<string, { vr: string; Value?: unknown[] }>;
type Export = { id: string; status: string; error: string | null; downloadUrl: string | null; flaggedSeries: { seriesInstanceUid: string; reason: string; excluded: boolean }[] };

const readDicom = (data: Buffer) => dcmjs.DicomMessage.readFile(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer).dict;

async function unzip(zip: Buffer): Promise<Map<string, Buffer>> {
  const entries = new Map<string, Buffer>();
  const file = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(zip, { lazyEntries: true }, (e, z) => (e ? reject(e) : resolve(z!))));
  await new Promise<void>((resolve, reject) => {
    file.on('entry', (entry: yauzl.Entry) =>
      file.openReadStream(entry, async (error, stream) => {
        if (error) return reject(error);
        const chunks: Buffer[] = [];
        for await (const chunk of stream!) chunks.push(chunk as Buffer);
        entries.set(entry.fileName, Buffer.concat(chunks));
        file.readEntry();
      }),
    );
    file.on('end', resolve);
    file.on('error', reject);
    file.readEntry();
  });
  return entries;
}

/** Every element of a dataset, at any depth, with its path. */
function* walk(dict: Dict, path = ''): Generator<[string, string, { vr: string; Value?: unknown[] }]> {
  for (const [tag, element] of Object.entries(dict)) {
    yield [tag, `${path}/${tag}`, element];
    if (element.vr === 'SQ') for (const [i, item] of (element.Value ?? []).entries()) yield* walk(item as Dict, `${path}/${tag}[${i}]`);
  }
}

describe('export bundles', () => {
  let services: TestServices;
  let backend: TestBackend;
  let inference: { port: number; close(): Promise<void> };
  let cookie: string;
  let adminCookie: string;
  let groupId: string;
  let ctStudy: string;
  let ctSeries: string;
  let scStudy: string;
  const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

  /** ZIPs on disk that no completed export owns: half-written or left behind. */
  const strayZips = () => {
    const dir = join(services.dir, 'tmp', 'exports');
    const kept = new Set((backend.deps.db.$client.prepare("SELECT file_path AS path FROM export_jobs WHERE status = 'completed'").all() as { path: string }[]).map((r) => r.path));
    return (existsSync(dir) ? readdirSync(dir) : []).map((name) => join(dir, name)).filter((path) => !kept.has(path));
  };

  /** 6 studies × the 20 CT slices with fresh UIDs (imported once): enough that an export is still running when a test intervenes. */
  let manyStudies: string[] | null = null;
  async function importManyStudies(): Promise<string[]> {
    if (manyStudies) return manyStudies;
    const many = Array.from({ length: 6 }, () => {
      const study = freshUid();
      const seriesUid = freshUid();
      return folderFiles('ct-volume-pancreas-tcia')
        .filter((f) => f.name.endsWith('.dcm'))
        .map((f) => ({ ...f, name: `${study}/${f.name}`, data: rewriteDicom(f.data, { StudyInstanceUID: study, SeriesInstanceUID: seriesUid, SOPInstanceUID: freshUid() }) }));
    }).flat();
    const imported = ((await (await api(`/api/imports?groupId=${groupId}`, { method: 'POST', body: form(many) })).json()) as { import: { studies: { studyInstanceUid: string }[] } }).import;
    manyStudies = imported.studies.map((s) => s.studyInstanceUid);
    return manyStudies;
  }

  const api = (path: string, init: RequestInit & { cookie?: string } = {}) =>
    backend.app.request(path, { ...init, headers: { origin: sameOrigin.origin, cookie: init.cookie ?? cookie, ...(typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}), ...(init.headers as Record<string, string>) } });

  async function exportAndWait(body: Record<string, unknown>, who = cookie): Promise<Export> {
    const started = await api('/api/exports', { method: 'POST', body: JSON.stringify({ purpose: 'Registry study 42', recipient: 'Lab of Dr. Test', ...body }), cookie: who });
    expect(started.status, await started.clone().text()).toBe(202);
    const id = ((await started.json()) as { export: Export }).export.id;
    for (let i = 0; i < 400; i++) {
      const current = ((await (await api(`/api/exports/${id}`, { cookie: who })).json()) as { export: Export }).export;
      if (current.status !== 'running') return current;
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    throw new Error('export did not finish');
  }

  async function download(job: Export, who = cookie): Promise<Map<string, Buffer>> {
    const answer = await api(job.downloadUrl!, { cookie: who });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/zip');
    return unzip(Buffer.from(await answer.arrayBuffer()));
  }

  beforeAll(async () => {
    services = await startTestServices();
    const [port] = await findFreePorts(1);
    inference = await startInferenceServer({ host: '127.0.0.1', port: port!, log: () => undefined } as never);
    backend = createTestBackend(services, { PD_INFERENCE_URL: `http://127.0.0.1:${inference.port}` });
    const user = await createUser(backend.deps, { email: 'exporter@example.test', role: 'researcher', groups: ['Export Lab'] });
    groupId = user.groupIds[0]!;
    cookie = (await signIn(backend, user.email, user.password)).cookie;
    const admin = await createUser(backend.deps, { email: 'export-admin@example.test', role: 'admin' });
    adminCookie = (await signIn(backend, admin.email, admin.password)).cookie;

    const imported = await api(`/api/imports?groupId=${groupId}`, { method: 'POST', body: form(folderFiles('ct-volume-pancreas-tcia')) });
    ctStudy = ((await imported.json()) as { import: { studies: { studyInstanceUid: string }[] } }).import.studies[0]!.studyInstanceUid;
    const study = ((await (await api(`/api/studies/${ctStudy}`)).json()) as { study: { series: { seriesInstanceUid: string }[] } }).study;
    ctSeries = study.series[0]!.seriesInstanceUid;
    // A segmentation of it, so the export carries a SEG that must keep pointing at its source.
    const job = ((await (await api('/api/inference/jobs', { method: 'POST', body: JSON.stringify({ seriesInstanceUids: [ctSeries], model: 'ct_body_lungs_bone' }) })).json()) as { job: { id: string } }).job;
    for (let i = 0; i < 200; i++) {
      const state = ((await (await api(`/api/inference/jobs/${job.id}`)).json()) as { job: { status: string } }).job;
      if (state.status === 'completed') break;
      if (state.status === 'failed') throw new Error('segmentation failed');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // A secondary capture (often burned-in text) in a study of its own.
    scStudy = freshUid();
    const sc = rewriteDicom(readFileSync(join(sharedData, 'odd-encodings-pydicom/SC_rgb_jpeg_dcmtk.dcm')), { StudyInstanceUID: scStudy, SeriesInstanceUID: freshUid(), SOPInstanceUID: freshUid(), PatientID: 'SC-PATIENT', PatientName: 'Capture^Screen' });
    expect((await api(`/api/imports?groupId=${groupId}`, { method: 'POST', body: form([{ name: 'sc.dcm', data: sc }]) })).status).toBe(201);
  }, 180_000);

  afterAll(async () => {
    await backend?.close();
    await inference?.close();
    await services?.stop();
  });

  it('exports identified DICOM that re-imports into a fresh Orthanc byte for byte, with a manifest of SHA-256 sums', { timeout: 120_000 }, async () => {
    const job = await exportAndWait({ studyInstanceUids: [ctStudy] });
    expect(job).toMatchObject({ status: 'completed', error: null });
    const files = await download(job);
    const manifest = JSON.parse(files.get('manifest.json')!.toString()) as { schemaVersion: number; files: { path: string; sha256: string; bytes: number }[]; patients: { patientId: string; studies: { series: { instanceCount: number }[] }[] }[]; segmentations: { segments: { label: string; volumeCm3: number }[] }[] };
    expect(manifest.schemaVersion).toBe(1);
    expect(manifest.patients[0]!.patientId).toBe('Pancreas-CT-CB_001');
    expect(manifest.segmentations[0]!.segments.map((s) => s.label)).toEqual(expect.arrayContaining(['body', 'bone']));
    const dicomPaths = [...files.keys()].filter((p) => p.endsWith('.dcm'));
    expect(dicomPaths).toHaveLength(21); // 20 CT + 1 SEG
    for (const entry of manifest.files) expect(sha(files.get(entry.path)!)).toBe(entry.sha256);
    expect(dicomPaths.every((p) => /^[^/]+\/[^/]+\/[^/]+\/\d{4}\.dcm$/.test(p))).toBe(true);

    const fresh = await startTestServices();
    try {
      const auth = `Basic ${Buffer.from(`${fresh.orthanc.user}:${fresh.orthanc.password}`).toString('base64')}`;
      const original = backend.deps.orthanc;
      for (const path of dicomPaths) {
        const stored = (await (await fetch(`${fresh.orthanc.url}/instances`, { method: 'POST', headers: { authorization: auth }, body: new Uint8Array(files.get(path)!) })).json()) as { ID: string; Status: string };
        expect(stored.Status).toBe('Success');
        const back = Buffer.from(await (await fetch(`${fresh.orthanc.url}/instances/${stored.ID}/file`, { headers: { authorization: auth } })).arrayBuffer());
        const source = Buffer.from(await (await original.raw('GET', `/instances/${stored.ID}/file`)).body.arrayBuffer());
        expect(sha(back)).toBe(sha(source));
        expect(sha(back)).toBe(sha(files.get(path)!));
      }
    } finally {
      await fresh.stop();
    }
  });

  it('streams an instance larger than the fetch budget from Orthanc straight into the ZIP, byte for byte', { timeout: 120_000 }, async () => {
    const slice = folderFiles('ct-volume-pancreas-tcia').find((f) => f.name.endsWith('.dcm'))!.data;
    const renamed = rewriteDicom(slice, { StudyInstanceUID: freshUid(), SeriesInstanceUID: freshUid(), SOPInstanceUID: freshUid(), PatientID: 'BIG-INSTANCE', PatientName: 'Big^Instance' });
    // 40 MiB in a private attribute: over the export's 32 MiB fetch budget.
    const message = dcmjs.DicomMessage.readFile(renamed.buffer.slice(renamed.byteOffset, renamed.byteOffset + renamed.byteLength) as ArrayBuffer) as unknown as { dict: Dict; write(): ArrayBuffer };
    message.dict['00090010'] = { vr: 'LO', Value: ['PREVIEW DICOM TEST'] };
    message.dict['00091000'] = { vr: 'OB', Value: [new Uint8Array(40 * 1024 * 1024).fill(7).buffer] };
    const big = Buffer.from(message.write());
    const imported = await api(`/api/imports?groupId=${groupId}`, { method: 'POST', body: form([{ name: 'big.dcm', data: big }]) });
    expect(imported.status).toBe(201);
    const studyUid = ((await imported.json()) as { import: { studies: { studyInstanceUid: string }[] } }).import.studies[0]!.studyInstanceUid;

    const job = await exportAndWait({ studyInstanceUids: [studyUid] });
    expect(job.status).toBe('completed');
    const files = await download(job);
    const [path, data] = [...files.entries()].find(([p]) => p.endsWith('.dcm'))!;
    const orthanc = backend.deps.orthanc;
    const lookup = (JSON.parse(await (await orthanc.raw('POST', '/tools/lookup', { headers: { 'content-type': 'text/plain' }, body: String(readDicom(big)['00080018']!.Value![0]) })).body.text()) as { ID: string }[])[0]!;
    const stored = Buffer.from(await (await orthanc.raw('GET', `/instances/${lookup.ID}/file`)).body.arrayBuffer());
    expect(data.length).toBeGreaterThan(40 * 1024 * 1024);
    expect(sha(data)).toBe(sha(stored));
    const manifest = JSON.parse(files.get('manifest.json')!.toString()) as { files: { path: string; sha256: string; bytes: number }[] };
    expect(manifest.files).toEqual([{ path, sha256: sha(stored), bytes: stored.length }]);
  });

  it('de-identifies per PS3.15: every Table E.1-1 attribute by its action, no private tags, SEG → source intact, stable pseudonym, a manifest free of identifiers', { timeout: 120_000 }, async () => {
    const options = ['retainLongitudinalModifiedDates'];
    const job = await exportAndWait({ studyInstanceUids: [ctStudy], deidentify: true, deidOptions: options });
    expect(job.status).toBe('completed');
    const files = await download(job);
    const manifestText = files.get('manifest.json')!.toString();
    const dicoms = [...files.entries()].filter(([p]) => p.endsWith('.dcm'));
    expect(dicoms).toHaveLength(21);

    // Originals, by their SOP instance UID, to compare values.
    const originals = new Map<string, Dict>();
    const orthanc = backend.deps.orthanc;
    for (const id of await orthanc.json<string[]>('GET', '/instances')) {
      const dict = readDicom(Buffer.from(await (await orthanc.raw('GET', `/instances/${id}/file`)).body.arrayBuffer()));
      originals.set(String(dict['00080018']!.Value![0]), dict);
    }
    const originalUids = new Set<string>();
    for (const dict of originals.values()) for (const [, , el] of walk(dict)) if (el.vr === 'UI') for (const v of el.Value ?? []) if (!String(v).startsWith('1.2.840.10008.')) originalUids.add(String(v));
    const identifying = ['Pancreas-CT-CB_001', ctStudy, ctSeries];
    for (const value of identifying) expect(manifestText).not.toContain(value);

    const optionSet = new Set(options as DeidOption[]);
    let checked = 0;
    let segDict: Dict | null = null;
    const ctSeriesUids = new Set<string>();
    const ctFrames = new Set<string>();
    for (const [path, data] of dicoms) {
      expect(path).not.toMatch(/Pancreas/);
      const dict = readDicom(data);
      for (const [tag, where, element] of walk(dict)) {
        // No private attributes (odd groups), at any depth.
        expect(Number.parseInt(tag.slice(0, 4), 16) % 2, `private ${where} in ${path}`).toBe(0);
        const row = deidentificationTable.find((r) => r.tag === `(${tag.slice(0, 4)},${tag.slice(4)})`);
        if (!row) continue;
        checked++;
        const action = resolveAction(row, optionSet);
        if (action === 'remove') throw new Error(`${row.keyword} ${where} should have been removed (${path})`);
        if (action === 'uid' || (element.vr === 'UI' && action === 'references')) for (const v of element.Value ?? []) expect(originalUids.has(String(v)), `${row.keyword} kept an original UID`).toBe(false);
      }
      expect(dict['00120062']?.Value).toEqual(['YES']);
      const methodCodes = ((dict['00120064']?.Value ?? []) as Dict[]).map((item) => item['00080100']!.Value![0]);
      expect(methodCodes.sort()).toEqual(['113100', '113107']); // 113107: Retain Longitudinal Temporal Information Modified Dates Option (CID 7050)
      expect(dict['00100010']!.Value?.[0]).toMatchObject({ Alphabetic: expect.stringMatching(/^PD-/) });
      if (dict['00080060']!.Value![0] === 'SEG') segDict = dict;
      else {
        ctSeriesUids.add(String(dict['0020000E']!.Value![0]));
        ctFrames.add(String(dict['00200052']!.Value![0]));
        // Dates shifted by the patient's offset, not removed.
        expect(String(dict['00080020']!.Value![0])).toMatch(/^\d{8}$/);
        expect(String(dict['00080020']!.Value![0])).not.toBe(String([...originals.values()][0]!['00080020']?.Value?.[0]));
      }
    }
    expect(checked).toBeGreaterThan(200);
    // The SEG still points at its (de-identified) source series and frame of reference.
    expect(segDict).not.toBeNull();
    const referenced = ((segDict!['00081115']!.Value ?? []) as Dict[]).map((item) => String(item['0020000E']!.Value![0]));
    expect(referenced).toEqual([...ctSeriesUids]);
    expect(String(segDict!['00200052']!.Value![0])).toBe([...ctFrames][0]);

    // The same patient again: the same pseudonym.
    const again = await exportAndWait({ studyInstanceUids: [ctStudy], deidentify: true, deidOptions: options });
    const second = await download(again);
    const pseudonym = (files: Map<string, Buffer>) => JSON.parse(files.get('manifest.json')!.toString()).patients[0].patientId as string;
    expect(pseudonym(second)).toBe(pseudonym(files));
  });

  it('exports NIfTI volumes and label maps with the source geometry', { timeout: 120_000 }, async () => {
    const job = await exportAndWait({ studyInstanceUids: [ctStudy], format: 'nifti' });
    const files = await download(job);
    const volumes = [...files.keys()].filter((p) => p.startsWith('nifti/') && p.endsWith('.nii.gz'));
    expect(volumes).toHaveLength(2);
    const orthanc = backend.deps.orthanc;
    const metas: SliceMeta[] = [];
    const lookup = (JSON.parse(await (await orthanc.raw('POST', '/tools/lookup', { headers: { 'content-type': 'text/plain' }, body: ctSeries })).body.text()) as { ID: string }[])[0]!;
    for (const id of (await orthanc.json<{ Instances: string[] }>('GET', `/series/${lookup.ID}`)).Instances) {
      const t = await orthanc.json<Record<string, string>>('GET', `/instances/${id}/simplified-tags`);
      const n = (v: string) => v.split('\\').map(Number);
      metas.push({ sopInstanceUid: t.SOPInstanceUID!, sopClassUid: t.SOPClassUID!, imagePositionPatient: n(t.ImagePositionPatient!) as never, imageOrientationPatient: n(t.ImageOrientationPatient!) as never, pixelSpacing: n(t.PixelSpacing!) as never, rows: Number(t.Rows), columns: Number(t.Columns) });
    }
    const grid = buildGrid(metas);
    for (const path of volumes) {
      const raw = gunzipSync(files.get(path)!);
      const buffer = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
      const header = nifti.readHeader(buffer)!;
      expect(header.dims.slice(1, 4)).toEqual([grid.columns, grid.rows, grid.slices]);
      // sform (RAS) = the grid affine (LPS) with the first two rows negated.
      for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) expect(Math.abs(header.affine[r]![c]! - (r < 2 ? -1 : 1) * grid.affineLps[r]![c]!)).toBeLessThan(1e-3);
    }
    expect(volumes.some((p) => p.endsWith('_labels.nii.gz'))).toBe(true);
  });

  it('flags secondary captures and leaves them out of de-identified exports unless asked', { timeout: 60_000 }, async () => {
    const out = await exportAndWait({ studyInstanceUids: [scStudy], deidentify: true });
    expect(out.flaggedSeries).toEqual([expect.objectContaining({ excluded: true, reason: expect.any(String) })]);
    const files = await download(out);
    expect([...files.keys()].filter((p) => p.endsWith('.dcm'))).toEqual([]);
    expect(files.get('manifest.json')!.toString()).not.toMatch(/Capture\^Screen|SC-PATIENT/);
    const included = await exportAndWait({ studyInstanceUids: [scStudy], deidentify: true, includeBurnedIn: true });
    expect(included.flaggedSeries[0]!.excluded).toBe(false);
    expect([...(await download(included)).keys()].filter((p) => p.endsWith('.dcm'))).toHaveLength(1);
  });

  it('refuses empty selections, invisible studies and other people, and audits every step', async () => {
    const post = (body: Record<string, unknown>, who = cookie) => api('/api/exports', { method: 'POST', body: JSON.stringify({ purpose: 'Checking rights', recipient: 'Nobody', ...body }), cookie: who });
    expect((await post({})).status).toBe(400);
    const outsider = await createUser(backend.deps, { email: 'no-export@example.test', role: 'researcher', groups: ['Elsewhere'] });
    const outsiderCookie = (await signIn(backend, outsider.email, outsider.password)).cookie;
    const refused = await post({ studyInstanceUids: [ctStudy] }, outsiderCookie);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/refused as a whole/);
    const reader = await createUser(backend.deps, { email: 'reader-export@example.test', role: 'radiologist', groups: ['Export Lab'] });
    expect((await post({ studyInstanceUids: [ctStudy] }, (await signIn(backend, reader.email, reader.password)).cookie)).status).toBe(403);
    expect((await post({ studyInstanceUids: [ctStudy], deidOptions: ['cleanDescriptors'] })).status).toBe(400);

    const mine = await exportAndWait({ studyInstanceUids: [ctStudy] });
    expect((await api(mine.downloadUrl!, { cookie: outsiderCookie })).status).toBe(404);
    // Single user: not even an admin downloads someone else's bundle.
    expect((await api(mine.downloadUrl!, { cookie: adminCookie })).status).toBe(404);
    expect((await api(`/api/exports/${mine.id}`, { cookie: outsiderCookie })).status).toBe(404);

    // A client that goes away mid-download does not hurt the next one.
    const partial = await api(mine.downloadUrl!);
    const reader2 = partial.body!.getReader();
    await reader2.read();
    await reader2.cancel();
    const whole = await api(mine.downloadUrl!);
    expect(Buffer.from(await whole.arrayBuffer()).length).toBe(Number(whole.headers.get('content-length')));

    const actions = (backend.deps.db.$client.prepare("SELECT action FROM audit_log WHERE target_id = ? ORDER BY id").all(mine.id) as { action: string }[]).map((a) => a.action);
    expect(actions.slice(0, 2)).toEqual(['export.start', 'export.complete']);
    expect(actions.filter((a) => a === 'export.download').length).toBeGreaterThanOrEqual(2);
  });

  it('keeps a data-use ledger that admins read per group and per recipient', async () => {
    const answer = await api('/api/admin/ledger', { cookie: adminCookie });
    expect(answer.status).toBe(200);
    const ledger = (await answer.json()) as { byGroup: { groupId: string; studies: number; deidentifiedStudies: number }[]; byRecipient: { recipient: string; exports: number }[] };
    const group = ledger.byGroup.find((g) => g.groupId === groupId)!;
    expect(group.studies).toBeGreaterThanOrEqual(5);
    expect(group.deidentifiedStudies).toBeGreaterThanOrEqual(2);
    expect(ledger.byRecipient.find((r) => r.recipient === 'Lab of Dr. Test')!.exports).toBeGreaterThanOrEqual(5);
    expect((await api('/api/admin/ledger')).status).toBe(403);
  });

  it('stops a cancelled export in the middle of its instances, deletes the partial ZIP and audits the cancel', { timeout: 120_000 }, async () => {
    const studyUids = await importManyStudies();
    // Orthanc frozen from the start, so the export is surely still running when it is cancelled.
    const orthancPid = services.orthanc.proc.pid!;
    let id: string;
    process.kill(orthancPid, 'SIGSTOP');
    try {
      const started = await api('/api/exports', { method: 'POST', body: JSON.stringify({ purpose: 'Cancel test', recipient: 'Nobody', studyInstanceUids: studyUids }) });
      id = ((await started.json()) as { export: Export }).export.id;
      const cancelled = await api(`/api/exports/${id}/cancel`, { method: 'POST' });
      expect(cancelled.status).toBe(200);
      // Its ZIP is being written (opened, still empty).
      for (let i = 0; i < 50 && !strayZips().length; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(strayZips()).toHaveLength(1);
    } finally {
      process.kill(orthancPid, 'SIGCONT');
    }
    // Resumed, the run notices the cancellation between instances and cleans up.
    for (let i = 0; i < 200 && strayZips().length; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(strayZips()).toEqual([]);
    const job = ((await (await api(`/api/exports/${id}`)).json()) as { export: Export }).export;
    expect(job).toMatchObject({ status: 'cancelled', downloadUrl: null });
    expect((await api(`/api/exports/${id}/download`)).status).toBe(409);
    const actions = (backend.deps.db.$client.prepare('SELECT action FROM audit_log WHERE target_id = ? ORDER BY id').all(id) as { action: string }[]).map((a) => a.action);
    expect(actions).toEqual(['export.start', 'export.cancel']);
    // Nothing is left stuck: the same selection exports completely right after.
    expect((await exportAndWait({ studyInstanceUids: studyUids })).status).toBe('completed');
  });

  it('fails clearly when Orthanc stops mid-export and offers no partial ZIP', { timeout: 120_000 }, async () => {
    // Enough instances that the export is still running when Orthanc goes away.
    const studyUids = await importManyStudies();
    const started = await api('/api/exports', { method: 'POST', body: JSON.stringify({ purpose: 'Fault test', recipient: 'Nobody', studyInstanceUids: studyUids, format: 'both' }) });
    const id = ((await started.json()) as { export: Export }).export.id;
    await services.orthanc.stop();
    let job: Export;
    for (;;) {
      job = ((await (await api(`/api/exports/${id}`)).json()) as { export: Export }).export;
      if (job.status !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await services.orthanc.restart();
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/The export stopped: .*No partial ZIP is offered/);
    expect(job.downloadUrl).toBeNull();
    expect((await api(`/api/exports/${id}/download`)).status).toBe(409);
    expect(strayZips()).toEqual([]);
  });
});
