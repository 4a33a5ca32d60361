// Imports against real Orthanc and Redis: files, folders, ZIPs, NIfTI, bad input, and the registry they fill.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { describe, expect, it, beforeAll } from 'vitest';
import yazl from 'yazl';
import { openNifti } from '../src/imports/nifti/nifti-volume.js';
import { createTestBackend, createUser, ensureGroup, sameOrigin, signIn, useTestBackend } from './harness.js';
import { folderFiles, form, freshUid, rewriteDicom, sharedData, stowBody } from './dicom.js';

type Job = {
  id: string;
  status: string;
  counters: { filesReceived: number; instancesStored: number; duplicates: number; rejected: number; skipped: number; bytesReceived: number };
  warnings: string[];
  studies: { studyInstanceUid: string; patientKey: string | null; patientName: string }[];
};
type FileResult = { name: string; outcome: string; reason: string | null; instances: number };

type NamedFile = { name: string; data: Buffer };

/** A ZIP made in memory; `rename` swaps entry names after writing (yazl refuses hostile names itself). */
async function zipOf(files: NamedFile[], rename: Record<string, string> = {}, compress = true): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const file of files) zip.addBuffer(file.data, file.name, { compress });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  let data = Buffer.concat(chunks);
  for (const [from, to] of Object.entries(rename)) {
    expect(from.length).toBe(to.length);
    let at = data.indexOf(from);
    while (at >= 0) {
      data.write(to, at, 'latin1');
      at = data.indexOf(from, at + 1);
    }
  }
  return data;
}

const file = (path: string, name = path): NamedFile => ({ name, data: readFileSync(join(sharedData, path)) });

describe('imports', () => {
  const env = useTestBackend({ PD_DICOM_AE_GROUPS: 'MAPPEDAE=Imaging Lab' });
  let cookie: string;
  let groupId: string;

  const api = (path: string, init: RequestInit & { cookie?: string } = {}) =>
    env.backend.app.request(path, { ...init, headers: { origin: sameOrigin.origin, cookie: init.cookie ?? cookie, ...(init.headers as Record<string, string>) } });
  const oneShot = async (files: { name: string; data: Buffer }[], fields: Record<string, string> = {}, who = cookie) => {
    const response = await api(`/api/imports?groupId=${groupId}`, { method: 'POST', body: form(files, fields), cookie: who });
    return { response, job: response.status === 201 ? ((await response.json()) as { import: Job }).import : null };
  };
  const fileResults = async (id: string) => ((await (await api(`/api/imports/${id}/files?limit=500`)).json()) as { files: FileResult[] }).files;

  beforeAll(async () => {
    const user = await createUser(env.backend.deps, { email: 'importer@example.test', role: 'researcher', groups: ['Imaging Lab'] });
    groupId = user.groupIds[0]!;
    cookie = (await signIn(env.backend, user.email, user.password)).cookie;
  });

  it('imports a folder of DICOM files into Orthanc and the registry, and counts a second import as duplicates', async () => {
    const files = folderFiles('ct-volume-pancreas-tcia');
    const first = await oneShot(files);
    expect(first.response.status).toBe(201);
    expect(first.job!.status).toBe('completed');
    expect(first.job!.counters).toMatchObject({ filesReceived: 20, instancesStored: 20, duplicates: 0, rejected: 0 });
    expect(first.job!.studies).toHaveLength(1);
    const study = first.job!.studies[0]!;

    const detail = (await (await api(`/api/studies/${study.studyInstanceUid}`)).json()) as { study: { instanceCount: number; series: { instanceCount: number; modality: string }[]; ownerGroup: { id: string } } };
    expect(detail.study.instanceCount).toBe(20);
    expect(detail.study.series).toEqual([expect.objectContaining({ instanceCount: 20, modality: 'CT' })]);
    expect(detail.study.ownerGroup.id).toBe(groupId);

    const again = await oneShot(files);
    expect(again.job!.counters).toMatchObject({ instancesStored: 0, duplicates: 20, rejected: 0 });
  });

  it('stores good files and explains every bad one, file by file, in one batch', async () => {
    const emptyFile = { name: 'empty.dcm', data: Buffer.alloc(0) };
    const files = [
      file('bad-corrupt-dicom/MR_truncated.dcm'),
      file('bad-corrupt-dicom/no_meta_group_length.dcm'),
      file('bad-non-dicom/slicer_screenshot.png'),
      file('bad-non-dicom/zipMR.gz'),
      file('bad-non-dicom/dicom_json_model.json'),
      file('hierarchy-pydicom-dicomdirtests/DICOMDIR'),
      emptyFile,
      file('odd-encodings-pydicom/MR_small.dcm'),
      file('odd-encodings-pydicom/MR_small_implicit.dcm'),
      file('odd-encodings-pydicom/MR_small_bigendian.dcm'),
      file('odd-encodings-pydicom/MR_small_RLE.dcm'),
      file('odd-encodings-pydicom/chrJapMulti.dcm'),
      file('seg-highdicom-on-pydicom-ct2/ct/CT_small.dcm'),
    ];
    const { response, job } = await oneShot(files);
    expect(response.status).toBe(201);
    const results = new Map((await fileResults(job!.id)).map((r) => [r.name, r]));
    expect(results.get('bad-corrupt-dicom/MR_truncated.dcm')).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/corrupt or truncated/) });
    expect(results.get('bad-corrupt-dicom/no_meta_group_length.dcm')).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/required DICOM attribute/) });
    expect(results.get('bad-non-dicom/slicer_screenshot.png')).toMatchObject({ outcome: 'skipped', reason: 'not DICOM: a PNG image' });
    expect(results.get('bad-non-dicom/zipMR.gz')).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/gzip/) });
    expect(results.get('bad-non-dicom/dicom_json_model.json')).toMatchObject({ outcome: 'skipped', reason: 'not DICOM: a text file' });
    expect(results.get('hierarchy-pydicom-dicomdirtests/DICOMDIR')).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/DICOMDIR/) });
    expect(results.get('empty.dcm')).toMatchObject({ outcome: 'rejected', reason: 'the file is empty' });
    // MR_small in several transfer syntaxes is one instance: stored once, then duplicates.
    const mr = ['MR_small.dcm', 'MR_small_implicit.dcm', 'MR_small_bigendian.dcm', 'MR_small_RLE.dcm'].map((n) => results.get(`odd-encodings-pydicom/${n}`)!.outcome);
    expect(mr.filter((o) => o === 'stored')).toHaveLength(1);
    expect(mr.filter((o) => o === 'duplicate')).toHaveLength(3);
    expect(results.get('odd-encodings-pydicom/chrJapMulti.dcm')!.outcome).toBe('stored');
    expect(results.get('seg-highdicom-on-pydicom-ct2/ct/CT_small.dcm')!.outcome).toBe('stored');
    expect(job!.counters).toMatchObject({ filesReceived: files.length, instancesStored: 3, duplicates: 3, rejected: 3, skipped: 4 });
    // No registry row without instances behind it.
    const rows = env.backend.deps.db.$client.prepare('SELECT orthanc_id, instance_count FROM studies').all() as { orthanc_id: string; instance_count: number }[];
    for (const row of rows) {
      expect(row.instance_count).toBeGreaterThan(0);
      expect((await env.backend.deps.orthanc.raw('GET', `/studies/${row.orthanc_id}`).then(async (r) => (await r.body.dump(), r.statusCode)))).toBe(200);
    }
  });

  it('reads ZIP archives entry by entry: nested folders stored, DICOMDIR and text skipped, hostile names refused', async () => {
    const hierarchy = folderFiles('hierarchy-pydicom-dicomdirtests');
    const dicoms = hierarchy.filter((f) => !f.name.endsWith('DICOMDIR'));
    const archive = await zipOf([
      ...hierarchy.map((f) => ({ name: `export/${f.name}`, data: f.data })),
      { name: 'export/README.txt', data: Buffer.from('Exported from a PACS.\n') },
      { name: 'aa/evil.dcm', data: dicoms[0]!.data },
      { name: 'zabs/x.dcm', data: dicoms[1]!.data },
    ], { 'aa/evil.dcm': '../evil.dcm', 'zabs/x.dcm': '/abs/x.dcm' });
    const { job } = await oneShot([{ name: 'study.zip', data: archive }]);
    const results = await fileResults(job!.id);
    const byName = new Map(results.map((r) => [r.name, r]));
    expect(byName.get('study.zip!export/hierarchy-pydicom-dicomdirtests/DICOMDIR')).toMatchObject({ outcome: 'skipped' });
    expect(byName.get('study.zip!export/README.txt')).toMatchObject({ outcome: 'skipped', reason: 'not DICOM: a text file' });
    expect(byName.get('study.zip!../evil.dcm')).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/'\.\.'/) });
    expect(byName.get('study.zip!/abs/x.dcm')).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/absolute path/) });
    expect(job!.counters.instancesStored + job!.counters.duplicates).toBe(dicoms.length);
    expect(job!.studies.length).toBeGreaterThanOrEqual(6);
  });

  it('refuses what is not a ZIP, a truncated ZIP and ZIP bombs, and still imports the rest of the batch', async () => {
    const good = rewriteDicom(readFileSync(join(sharedData, 'ct-volume-pancreas-tcia', readdirSync(join(sharedData, 'ct-volume-pancreas-tcia')).filter((n) => !n.startsWith('SOURCE')).sort()[0]!)), {
      StudyInstanceUID: freshUid(),
      SeriesInstanceUID: freshUid(),
      SOPInstanceUID: freshUid(),
    });
    const valid = await zipOf([{ name: 'a.dcm', data: good }]);
    const bomb = await zipOf([
      { name: 'zeros.dcm', data: Buffer.alloc(64 * 1024 * 1024) },
      { name: 'ok.dcm', data: good },
    ]);
    const { response, job } = await oneShot([
      { name: 'fake.zip', data: Buffer.from('this is not a zip archive at all, just text pretending') },
      { name: 'truncated.zip', data: valid.subarray(0, Math.floor(valid.length * 0.6)) },
      { name: 'bomb.zip', data: bomb },
    ]);
    expect(response.status).toBe(201);
    const byName = new Map((await fileResults(job!.id)).map((r) => [r.name, r]));
    expect(byName.get('fake.zip')).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/not a ZIP archive/) });
    expect(byName.get('truncated.zip')).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/truncated or corrupt/) });
    expect(byName.get('bomb.zip!zeros.dcm')).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/compression ratio \d+:1 is above/) });
    expect(byName.get('bomb.zip!ok.dcm')).toMatchObject({ outcome: 'stored' });

    // Archive-wide limits: entry count and total unpacked size, checked before anything is inflated.
    const tight = createTestBackend(env.services, { PD_IMPORT_ZIP_MAX_ENTRIES: '3', PD_IMPORT_ZIP_MAX_TOTAL_BYTES: '2500000', PD_IMPORT_ZIP_MAX_ENTRY_BYTES: '1000000' });
    try {
      const user = await createUser(tight.deps, { email: 'zipper@example.test', role: 'researcher', groups: ['Zip Lab'] });
      const signed = (await signIn(tight, user.email, user.password)).cookie;
      const many = await zipOf(Array.from({ length: 5 }, (_, i) => ({ name: `f${i}.dcm`, data: good })));
      const big = await zipOf([{ name: 'big.dcm', data: Buffer.alloc(3_000_000, 7) }]);
      const fat = await zipOf([{ name: 'fat.dcm', data: Buffer.alloc(1_500_000, 7) }, { name: 'fine.dcm', data: rewriteDicom(good, { StudyInstanceUID: freshUid(), SeriesInstanceUID: freshUid(), SOPInstanceUID: freshUid() }) }]);
      const answer = await tight.app.request(`/api/imports?groupId=${user.groupIds[0]}`, { method: 'POST', body: form([{ name: 'many.zip', data: many }, { name: 'big.zip', data: big }, { name: 'fat.zip', data: fat }]), headers: { origin: sameOrigin.origin, cookie: signed } });
      const tightJob = ((await answer.json()) as { import: Job }).import;
      const files = ((await (await tight.app.request(`/api/imports/${tightJob.id}/files`, { headers: { cookie: signed } })).json()) as { files: FileResult[] }).files;
      expect(files.find((f) => f.name === 'many.zip')).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/5 entries; at most 3/) });
      expect(files.find((f) => f.name === 'big.zip')).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/would unpack to 2\.9 MiB/) });
      expect(files.find((f) => f.name === 'fat.zip!fat.dcm')).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/unpacks to 1\.4 MiB; at most 976\.6 KiB per file/) });
      expect(files.find((f) => f.name === 'fat.zip!fine.dcm')).toMatchObject({ outcome: 'stored' });
    } finally {
      await tight.close();
    }
  });

  it('answers empty uploads with 400 and uploads over the limit with 413, and keeps serving', async () => {
    const empty = await api(`/api/imports?groupId=${groupId}`, { method: 'POST', body: form([]) });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { error: { message: string } }).error.message).toMatch(/no files/);
    const notMultipart = await api(`/api/imports?groupId=${groupId}`, { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } });
    expect(notMultipart.status).toBe(415);
    const broken = await api(`/api/imports?groupId=${groupId}`, { method: 'POST', body: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.dcm"\r\n\r\nabc', headers: { 'content-type': 'multipart/form-data; boundary=xyz' } });
    expect(broken.status).toBe(400);

    const small = createTestBackend(env.services, { PD_IMPORT_MAX_REQUEST_BYTES: '200000' });
    try {
      const user = await createUser(small.deps, { email: 'big@example.test', role: 'researcher', groups: ['Big Lab'] });
      const signed = (await signIn(small, user.email, user.password)).cookie;
      const files = folderFiles('ct-volume-pancreas-tcia');
      const answer = await small.app.request(`/api/imports?groupId=${user.groupIds[0]}`, { method: 'POST', body: form(files), headers: { origin: sameOrigin.origin, cookie: signed } });
      expect(answer.status).toBe(413);
      expect(((await answer.json()) as { error: { message: string } }).error.message).toMatch(/larger than 195\.3 KiB/);
      // Over a real socket the body is the socket itself: the 413 must reach the client before
      // the rest is cut (an upload refused mid-body used to end in a reset, not an answer).
      const server = serve({ fetch: small.app.fetch, hostname: '127.0.0.1', port: 0 });
      try {
        await once(server, 'listening');
        const { port } = server.address() as AddressInfo;
        // Chunked (no content-length), so the limit is hit while the body is being read; two
        // slices, the size at which the reset used to win about one time in three.
        const statuses: (number | string)[] = [];
        for (let attempt = 0; attempt < 12; attempt++) {
          const encoded = new Response(form(files.slice(0, 2)));
          try {
            const overSocket = await fetch(`http://127.0.0.1:${port}/api/imports?groupId=${user.groupIds[0]}`, {
              method: 'POST',
              body: encoded.body,
              duplex: 'half',
              headers: { origin: sameOrigin.origin, cookie: signed, 'content-type': encoded.headers.get('content-type')! },
            } as RequestInit);
            const answer = (await overSocket.json()) as { error: { code: string } };
            statuses.push(`${overSocket.status} ${answer.error.code}`);
          } catch (error) {
            statuses.push(`no answer: ${(error as Error).message} ${((error as Error).cause as Error | undefined)?.message ?? ''}`);
          }
        }
        expect(statuses).toEqual(Array(12).fill('413 payload_too_large'));
      } finally {
        server.close();
      }
      const listed = ((await (await small.app.request('/api/imports', { headers: { cookie: signed } })).json()) as { imports: Job[] }).imports;
      expect(listed.slice(0, 13).map((job) => job.status)).toEqual(Array(13).fill('failed'));
      expect((await small.app.request('/api/health')).status).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('turns a NIfTI volume into a CT series whose stored geometry matches the NIfTI affine within 1e-3 mm', async () => {
    const niftiPath = join(sharedData, 'nifti-ct-abdomen-with-labels-totalseg/example_ct_sm.nii.gz');
    const fields = { patientName: 'NIFTI^TEST', patientId: 'NII-001', studyDescription: 'Abdomen from NIfTI', modality: 'CT' };
    const { job } = await oneShot([{ name: 'example_ct_sm.nii.gz', data: readFileSync(niftiPath) }], fields);
    expect(job!.counters).toMatchObject({ instancesStored: 30, rejected: 0 });
    const study = job!.studies[0]!;
    expect(study.patientName).toBe('NIFTI^TEST');

    const volume = await openNifti({ path: niftiPath, tmpDir: join(env.services.dir, 'tmp'), limits: { maxUncompressedBytes: 1e9 } });
    try {
      const lookup = await env.backend.deps.orthanc.raw('POST', '/tools/lookup', { headers: { 'content-type': 'text/plain' }, body: study.studyInstanceUid });
      const orthancStudy = (JSON.parse(await lookup.body.text()) as { ID: string }[])[0]!;
      const instances = await env.backend.deps.orthanc.json<{ ID: string }[]>('GET', `/studies/${orthancStudy.ID}/instances`);
      expect(instances).toHaveLength(30);
      const A = volume.affineLps;
      for (const instance of instances) {
        const tags = await env.backend.deps.orthanc.json<Record<string, string>>('GET', `/instances/${instance.ID}/simplified-tags`);
        const k = Number(tags.InstanceNumber) - 1;
        const ipp = tags.ImagePositionPatient!.split('\\').map(Number);
        for (let axis = 0; axis < 3; axis++) expect(Math.abs(ipp[axis]! - (A[axis]![2]! * k + A[axis]![3]!))).toBeLessThan(1e-3);
        const iop = tags.ImageOrientationPatient!.split('\\').map(Number);
        const colNorm = Math.hypot(A[0]![0]!, A[1]![0]!, A[2]![0]!);
        const rowNorm = Math.hypot(A[0]![1]!, A[1]![1]!, A[2]![1]!);
        for (let axis = 0; axis < 3; axis++) {
          expect(Math.abs(iop[axis]! - A[axis]![0]! / colNorm)).toBeLessThan(1e-6);
          expect(Math.abs(iop[axis + 3]! - A[axis]![1]! / rowNorm)).toBeLessThan(1e-6);
        }
        const spacing = tags.PixelSpacing!.split('\\').map(Number);
        expect(Math.abs(spacing[0]! - rowNorm)).toBeLessThan(1e-3);
        expect(Math.abs(spacing[1]! - colNorm)).toBeLessThan(1e-3);
        expect(Number(tags.Rows)).toBe(volume.dims[1]);
        expect(Number(tags.Columns)).toBe(volume.dims[0]);
      }
    } finally {
      await volume.close();
    }
  });

  it('refuses a NIfTI whose header lies about its size, and one sent without the form', async () => {
    const raw = readFileSync(join(sharedData, 'nifti-nibabel-variants/anatomical.nii'));
    const fields = { patientName: 'LIE^HEADER', patientId: 'NII-LIE', studyDescription: 'Truncated', modality: 'MR' };
    const { job } = await oneShot([{ name: 'cut.nii', data: raw.subarray(0, Math.floor(raw.length / 2)) }], fields);
    const results = await fileResults(job!.id);
    expect(results[0]).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/too short.*should be at least \d+ bytes, but it has only \d+ bytes/) });
    const cutGz = gzipSync(raw.subarray(0, 400));
    const { job: gzJob } = await oneShot([{ name: 'cut.nii.gz', data: cutGz }], fields);
    expect((await fileResults(gzJob!.id))[0]).toMatchObject({ outcome: 'rejected' });

    const { job: noForm } = await oneShot([{ name: 'anatomical.nii', data: raw }]);
    expect((await fileResults(noForm!.id))[0]).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/needs patient name, patient ID/) });
    expect(noForm!.counters.instancesStored).toBe(0);
  });

  it('flags the same PatientID arriving with a different name', async () => {
    const source = readFileSync(join(sharedData, 'ct-volume-pancreas-tcia', readdirSync(join(sharedData, 'ct-volume-pancreas-tcia')).filter((n) => !n.startsWith('SOURCE')).sort()[1]!));
    const renamed = rewriteDicom(source, { PatientName: 'Someone^Else', StudyInstanceUID: freshUid(), SeriesInstanceUID: freshUid(), SOPInstanceUID: freshUid() });
    const { job } = await oneShot([{ name: 'renamed.dcm', data: renamed }]);
    expect(job!.counters.instancesStored).toBe(1);
    expect(job!.warnings.join(' ')).toMatch(/PatientID Pancreas-CT-CB_001 is registered as Pancreas-CT-CB_001, but study .* names the patient Someone\^Else/);
  });

  describe('who may import, and into what', () => {
    let otherCookie: string;
    let otherGroupId: string;
    let radiologistCookie: string;
    let labStudyFile: Buffer;
    let labStudyUid: string;

    beforeAll(async () => {
      const other = await createUser(env.backend.deps, { email: 'other-lab@example.test', role: 'researcher', groups: ['Other Lab'] });
      otherGroupId = other.groupIds[0]!;
      otherCookie = (await signIn(env.backend, other.email, other.password)).cookie;
      const radiologist = await createUser(env.backend.deps, { email: 'reader@example.test', role: 'radiologist', groups: ['Imaging Lab'] });
      radiologistCookie = (await signIn(env.backend, radiologist.email, radiologist.password)).cookie;
      labStudyUid = freshUid();
      labStudyFile = rewriteDicom(readFileSync(join(sharedData, 'odd-encodings-pydicom/MR_small.dcm')), { StudyInstanceUID: labStudyUid, SeriesInstanceUID: freshUid(), SOPInstanceUID: freshUid() });
      const { job } = await oneShot([{ name: 'lab.dcm', data: labStudyFile }]);
      expect(job!.counters.instancesStored).toBe(1);
    });

    it('refuses radiologists, strangers and imports into a group one is not in', async () => {
      expect((await api('/api/imports', { method: 'POST', body: JSON.stringify({ groupId }), headers: { 'content-type': 'application/json' }, cookie: radiologistCookie })).status).toBe(403);
      expect((await env.backend.app.request('/api/imports', { method: 'POST', body: JSON.stringify({ groupId }), headers: sameOrigin })).status).toBe(401);
      const foreign = await api('/api/imports', { method: 'POST', body: JSON.stringify({ groupId }), headers: { 'content-type': 'application/json' }, cookie: otherCookie });
      expect(foreign.status).toBe(403);
      const crossSite = await env.backend.app.request(`/api/imports?groupId=${groupId}`, { method: 'POST', body: form([{ name: 'a.dcm', data: labStudyFile }]), headers: { origin: 'http://evil.test', cookie } });
      expect(crossSite.status).toBe(403);
    });

    it("hides other people's imports (404) and refuses uploads after finish or cancel (409)", async () => {
      const created = ((await (await api('/api/imports', { method: 'POST', body: JSON.stringify({ groupId }), headers: { 'content-type': 'application/json' } })).json()) as { import: Job }).import;
      expect(created.status).toBe('open');
      expect((await api(`/api/imports/${created.id}`, { cookie: otherCookie })).status).toBe(404);
      expect((await api(`/api/imports/${created.id}/files`, { cookie: otherCookie })).status).toBe(404);
      expect((await api(`/api/imports/${created.id}/files`, { method: 'POST', body: form([{ name: 'x.dcm', data: labStudyFile }]), cookie: otherCookie })).status).toBe(404);
      const cancelled = ((await (await api(`/api/imports/${created.id}/cancel`, { method: 'POST' })).json()) as { import: Job }).import;
      expect(cancelled.status).toBe('cancelled');
      const late = await api(`/api/imports/${created.id}/files`, { method: 'POST', body: form([{ name: 'x.dcm', data: labStudyFile }]) });
      expect(late.status).toBe(409);
    });

    it("refuses instances that land in another group's study, and removes the ones it added", async () => {
      const sameInstance = await api(`/api/imports?groupId=${otherGroupId}`, { method: 'POST', body: form([{ name: 'copy.dcm', data: labStudyFile }]), cookie: otherCookie });
      const job = ((await sameInstance.json()) as { import: Job }).import;
      expect(job.counters).toMatchObject({ instancesStored: 0, duplicates: 0, rejected: 1 });
      const sopUid = freshUid();
      const intruder = rewriteDicom(labStudyFile, { SOPInstanceUID: sopUid });
      const added = ((await (await api(`/api/imports?groupId=${otherGroupId}`, { method: 'POST', body: form([{ name: 'intruder.dcm', data: intruder }]), cookie: otherCookie })).json()) as { import: Job }).import;
      const [result] = ((await (await api(`/api/imports/${added.id}/files`, { cookie: otherCookie })).json()) as { files: FileResult[] }).files;
      expect(result).toMatchObject({ outcome: 'rejected', reason: 'refused: the study belongs to a group you cannot access' });
      const lookup = await env.backend.deps.orthanc.raw('POST', '/tools/lookup', { headers: { 'content-type': 'text/plain' }, body: sopUid });
      expect(JSON.parse(await lookup.body.text())).toEqual([]);
      const detail = (await (await api(`/api/studies/${labStudyUid}`)).json()) as { study: { instanceCount: number } };
      expect(detail.study.instanceCount).toBe(1);
    });

    it('streams progress as Server-Sent Events that end with the final state', async () => {
      const created = ((await (await api('/api/imports', { method: 'POST', body: JSON.stringify({ groupId }), headers: { 'content-type': 'application/json' } })).json()) as { import: Job }).import;
      const upload = await api(`/api/imports/${created.id}/files`, { method: 'POST', body: form(folderFiles('ct-volume-pancreas-tcia').slice(0, 5)) });
      expect(upload.status).toBe(200);
      expect((await api(`/api/imports/${created.id}/finish`, { method: 'POST' })).status).toBe(200);
      const events = await api(`/api/imports/${created.id}/events`);
      expect(events.headers.get('content-type')).toMatch(/text\/event-stream/);
      const text = await events.text();
      expect(text).toMatch(/^event: end$/m);
      const data = JSON.parse(/^data: (.*)$/m.exec(text)![1]!) as Job;
      expect(data).toMatchObject({ id: created.id, status: 'completed' });
      expect(data.counters.instancesStored + data.counters.duplicates).toBe(5);
    });
  });

  describe('the registry beyond our own imports', () => {
    it('registers STOW-RS studies with their series, under the caller\'s group', async () => {
      const studyUid = freshUid();
      const files = folderFiles('ct-volume-pancreas-tcia').slice(0, 3).map((f) => rewriteDicom(f.data, { StudyInstanceUID: studyUid, SeriesInstanceUID: `${studyUid}.1`, SOPInstanceUID: freshUid() }));
      const { body, contentType } = stowBody(files);
      const stored = await api('/dicom-web/studies', { method: 'POST', body: new Uint8Array(body), headers: { 'content-type': contentType } });
      expect(stored.status).toBe(200);
      const detail = (await (await api(`/api/studies/${studyUid}`)).json()) as { study: { instanceCount: number; source: string; ownerGroup: { id: string }; series: unknown[] } };
      expect(detail.study).toMatchObject({ instanceCount: 3, source: 'stow', ownerGroup: { id: groupId } });
      expect(detail.study.series).toHaveLength(1);
    });

    it('attributes C-STORE by calling AE title: a mapped title to its group, any other to the admin-only inbox', async () => {
      const mappedUid = freshUid();
      const strayUid = freshUid();
      const dir = join(env.services.dir, 'cstore');
      execFileSync('mkdir', ['-p', dir]);
      const source = readFileSync(join(sharedData, 'odd-encodings-pydicom/MR_small.dcm'));
      const write = (name: string, study: string) => {
        const path = join(dir, name);
        writeFileSync(path, rewriteDicom(source, { StudyInstanceUID: study, SeriesInstanceUID: freshUid(), SOPInstanceUID: freshUid(), PatientID: `CSTORE-${name}` }));
        return path;
      };
      const port = String(env.services.orthanc.dicomPort);
      execFileSync('storescu', ['-aet', 'MAPPEDAE', '-aec', 'PDTEST', '127.0.0.1', port, write('mapped.dcm', mappedUid)]);
      execFileSync('storescu', ['-aet', 'STRANGER', '-aec', 'PDTEST', '127.0.0.1', port, write('stray.dcm', strayUid)]);
      await env.backend.workers.registry.drain();

      const mapped = (await (await api(`/api/studies/${mappedUid}`)).json()) as { study: { source: string; ownerGroup: { id: string } } };
      expect(mapped.study).toMatchObject({ source: 'dicom', ownerGroup: { id: groupId } });
      expect((await api(`/api/studies/${strayUid}`)).status).toBe(404);
      const patients = (await (await api('/api/patients?q=CSTORE')).json()) as { patients: { patientId: string }[] };
      expect(patients.patients.map((p) => p.patientId)).toEqual(['CSTORE-mapped.dcm']);

      const admin = await createUser(env.backend.deps, { email: 'registry-admin@example.test', role: 'admin' });
      const adminCookie = (await signIn(env.backend, admin.email, admin.password)).cookie;
      const stray = (await (await api(`/api/studies/${strayUid}`, { cookie: adminCookie })).json()) as { study: { source: string; ownerGroup: { name: string } } };
      expect(stray.study).toMatchObject({ source: 'dicom', ownerGroup: { name: 'Unassigned' } });
      // The admin moves it out of the inbox; now the group sees it.
      const moved = await api(`/api/studies/${strayUid}`, { method: 'PATCH', body: JSON.stringify({ ownerGroupId: groupId }), headers: { 'content-type': 'application/json' }, cookie: adminCookie });
      expect(moved.status).toBe(200);
      expect((await api(`/api/studies/${strayUid}`)).status).toBe(200);
      expect((await api(`/api/studies/${strayUid}`, { method: 'PATCH', body: JSON.stringify({ ownerGroupId: groupId }), headers: { 'content-type': 'application/json' } })).status).toBe(403);
      // The inbox keeps no members, so nobody but admins ever sees it.
      const inbox = (((await (await api('/api/admin/groups', { cookie: adminCookie })).json()) as { groups: { id: string; name: string }[] }).groups).find((g) => g.name === 'Unassigned')!;
      const member = await createUser(env.backend.deps, { email: 'would-be-inbox@example.test', role: 'researcher' });
      const joined = await api(`/api/admin/users/${member.id}`, { method: 'PATCH', body: JSON.stringify({ groupIds: [inbox.id] }), headers: { 'content-type': 'application/json' }, cookie: adminCookie });
      expect(joined.status).toBe(400);
      expect(((await joined.json()) as { error: { message: string } }).error.message).toMatch(/Nobody can be a member of Unassigned/);
    });

    it('follows deletions made in Orthanc directly, and lets only admins delete a study', async () => {
      const studyUid = freshUid();
      const data = rewriteDicom(readFileSync(join(sharedData, 'odd-encodings-pydicom/MR_small.dcm')), { StudyInstanceUID: studyUid, SeriesInstanceUID: freshUid(), SOPInstanceUID: freshUid() });
      await oneShot([{ name: 'gone.dcm', data }]);
      const row = env.backend.deps.db.$client.prepare('SELECT orthanc_id FROM studies WHERE study_instance_uid = ?').get(studyUid) as { orthanc_id: string };
      await env.backend.deps.orthanc.raw('DELETE', `/studies/${row.orthanc_id}`).then((r) => r.body.dump());
      await env.backend.workers.registry.drain();
      expect((await api(`/api/studies/${studyUid}`)).status).toBe(404);

      const keptUid = freshUid();
      await oneShot([{ name: 'kept.dcm', data: rewriteDicom(data, { StudyInstanceUID: keptUid, SOPInstanceUID: freshUid() }) }]);
      expect((await api(`/api/studies/${keptUid}`, { method: 'DELETE' })).status).toBe(403);
      const admin = await createUser(env.backend.deps, { email: 'deleting-admin@example.test', role: 'admin' });
      const adminCookie = (await signIn(env.backend, admin.email, admin.password)).cookie;
      expect((await api(`/api/studies/${keptUid}`, { method: 'DELETE', cookie: adminCookie })).status).toBe(204);
      expect((await api(`/api/studies/${keptUid}`, { cookie: adminCookie })).status).toBe(404);
      const lookup = await env.backend.deps.orthanc.raw('POST', '/tools/lookup', { headers: { 'content-type': 'text/plain' }, body: keptUid });
      expect(JSON.parse(await lookup.body.text())).toEqual([]);
    });

    it('lists patients with search, filters, sorting and pagination, and serves series thumbnails', async () => {
      const all = (await (await api('/api/patients?limit=200')).json()) as { patients: { key: string; patientId: string; patientName: string; modalities: string[]; studyCount: number }[]; total: number };
      expect(all.total).toBe(all.patients.length);
      expect(all.patients.map((p) => p.patientId)).toContain('Pancreas-CT-CB_001');
      const byName = all.patients.map((p) => p.patientName);
      expect(byName).toEqual([...byName].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));

      const ct = (await (await api('/api/patients?modality=CT&limit=200')).json()) as { patients: { modalities: string[] }[] };
      expect(ct.patients.length).toBeGreaterThan(0);
      expect(ct.patients.every((p) => p.modalities.includes('CT'))).toBe(true);
      const searched = (await (await api('/api/patients?q=pancreas')).json()) as { patients: { patientId: string }[] };
      expect(searched.patients.map((p) => p.patientId)).toEqual(['Pancreas-CT-CB_001']);
      const none = (await (await api('/api/patients?from=2999-01-01')).json()) as { total: number };
      expect(none.total).toBe(0);
      const page = (await (await api('/api/patients?limit=1&offset=1&sort=studyCount&order=desc')).json()) as { patients: unknown[]; total: number };
      expect(page.patients).toHaveLength(1);
      expect(page.total).toBe(all.total);
      expect((await api('/api/patients?sort=evil')).status).toBe(400);
      expect((await api('/api/patients?from=yesterday')).status).toBe(400);
      expect((await api('/api/patients?modality=CT%27%3B--')).status).toBe(400);

      const key = all.patients.find((p) => p.patientId === 'Pancreas-CT-CB_001')!.key;
      const patient = (await (await api(`/api/patients/${key}`)).json()) as { studies: { series: { thumbnailUrl: string }[] }[] };
      const thumbnail = await api(patient.studies[0]!.series[0]!.thumbnailUrl);
      expect(thumbnail.status).toBe(200);
      expect(thumbnail.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await thumbnail.arrayBuffer()).subarray(1, 4).toString()).toBe('PNG');

      const outsider = await createUser(env.backend.deps, { email: 'outsider@example.test', role: 'researcher', groups: ['Elsewhere'] });
      const outsiderCookie = (await signIn(env.backend, outsider.email, outsider.password)).cookie;
      expect((await api(`/api/patients/${key}`, { cookie: outsiderCookie })).status).toBe(404);
      expect((await api(patient.studies[0]!.series[0]!.thumbnailUrl, { cookie: outsiderCookie })).status).toBe(404);
      expect(((await (await api('/api/patients', { cookie: outsiderCookie })).json()) as { total: number }).total).toBe(0);
    });
  });
});
