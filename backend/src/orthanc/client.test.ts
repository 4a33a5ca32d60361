import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORE_ATTEMPTS } from './client.js';
import { droppedConnection, filesystemErrorAnswer, startScriptedOrthanc, storageRaceAnswer, storedAnswer } from './scripted-orthanc.js';

let orthanc: Awaited<ReturnType<typeof startScriptedOrthanc>>;
beforeAll(async () => (orthanc = await startScriptedOrthanc()));
afterAll(() => orthanc.close());

const sent = () => orthanc.received.map((b) => b.toString());

describe('OrthancClient.storeInstance', () => {
  it('sends the instance again when Orthanc 1.10 loses its storage-directory race (OrthancStatus 2001, then 14)', async () => {
    orthanc.answerWith(storageRaceAnswer(2001), storageRaceAnswer(14), storedAnswer);
    const answer = await orthanc.client.storeInstance([Buffer.from('DICM'), Buffer.from('-pieces')], { 'content-type': 'application/dicom' });
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ Status: 'Success' });
    expect(sent()).toEqual(['DICM-pieces', 'DICM-pieces', 'DICM-pieces']);
  });

  it("sends it again when the race shows as Orthanc's filesystem error (OrthancStatus -1 naming a storage folder)", async () => {
    orthanc.answerWith(filesystemErrorAnswer, storedAnswer);
    const answer = await orthanc.client.storeInstance(Buffer.from('dup'), { 'content-type': 'application/dicom' });
    expect(answer.statusCode).toBe(200);
    expect(sent()).toEqual(['dup', 'dup']);
  });

  it("gives up after STORE_ATTEMPTS attempts and hands back Orthanc's last answer", async () => {
    expect(STORE_ATTEMPTS).toBeGreaterThan(1);
    orthanc.answerWith(...Array.from({ length: STORE_ATTEMPTS }, () => storageRaceAnswer(2001)), storedAnswer);
    const answer = await orthanc.client.storeInstance(Buffer.from('x'), { 'content-type': 'application/dicom' });
    expect(answer.statusCode).toBe(500);
    expect(JSON.parse(answer.text)).toMatchObject({ OrthancStatus: 2001 });
    expect(sent()).toHaveLength(STORE_ATTEMPTS);
  });

  it('does not repeat other refusals (a bad file, an internal error of another kind, an answer without OrthancStatus)', async () => {
    orthanc.answerWith(
      { status: 400, body: { OrthancStatus: 15, Message: 'Bad file format' } },
      { status: 500, body: { OrthancStatus: 1, Message: 'Internal error' } },
      { status: 500, body: { OrthancStatus: -1, Message: 'Internal error', Details: 'An unhandled exception was generated inside the HTTP server' } },
      { status: 500, body: 'not json' },
    );
    expect((await orthanc.client.storeInstance(Buffer.from('x'), {})).statusCode).toBe(400);
    expect((await orthanc.client.storeInstance(Buffer.from('x'), {})).statusCode).toBe(500);
    expect((await orthanc.client.storeInstance(Buffer.from('x'), {})).statusCode).toBe(500);
    expect((await orthanc.client.storeInstance(Buffer.from('x'), {})).statusCode).toBe(500);
    expect(sent()).toHaveLength(4);
  });

  it.each([
    ['Orthanc lost its storage race on the first', storageRaceAnswer(2001)],
    ['a kept-alive connection broke off under the first', droppedConnection],
  ])('opens a fresh stream from a stream factory (a spooled file) when %s', async (_, firstAnswer) => {
    orthanc.answerWith(firstAnswer, storedAnswer);
    let opened = 0;
    const answer = await orthanc.client.storeInstance(() => (opened++, Readable.from([Buffer.from('from-disk')])), { 'content-type': 'application/dicom' });
    expect(answer.statusCode).toBe(200);
    expect(opened).toBe(2);
    expect(sent()).toEqual(['from-disk', 'from-disk']);
  });

  it('does not repeat a streamed body, which cannot be sent twice', async () => {
    orthanc.answerWith(storageRaceAnswer(2001), storedAnswer);
    const answer = await orthanc.client.storeInstance(Readable.from([Buffer.from('streamed')]), { 'content-type': 'application/dicom' });
    expect(answer.statusCode).toBe(500);
    expect(sent()).toEqual(['streamed']);
  });
});
