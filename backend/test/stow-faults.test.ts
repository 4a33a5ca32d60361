// STOW-RS when things go wrong: Orthanc down (BUG-F3), a Part 10 file whose File Meta group
// would crash Orthanc (BUG-Z1 in STOW), and multipart bodies that break off (BUG-Z2).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createUser, sameOrigin, signIn, useTestBackend } from './harness.js';
import { freshUid, rewriteDicom, sharedData, stowBody } from './dicom.js';

type SopItem = Record<string, { vr: string; Value: unknown[] }>;
type StowAnswer = { '00081199'?: { Value: SopItem[] }; '00081198'?: { Value: SopItem[] } };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A CT slice with fresh study/series/instance UIDs, so every test stores something new. */
function freshSlice(studyUid = freshUid(), seriesUid = freshUid()): { data: Buffer; studyUid: string; sopInstanceUid: string } {
  const source = readFileSync(join(sharedData, 'seg-dcmqi-ct3slice/ct/01.dcm'));
  const sopInstanceUid = freshUid();
  return { data: rewriteDicom(source, { StudyInstanceUID: studyUid, SeriesInstanceUID: seriesUid, SOPInstanceUID: sopInstanceUid }), studyUid, sopInstanceUid };
}

/** MR_small.dcm with (0002,0001) FileMetaInformationVersion declaring 0x7fffffff bytes: Orthanc 1.10.1 SIGSEGVs on it. */
function overflowingMeta(): Buffer {
  const file = Buffer.from(readFileSync(join(sharedData, 'odd-encodings-pydicom/MR_small.dcm')));
  expect(file.toString('latin1', 0x90, 0x96)).toBe('\x02\x00\x01\x00OB');
  file.writeUInt32LE(0x7fffffff, 0x90 + 8);
  return file;
}

describe('STOW-RS faults against real Orthanc', () => {
  const env = useTestBackend();
  let cookie: string;

  const stow = async (body: Buffer, contentType: string, path = '/dicom-web/studies', timeoutMs = 10_000) => {
    const started = Date.now();
    const response = await Promise.race([
      env.backend.app.request(path, { method: 'POST', headers: { origin: sameOrigin.origin, cookie, 'content-type': contentType }, body: new Uint8Array(body) }),
      sleep(timeoutMs).then(() => null),
    ]);
    if (!response) return { status: 0, ms: Date.now() - started, text: 'no answer', warning: null as string | null };
    const text = await response.text();
    return { status: response.status, ms: Date.now() - started, text, warning: response.headers.get('warning') };
  };
  const orthancHas = async (sopInstanceUid: string) => {
    const found = (await env.backend.deps.orthanc.json<unknown[]>('POST', '/tools/find', { body: { Level: 'Instance', Query: { SOPInstanceUID: sopInstanceUid } } })) ?? [];
    return found.length > 0;
  };
  /** Orthanc survived; if it did not, it is started again (after failing) so the next tests still have it. */
  const expectOrthancUp = async () => {
    const running = env.services.orthanc.proc.running;
    if (!running) await env.services.orthanc.restart();
    expect(running, 'Orthanc died').toBe(true);
    expect((await env.backend.deps.orthanc.system()).Version).toMatch(/^1\./);
  };
  const registered = async (studyUid: string) => (await env.backend.app.request(`/api/studies/${studyUid}`, { headers: { origin: sameOrigin.origin, cookie } })).status;

  beforeAll(async () => {
    const user = await createUser(env.backend.deps, { email: 'stow.faults@example.test', role: 'researcher', groups: ['Stow Lab'] });
    cookie = (await signIn(env.backend, user.email, user.password)).cookie;
  });

  it('stores a sound body (the baseline the other cases are judged against)', async () => {
    const slice = freshSlice();
    const { body, contentType } = stowBody([slice.data]);
    const sent = await stow(body, contentType);
    expect(sent.status).toBe(200);
    expect(await orthancHas(slice.sopInstanceUid)).toBe(true);
    expect(await registered(slice.studyUid)).toBe(200);
  });

  it('refuses a part whose File Meta group declares a length past the end of the file, stores the others, and Orthanc stays up (BUG-Z1 in STOW)', async () => {
    const good = freshSlice();
    const { body, contentType } = stowBody([overflowingMeta(), good.data]);
    const sent = await stow(body, contentType);
    await sleep(300);
    await expectOrthancUp();
    expect(sent.status).toBe(202);
    const answer = JSON.parse(sent.text) as StowAnswer;
    expect(answer['00081198']!.Value).toHaveLength(1);
    expect(answer['00081199']!.Value).toHaveLength(1);
    expect(answer['00081199']!.Value[0]!['00081155']!.Value[0]).toBe(good.sopInstanceUid);
    expect(sent.warning).toMatch(/file meta information is malformed/);
    expect(await orthancHas(good.sopInstanceUid)).toBe(true);
  });

  it('refuses a body made only of such a part with 409, and Orthanc stays up', async () => {
    const { body, contentType } = stowBody([overflowingMeta()]);
    const sent = await stow(body, contentType);
    await sleep(300);
    await expectOrthancUp();
    expect(sent.status).toBe(409);
    expect(sent.warning).toMatch(/\(0002,0001\) declares 2147483647 bytes/);
  });

  it('streams a part larger than the peek window unchanged (a multi-megabyte instance survives the head + rest split)', async () => {
    const source = readFileSync(join(sharedData, 'mr-brain-t1-ge-refaced-40sl/00079.dcm'));
    const sopInstanceUid = freshUid();
    const big = rewriteDicom(source, { StudyInstanceUID: freshUid(), SeriesInstanceUID: freshUid(), SOPInstanceUID: sopInstanceUid });
    expect(big.length).toBeGreaterThan(64 * 1024);
    const { body, contentType } = stowBody([big]);
    const sent = await stow(body, contentType);
    expect(sent.status).toBe(200);
    const ids = await env.backend.deps.orthanc.json<string[]>('POST', '/tools/find', { body: { Level: 'Instance', Query: { SOPInstanceUID: sopInstanceUid } } });
    const file = await env.backend.deps.orthanc.raw('GET', `/instances/${ids[0]}/file`);
    expect(Buffer.from(await file.body.arrayBuffer()).equals(big)).toBe(true);
  });

  // The last part carries a whole DICOM file but its delimiter never comes: it was not
  // received in full as far as the multipart body says, so it must not reach the archive
  // (Orthanc would take the bytes as they are); the part before it was, and is kept.
  it('answers a body cut before its closing boundary with 400, keeps the part received in full and stores nothing of the cut one (BUG-Z2)', async () => {
    const whole = freshSlice();
    const cut = freshSlice();
    const b = 'cut-here';
    const body = Buffer.concat([
      Buffer.from(`--${b}\r\nContent-Type: application/dicom\r\n\r\n`),
      whole.data,
      Buffer.from(`\r\n--${b}\r\nContent-Type: application/dicom\r\n\r\n`),
      cut.data,
    ]);
    const sent = await stow(body, `multipart/related; type="application/dicom"; boundary=${b}`);
    expect(sent.status).toBe(400);
    const answer = JSON.parse(sent.text) as { error: { code: string; message: string; details: StowAnswer } };
    expect(answer.error.code).toBe('bad_multipart');
    expect(answer.error.message).toMatch(/ended before its closing boundary/);
    expect(answer.error.details['00081199']!.Value.map((i) => i['00081155']!.Value[0])).toEqual([whole.sopInstanceUid]);
    await sleep(300);
    expect(await orthancHas(cut.sopInstanceUid)).toBe(false);
    expect(await orthancHas(whole.sopInstanceUid)).toBe(true);
    expect(await registered(whole.studyUid)).toBe(200);
    expect(await registered(cut.studyUid)).toBe(404);
  });

  it('answers a body cut inside a part with 400 and stores nothing of it', async () => {
    const cut = freshSlice();
    const b = 'cut-inside';
    const body = Buffer.concat([Buffer.from(`--${b}\r\nContent-Type: application/dicom\r\n\r\n`), cut.data.subarray(0, 500)]);
    const sent = await stow(body, `multipart/related; type="application/dicom"; boundary=${b}`);
    expect(sent.status).toBe(400);
    expect(JSON.parse(sent.text)).toMatchObject({ error: { code: 'bad_multipart', message: expect.stringMatching(/Nothing was stored/) } });
    expect(await orthancHas(cut.sopInstanceUid)).toBe(false);
  });

  it('settles a request whose body fails mid-part (the client went away): 400, nothing of the cut part stored, the part before it kept', async () => {
    const whole = freshSlice();
    const cut = freshSlice();
    const b = 'gone-midway';
    const chunks = [
      Buffer.from(`--${b}\r\nContent-Type: application/dicom\r\n\r\n`),
      whole.data,
      Buffer.from(`\r\n--${b}\r\nContent-Type: application/dicom\r\n\r\n`),
      // More than the File Meta peek, so the cut part is already streaming to Orthanc when the body fails.
      cut.data.subarray(0, 100_000),
    ];
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = chunks.shift();
        if (next) return controller.enqueue(new Uint8Array(next));
        await sleep(200);
        controller.error(new Error('client gone'));
      },
    });
    const started = Date.now();
    const response = await Promise.race([
      env.backend.app.request('/dicom-web/studies', { method: 'POST', headers: { origin: sameOrigin.origin, cookie, 'content-type': `multipart/related; type="application/dicom"; boundary=${b}` }, body, duplex: 'half' } as RequestInit),
      sleep(10_000).then(() => null),
    ]);
    expect(response, 'no answer').not.toBeNull();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(response!.status).toBe(400);
    expect(await response!.text()).toMatch(/could not be read/);
    await sleep(300);
    expect(await orthancHas(cut.sopInstanceUid)).toBe(false);
    expect(await orthancHas(whole.sopInstanceUid)).toBe(true);
  });

  it('answers a body whose boundary never appears with 400', async () => {
    const slice = freshSlice();
    const { body } = stowBody([slice.data]);
    const sent = await stow(body, 'multipart/related; type="application/dicom"; boundary=not-the-one');
    expect(sent.status).toBe(400);
    expect(await orthancHas(slice.sopInstanceUid)).toBe(false);
  });

  // Last: it stops Orthanc (and restarts it at the end).
  it('answers 503 naming the archive within 5 s while Orthanc is down, and stores again once it is back (BUG-F3)', { timeout: 60_000 }, async () => {
    const first = freshSlice();
    const second = freshSlice(first.studyUid);
    const { body, contentType } = stowBody([first.data, second.data]);
    await env.services.orthanc.stop();
    try {
      const sent = await stow(body, contentType, '/dicom-web/studies', 8_000);
      expect(sent.status, `STOW while Orthanc is down: ${sent.text}`).toBe(503);
      expect(sent.ms).toBeLessThan(5_000);
      expect(JSON.parse(sent.text)).toMatchObject({ error: { code: 'orthanc_unavailable' } });
      expect(sent.text).toMatch(/orthanc|archive/i);
      // Into a named study too.
      const named = await stow(body, contentType, `/dicom-web/studies/${first.studyUid}`, 8_000);
      expect(named.status).toBe(503);
      expect(named.ms).toBeLessThan(5_000);
    } finally {
      await env.services.orthanc.restart();
    }
    let again = await stow(body, contentType);
    for (let i = 0; i < 25 && again.status !== 200; i++) {
      await sleep(200);
      again = await stow(body, contentType);
    }
    expect(again.status).toBe(200);
    expect(await registered(first.studyUid)).toBe(200);
  });
});
