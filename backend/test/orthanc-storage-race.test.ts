// Orthanc 1.10.1's storage-folder race, provoked on purpose against the real Orthanc: a
// neighbour process removes every empty storage folder as fast as it can, as Orthanc's own
// deletes do (and, in 1.10, every duplicate store: it writes the file, then removes it).
// Stores then meet folders that vanish between Orthanc's checks; OrthancClient.storeInstance
// must send those again, and must tell them from real refusals.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrthancClient, isStorageRace } from '../src/orthanc/client.js';
import { folderFiles, freshUid, rewriteDicom } from './dicom.js';
import { startTestServices, type TestServices } from './harness.js';

const STORES = 700;
const CONCURRENT = 16;

// rmdir refuses a folder that is not empty, so only empty ones go. Errors without stacks: one is
// thrown per busy folder, and capturing stacks would slow the loop far below the stores' pace.
const REMOVER = `
Error.stackTraceLimit = 0;
const { readdirSync, rmdirSync } = require('node:fs');
const { join } = require('node:path');
const root = process.argv[1];
for (;;) {
  let tops = [];
  try { tops = readdirSync(root); } catch {}
  for (const top of tops) {
    try { for (const sub of readdirSync(join(root, top))) { try { rmdirSync(join(root, top, sub)); } catch {} } } catch {}
    try { rmdirSync(join(root, top)); } catch {}
  }
}`;

describe('stores into Orthanc 1.10.1 while its storage folders come and go', () => {
  let services: TestServices;
  let client: OrthancClient;
  let remover: ChildProcess | undefined;
  const slices = folderFiles('ct-volume-pancreas-tcia').filter((f) => f.name.endsWith('.dcm'));
  const studyUid = freshUid();
  const instance = (i: number) => rewriteDicom(slices[i % slices.length]!.data, { StudyInstanceUID: studyUid, SeriesInstanceUID: `${studyUid}.${i % 5}`, SOPInstanceUID: freshUid() });

  beforeAll(async () => {
    services = await startTestServices();
    client = new OrthancClient({ url: services.orthanc.url, user: services.orthanc.user, password: services.orthanc.password, timeoutMs: 30_000 });
    remover = spawn(process.execPath, ['-e', REMOVER, join(services.dir, 'data/orthanc/storage')], { stdio: 'ignore' });
  }, 60_000);

  afterAll(async () => {
    remover?.kill('SIGKILL');
    await client?.close();
    await services?.stop();
  });

  async function storeAll(store: (body: Buffer) => Promise<{ statusCode: number; text: string }>) {
    const failures: { statusCode: number; text: string }[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENT }, async () => {
        while (next < STORES) {
          const answer = await store(instance(next++));
          if (answer.statusCode !== 200) failures.push(answer);
        }
      }),
    );
    return failures;
  }

  it('a plain POST /instances does lose the race here, and each such answer is one isStorageRace recognises', { timeout: 120_000 }, async () => {
    const failures = await storeAll(async (body) => {
      const response = await client.raw('POST', '/instances', { headers: { 'content-type': 'application/dicom' }, body });
      return { statusCode: response.statusCode, text: await response.body.text() };
    });
    console.log(`plain posts: ${failures.length} of ${STORES} lost the race`, [...new Set(failures.map((f) => f.text.replace(/\s+/g, ' ').slice(0, 160)))]);
    expect(failures.length, 'the neighbour provoked no race: this test would prove nothing').toBeGreaterThan(0);
    expect(failures.filter((f) => !isStorageRace(f.statusCode, f.text))).toEqual([]);
  });

  it('storeInstance stores every instance all the same', { timeout: 120_000 }, async () => {
    const count = async () => (await client.json<{ CountInstances: number }>('GET', '/statistics')).CountInstances;
    const before = await count();
    const failures = await storeAll((body) => client.storeInstance(body, { 'content-type': 'application/dicom' }));
    expect(failures).toEqual([]);
    expect(await count()).toBe(before + STORES);
  });
});
