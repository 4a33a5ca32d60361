// Reads a multipart/form-data upload as it arrives (@fastify/busboy), one file at a time, and hands
// each file to the import run. The request is read only as fast as files are stored, so
// memory holds at most a few files whatever the upload's size.
import { once } from 'node:events';
import type { Readable } from 'node:stream';
// fastify's busboy, not busboy 1.x: it finds part boundaries with Buffer.indexOf, where busboy's
// JavaScript search took ~7 % of the backend's CPU during an import.
import { Busboy, type BusboyInstance } from '@fastify/busboy';
import { AppError } from '../lib/errors.js';
import { HEAD_BYTES, MEMORY_FILE_BYTES, type ImportRun } from './import-run.js';
import { formatBytes, spool, TooLargeError } from './spool.js';

export type UploadLimits = { maxRequestBytes: number; maxFileBytes: number; tmpDir: string };

export type UploadSummary = { files: number; fields: Record<string, string> };

/** Field names a client may send besides files. */
const knownFields = new Set(['patientName', 'patientId', 'studyDescription', 'modality', 'seriesDescription', 'patientBirthDate', 'patientSex']);

/** The first `bytes` bytes of a paused stream, put back so the stream still starts with them. */
async function peek(stream: Readable, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < bytes && !stream.readableEnded && !stream.destroyed) {
    const chunk = stream.read() as Buffer | null;
    if (chunk) {
      chunks.push(chunk);
      length += chunk.length;
      continue;
    }
    await new Promise<void>((resolve) => {
      const done = () => {
        stream.off('readable', done).off('end', done).off('error', done).off('close', done);
        resolve();
      };
      stream.on('readable', done).on('end', done).on('error', done).on('close', done);
    });
  }
  const head = Buffer.concat(chunks);
  if (head.length) stream.unshift(head);
  return head;
}

/** A ZIP's first local file header (an archive that starts elsewhere goes the spooled way). */
const isZipStart = (head: Buffer) => head.length >= 4 && head.readUInt32LE(0) === 0x04034b50;

/** Feeds `body` through busboy into `run`, file by file. */
export async function receiveUpload(run: ImportRun, input: { body: Readable; contentType: string; limits: UploadLimits }): Promise<UploadSummary> {
  if (!/^multipart\/form-data\b/i.test(input.contentType)) throw new AppError(415, 'unsupported_media_type', 'Send files as multipart/form-data (one part per file).');
  let parser: BusboyInstance;
  try {
    parser = new Busboy({
      headers: { 'content-type': input.contentType },
      preservePath: true,
      // A file part buffers up to this much while the import takes no more of it (see GrowingFile.fill).
      fileHwm: 1024 * 1024,
      limits: { fileSize: input.limits.maxFileBytes, fields: 100, fieldSize: 64 * 1024, parts: 1_000_000 },
    });
  } catch (error) {
    throw new AppError(400, 'bad_multipart', `The upload's Content-Type is not usable multipart/form-data (${(error as Error).message}).`);
  }

  const fields: Record<string, string> = {};
  let files = 0;
  let pendingFiles = 0;
  let handlers: Promise<void> = Promise.resolve();
  let parseError: Error | null = null;
  let wake: (() => void) | null = null;
  const settle = () => {
    wake?.();
    wake = null;
  };

  parser.on('field', (name, value) => {
    if (knownFields.has(name)) fields[name] = value;
  });
  // Destroying the parser leaves its part streams open (fastify's busboy does not end them):
  // they are ended here, or a handler reading one would wait for ever.
  const openParts = new Set<Readable>();
  parser.on('file', (_field, stream, filename) => {
    files++;
    pendingFiles++;
    openParts.add(stream);
    stream.once('close', () => openParts.delete(stream)).once('end', () => openParts.delete(stream));
    const name = (filename || `file-${files}`).replace(/\\/g, '/').replace(/^\/+/, '').slice(0, 1024);
    const fieldsNow = { ...fields };
    let waiting = true;
    const stopWaiting = () => {
      if (!waiting) return;
      waiting = false;
      pendingFiles--;
      settle();
    };
    const handle = async () => {
      try {
        const release = await run.acquire();
        stopWaiting();
        let truncated = false;
        stream.once('limit', () => (truncated = true));
        if (isZipStart(await peek(stream, 4))) {
          // Entries take their own slots; the archive is read while it is still arriving.
          release();
          await run.receiveZip(name, stream, { maxBytes: input.limits.maxFileBytes, exceeded: () => truncated });
          return;
        }
        let spooled;
        try {
          spooled = await spool(stream, { maxBytes: Number.MAX_SAFE_INTEGER, memoryBytes: MEMORY_FILE_BYTES, tmpDir: input.limits.tmpDir, headBytes: HEAD_BYTES });
        } catch (error) {
          release();
          if (error instanceof TooLargeError) run.record({ name, outcome: 'rejected', reason: `the file is ${error.message}`, instances: 0, studyInstanceUid: null });
          else throw error;
          return;
        }
        run.counters.bytesReceived += spooled.size;
        if (truncated) {
          release();
          run.record({ name, outcome: 'rejected', reason: `the file is larger than the ${formatBytes(input.limits.maxFileBytes)} per-file limit (PD_IMPORT_MAX_FILE_BYTES)`, instances: 0, studyInstanceUid: null });
          return;
        }
        run.spawn(() => run.processFile(name, spooled, release, { insideZip: false, nifti: fieldsNow }));
      } finally {
        stopWaiting();
      }
    };
    const started = handle();
    handlers = handlers.then(() => started);
    // A failing handler ends the upload.
    started.catch((error: Error) => {
      parseError ??= error;
      stream.resume();
      settle();
    });
  });
  parser.on('error', (error: Error) => {
    parseError ??= new AppError(400, 'bad_multipart', `The upload is not valid multipart/form-data (${error.message}). The files before the broken part were imported.`);
    settle();
  });
  const closed = once(parser, 'finish').catch(() => undefined);
  // A cancel or a failed run must wake a read loop that waits for slots.
  run.signal.addEventListener('abort', settle, { once: true });

  let received = 0;
  try {
    // destroyOnReturn false: leaving this loop by a throw must not destroy the body, which may
    // be the client's socket; the catch below reads it away so the answer still gets out.
    for await (const chunk of input.body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > input.limits.maxRequestBytes) {
        throw new AppError(413, 'payload_too_large', `The upload is larger than ${formatBytes(input.limits.maxRequestBytes)}. Split it into several uploads to the same import.`);
      }
      if (run.signal.aborted) throw run.failure ?? new AppError(409, 'import_cancelled', 'The import was cancelled; the rest of the upload was not read.');
      if (parseError) throw parseError;
      if (!parser.write(chunk)) await Promise.race([once(parser, 'drain').catch(() => undefined), new Promise<void>((resolve) => (wake = resolve))]);
      // Backpressure: stop reading while several received files still wait for a slot.
      while (pendingFiles > 2 && !parseError && !run.signal.aborted) await new Promise<void>((resolve) => (wake = resolve));
    }
    parser.end();
    await closed;
    await handlers.catch(() => undefined);
    if (parseError) throw parseError;
  } catch (error) {
    parser.destroy();
    for (const part of openParts) part.destroy();
    await handlers.catch(() => undefined);
    // The body may be the client's socket itself: read the rest away for a moment (Node closes
    // the connection once answered, and a client still writing then sees a reset, not the
    // answer), and destroy it only if the client keeps sending.
    const body = input.body;
    body.resume();
    if (!body.readableEnded && !body.destroyed) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([once(body, 'end').catch(() => undefined), once(body, 'close').catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, 1_000)))]);
      clearTimeout(timer);
    }
    setTimeout(() => body.readableEnded || body.destroy(), 2_000).unref();
    throw error;
  } finally {
    await run.idle();
  }
  return { files, fields };
}
