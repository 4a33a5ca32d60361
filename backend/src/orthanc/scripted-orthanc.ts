import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OrthancClient } from './client.js';

// For unit tests only: a stand-in for Orthanc's POST /instances that answers from a script,
// so a caller's handling of each answer can be driven case by case. The integration suites
// store into the real Orthanc.
export type ScriptedAnswer = { status: number; body: unknown };

export const storageRaceAnswer = (orthancStatus: number): ScriptedAnswer => ({
  status: 500,
  body: { HttpError: 'Internal Server Error', HttpStatus: 500, Message: 'Unable to create a subdirectory or a file in the file storage', OrthancStatus: orthancStatus },
});

/** The answer of Orthanc 1.10.1 when a top storage folder is removed while a store makes its subfolder (seen on this machine). */
export const filesystemErrorAnswer: ScriptedAnswer = {
  status: 500,
  body: { Details: 'Error while accessing the filesystem: /var/lib/orthanc/storage/f7/17', HttpError: 'Internal Server Error', HttpStatus: 500, Message: 'Internal error', OrthancError: 'Internal error', OrthancStatus: -1 },
};

/** Not an answer: the connection is cut once the request is read, as by a kept-alive connection Orthanc closed. */
export const droppedConnection: ScriptedAnswer = { status: 0, body: null };

export const storedAnswer: ScriptedAnswer = { status: 200, body: { ID: 'instance-id', ParentStudy: 'study-id', ParentSeries: 'series-id', Status: 'Success' } };

async function bodyOf(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startScriptedOrthanc() {
  const script: ScriptedAnswer[] = [];
  const received: Buffer[] = [];
  const server = createServer((request, response) => {
    void bodyOf(request).then((body) => {
      received.push(body);
      const answer = script.shift() ?? storedAnswer;
      if (answer.status === 0) return void request.socket.destroy();
      response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new OrthancClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, user: 'u', password: 'p', timeoutMs: 5_000 });
  return {
    client,
    received,
    /** The next answers, in order; after them every request is answered as stored. */
    answerWith(...answers: ScriptedAnswer[]) {
      script.splice(0, script.length, ...answers);
      received.splice(0, received.length);
    },
    async close() {
      await client.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
