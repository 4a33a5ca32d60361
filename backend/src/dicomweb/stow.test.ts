import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScriptedOrthanc, storageRaceAnswer } from '../orthanc/scripted-orthanc.js';
import { storeParts } from './stow.js';

const sharedData = resolve(import.meta.dirname, '../../../../shared/data');
const boundary = 'stow-test-boundary';

function multipartRelated(parts: Buffer[]): Buffer {
  const pieces = parts.flatMap((part) => [Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), part, Buffer.from('\r\n')]);
  return Buffer.concat([...pieces, Buffer.from(`--${boundary}--\r\n`)]);
}

let orthanc: Awaited<ReturnType<typeof startScriptedOrthanc>>;
beforeAll(async () => (orthanc = await startScriptedOrthanc()));
afterAll(() => orthanc.close());

describe('storeParts', () => {
  it("tells the client to send a part again when Orthanc 1.10 lost its storage-folder race (a streamed part is not re-sent)", async () => {
    orthanc.answerWith(storageRaceAnswer(2001));
    const dicom = readFileSync(resolve(sharedData, 'ct-volume-pancreas-tcia/1-050.dcm'));
    const outcome = await storeParts(orthanc.client, Readable.from([multipartRelated([dicom])]), boundary, () => undefined, (post) => post);
    expect(outcome.broken).toBeNull();
    expect(outcome.parts).toEqual([{ ok: false, reason: expect.stringMatching(/part 1: the archive could not write it just now .*send it again/) }]);
    expect(orthanc.received).toHaveLength(1);
    expect(orthanc.received[0]!.equals(dicom)).toBe(true);
  });
});
