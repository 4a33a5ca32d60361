import { PassThrough, type Readable } from 'node:stream';
import Dicer from 'dicer';
import { AppError } from '../lib/errors.js';
import { isStorageRace, type OrthancClient } from '../orthanc/client.js';
import { FILE_META_PEEK_BYTES, fileMetaProblem } from '../orthanc/file-meta.js';
import type { OrthancStoreAnswer } from '../studies/study-claims.js';

/** What Orthanc said about one part of a STOW-RS body, stored as its own instance. */
export type StoredPart =
  | { ok: true; orthancId: string; orthancStudyId: string; newlyStored: boolean; sopClassUid: string; sopInstanceUid: string; seriesInstanceUid: string; studyInstanceUid: string }
  | { ok: false; reason: string };

/**
 * How a STOW-RS body went. `broken` says why the multipart body itself is unusable (cut
 * before its closing boundary, no part with the boundary given, unreadable part headers);
 * the parts received in full before the break are in `parts`, the one cut off is never
 * stored. `unavailable` is set as soon as Orthanc could not be reached: the rest of the
 * body is only drained, and `parts` is then incomplete.
 */
export type StowOutcome = { parts: StoredPart[]; broken: string | null; unavailable: string | null };

export function boundaryOf(contentType: string): string | null {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match ? (match[1] ?? match[2] ?? null) : null;
}

// Connection-level failures (refused, reset, unreachable, timed out), undici's or Node's codes.
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Whether an error from a request to Orthanc means the archive cannot be reached (not that it refused the file). */
export function isArchiveUnreachable(error: unknown): boolean {
  if (error instanceof AppError) return error.status === 503 || error.code === 'orthanc_unavailable';
  const code = (error as { code?: unknown } | null)?.code ?? (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof code === 'string' && UNREACHABLE_CODES.has(code);
}

export const archiveUnavailable = () =>
  new AppError(503, 'orthanc_unavailable', 'The image archive (Orthanc) cannot be reached, so this STOW-RS request could not be stored. Try again once it is back.');

/** The first `limit` bytes of a part (or all of it when shorter), leaving the part paused with nothing lost. */
function peek(part: Readable, limit: number): Promise<{ chunks: Buffer[]; head: Buffer; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (ended: boolean) => {
      part.off('data', onData);
      part.off('end', onEnd);
      part.off('error', onError);
      if (!ended) part.pause();
      const all = Buffer.concat(chunks, size);
      resolve({ chunks: all.length ? [all] : [], head: all.subarray(0, Math.min(limit, all.length)), ended });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) finish(false);
    };
    const onEnd = () => finish(true);
    const onError = (error: Error) => {
      part.off('data', onData);
      part.off('end', onEnd);
      reject(error);
    };
    part.on('data', onData);
    part.once('end', onEnd);
    part.once('error', onError);
  });
}

/**
 * Splits a multipart/related body and posts each part to Orthanc's /instances as it
 * arrives, streamed, so Orthanc reports per instance whether it was new. (Orthanc's own
 * STOW does not say, and the gateway must be able to undo only what this request added.)
 *
 * Each part first has its File Meta group checked (Orthanc 1.10.1 crashes on some broken
 * ones, see file-meta.ts), then streams to Orthanc through a PassThrough: whatever happens
 * to the upstream request (refused, reset, answered early), the part is drained so the
 * parser keeps going and the promise always settles. A part cut off by the end of the body
 * has its upload aborted, so Orthanc never stores a truncated file.
 */
export function storeParts(orthanc: OrthancClient, body: Readable, boundary: string, onStored: (answer: OrthancStoreAnswer) => void, track: <T>(post: Promise<T>) => Promise<T>): Promise<StowOutcome> {
  return new Promise((resolveAll) => {
    const parser = new Dicer({ boundary });
    const results: Promise<StoredPart>[] = [];
    let broken: string | null = null;
    let unavailable: string | null = null;
    let settled = false;
    let partCount = 0;

    const finish = () => {
      if (settled) return;
      void Promise.all(results).then((parts) => {
        if (settled) return;
        settled = true;
        resolveAll({ parts, broken, unavailable });
      });
    };
    const markUnavailable = (error: unknown) => {
      if (unavailable) return;
      unavailable = error instanceof Error ? error.message : String(error);
      // Answer now; the rest of the body is drained in the background without posting.
      if (!settled) {
        settled = true;
        resolveAll({ parts: [], broken: null, unavailable });
      }
    };
    const breakOff = (reason: string) => {
      broken ??= reason;
    };

    parser.on('part', (part: Readable) => {
      const index = ++partCount;
      results.push(
        new Promise<StoredPart>((resolvePart) => {
          let headerSeen = false;
          const state: PartState = { cut: null, onCut: null };
          // Dicer emits 'error' on the one part it was filling when the body ends early. It may
          // come at any point (even between the peek and the upload), so it is noted here; the
          // listener stays, so a second error on the same part is never an uncaught one.
          part.on('error', (error: Error) => {
            if (state.cut) return;
            state.cut = error;
            state.onCut?.(error);
            breakOff(headerSeen ? `part ${index} was cut off (${error.message})` : `the headers of part ${index} are unreadable (${error.message})`);
            if (!headerSeen) resolvePart({ ok: false, reason: `part ${index}: unreadable part headers` });
          });
          part.once('header', () => {
            headerSeen = true;
            void storeOne(index, part, state).then(resolvePart);
          });
        }),
      );
    });

    const storeOne = async (index: number, part: Readable, state: PartState): Promise<StoredPart> => {
      const notReachable: StoredPart = { ok: false, reason: `part ${index}: not stored, the archive cannot be reached` };
      if (unavailable) return drained(part, notReachable);
      let peeked: Awaited<ReturnType<typeof peek>>;
      try {
        peeked = await peek(part, FILE_META_PEEK_BYTES);
      } catch (error) {
        return drained(part, { ok: false, reason: `part ${index} was cut off: ${(error as Error).message}` });
      }
      if (state.cut) return drained(part, { ok: false, reason: `part ${index} was cut off before its end` });
      const problem = fileMetaProblem(peeked.head, peeked.ended ? peeked.head.length : null);
      if (problem) return drained(part, { ok: false, reason: `part ${index}: ${problem}` });
      if (unavailable) return drained(part, notReachable);

      const upload = new PassThrough();
      upload.on('error', () => undefined); // undici destroys it when the request fails; the post's rejection says why
      let partEnded = peeked.ended;
      if (!partEnded) {
        part.once('end', () => (partEnded = true));
        // The part cut off (body ended or failed early): its bytes must not become an instance.
        state.onCut = (error) => upload.destroy(error);
      }
      for (const chunk of peeked.chunks) upload.write(chunk);
      if (partEnded) upload.end();
      else part.pipe(upload);

      try {
        const { statusCode, text } = await track(orthanc.storeInstance(upload, { 'content-type': 'application/dicom' }));
        if (state.cut) return { ok: false, reason: `part ${index} was cut off before its end` };
        if (isStorageRace(statusCode, text)) return { ok: false, reason: `part ${index}: the archive could not write it just now (Orthanc 1.10's storage-folder race); send it again` };
        if (statusCode >= 400) return { ok: false, reason: `part ${index}: ${text.includes('Bad file format') ? 'not a readable DICOM instance' : `the archive answered ${statusCode}`}` };
        const answer = JSON.parse(text) as OrthancStoreAnswer;
        onStored(answer);
        return await describeStored(orthanc, answer);
      } catch (error) {
        if (state.cut) return { ok: false, reason: `part ${index} was cut off before its end` };
        if (isArchiveUnreachable(error)) {
          markUnavailable(error);
          return notReachable;
        }
        return { ok: false, reason: `part ${index}: the archive could not store it (${(error as Error).message})` };
      } finally {
        // Whatever became of the upload, the rest of the part is read so the parser moves on.
        if (!partEnded) {
          part.unpipe(upload);
          part.resume();
        }
      }
    };

    parser.on('finish', finish);
    parser.on('error', (error: Error) => {
      const early = /unexpected end/i.test(error.message);
      breakOff(early ? (partCount === 0 ? 'no part delimited by the boundary given in Content-Type was found' : 'the body ended before its closing boundary') : error.message);
      // Dicer may have unpiped the body: keep reading it so the request completes.
      body.resume();
    });
    body.on('error', (error: Error) => {
      breakOff(`the request body could not be read (${error.message})`);
      // The parser will not finish. The part it was filling (if any) is cut, as Dicer does
      // itself at an early end; then settle with what was received in full.
      const filling = (parser as unknown as { _part?: Readable; _ignoreData?: boolean })._part;
      if (filling && !(parser as unknown as { _ignoreData?: boolean })._ignoreData) filling.emit('error', new Error('the request body failed'));
      finish();
    });
    body.pipe(parser);
  });
}

/** Whether Dicer cut a part off (the body ended or failed inside it), and what to do then. */
type PartState = { cut: Error | null; onCut: ((error: Error) => void) | null };

/** Reads the rest of a part that is not posted, so the parser continues. */
function drained(part: Readable, result: StoredPart): StoredPart {
  part.resume();
  return result;
}

async function describeStored(orthanc: OrthancClient, stored: OrthancStoreAnswer): Promise<StoredPart> {
  const instance = await orthanc.json<{ MainDicomTags: { SOPInstanceUID: string } }>('GET', `/instances/${stored.ID}`);
  const series = await orthanc.json<{ MainDicomTags: { SeriesInstanceUID: string } }>('GET', `/series/${stored.ParentSeries}`);
  const study = await orthanc.json<{ MainDicomTags: { StudyInstanceUID: string } }>('GET', `/studies/${stored.ParentStudy}`);
  const sopClass = await orthanc.raw('GET', `/instances/${stored.ID}/metadata/SopClassUid`);
  return {
    ok: true,
    orthancId: stored.ID,
    orthancStudyId: stored.ParentStudy,
    newlyStored: stored.Status === 'Success',
    sopClassUid: sopClass.statusCode === 200 ? (await sopClass.body.text()).trim() : (await sopClass.body.text(), ''),
    sopInstanceUid: instance.MainDicomTags.SOPInstanceUID,
    seriesInstanceUid: series.MainDicomTags.SeriesInstanceUID,
    studyInstanceUid: study.MainDicomTags.StudyInstanceUID,
  };
}
