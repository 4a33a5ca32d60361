import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OrthancClient } from './client.js';

// A stand-in for Orthanc's POST /instances that answers from a script, so the retry logic can
// be driven through each case; the integration suites store into the real Orthanc.
type Answer = { status: number; body: unknown };
let script: Answer[] = [];
let received: string[] = [];
let server: Server;
let client: OrthancClient;

const storageRace = (status: number) => ({ status: 500, body: { HttpError: 'Internal Server Error', HttpStatus: 500, Message: 'Unable to create a subdirectory or a file in the file storage', OrthancStatus: status } });
const stored = { status: 200, body: { ID: 'abc', ParentStudy: 'study', Status: 'Success' } };

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

beforeAll(async () => {
  server = createServer((request, response) => {
    void bodyOf(request).then((body) => {
      received.push(body);
      const answer = script.shift() ?? stored;
      response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new OrthancClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, user: 'u', password: 'p', timeoutMs: 5_000 });
});

afterAll(async () => {
  await client.close();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  script = [];
  received = [];
});

describe('OrthancClient.storeInstance', () => {
  it('sends the instance again when Orthanc 1.10 loses its storage-directory race (OrthancStatus 2001, then 14)', async () => {
    script = [storageRace(2001), storageRace(14), stored];
    const answer = await client.storeInstance([Buffer.from('DICM'), Buffer.from('-pieces')], { 'content-type': 'application/dicom' });
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ Status: 'Success' });
    expect(received).toEqual(['DICM-pieces', 'DICM-pieces', 'DICM-pieces']);
  });

  it('gives up after three attempts and hands back Orthanc\'s last answer', async () => {
    script = [storageRace(2001), storageRace(2001), storageRace(2001), stored];
    const answer = await client.storeInstance(Buffer.from('x'), { 'content-type': 'application/dicom' });
    expect(answer.statusCode).toBe(500);
    expect(JSON.parse(answer.text)).toMatchObject({ OrthancStatus: 2001 });
    expect(received).toHaveLength(3);
  });

  it('does not repeat other refusals (a bad file, an internal error of another kind)', async () => {
    script = [{ status: 400, body: { OrthancStatus: 15, Message: 'Bad file format' } }];
    expect((await client.storeInstance(Buffer.from('x'), {})).statusCode).toBe(400);
    script = [{ status: 500, body: { OrthancStatus: 1, Message: 'Internal error' } }];
    expect((await client.storeInstance(Buffer.from('x'), {})).statusCode).toBe(500);
    script = [{ status: 500, body: 'not json' }];
    expect((await client.storeInstance(Buffer.from('x'), {})).statusCode).toBe(500);
    expect(received).toHaveLength(3);
  });

  it('does not repeat a streamed body, which cannot be sent twice', async () => {
    script = [storageRace(2001), stored];
    const answer = await client.storeInstance(Readable.from([Buffer.from('streamed')]), { 'content-type': 'application/dicom' });
    expect(answer.statusCode).toBe(500);
    expect(received).toEqual(['streamed']);
  });
});
