// A temp file written from a stream while others read what has already landed. ZIP uploads
// go through one, so their entries can be stored while the rest of the archive is arriving
// (its directory is at the end: waiting for it left Orthanc idle for the whole upload).
import { open, rm, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { formatBytes, TooLargeError } from './spool.js';

/** How much of an upload may wait in memory while the previous piece is being written. */
const BATCH_BYTES = 1024 * 1024;

/**
 * The stream's chunks in batches: all that arrived while the previous batch was being
 * written, up to BATCH_BYTES (the stream is paused beyond). Writing chunk by chunk (often
 * 16 KiB each) cost a file write and a few promise hops per chunk; joining them into one
 * buffer made V8 run far more full collections (it counts the copies as new memory).
 */
async function* batches(stream: Readable): AsyncGenerator<Buffer[]> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let ended = false;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  const onData = (chunk: Buffer) => {
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= BATCH_BYTES) stream.pause();
    notify();
  };
  const onEnd = () => {
    ended = true;
    notify();
  };
  const onError = (error: Error) => {
    failure ??= error;
    notify();
  };
  const onClose = () => {
    if (!ended) failure ??= new Error('the upload stream closed before it ended');
    notify();
  };
  // The 'error' listener stays: an error emitted after we stopped reading must not be uncaught.
  stream.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  stream.resume();
  try {
    for (;;) {
      if (pending.length) {
        const batch = pending;
        pending = [];
        pendingBytes = 0;
        stream.resume();
        yield batch;
        continue;
      }
      if (failure) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stream.off('data', onData).off('end', onEnd).off('close', onClose);
    // Left early (over the limit, a failed write): as a for-await loop would, stop the stream.
    if (!ended) stream.destroy();
  }
}

export class GrowingFile {
  written = 0;
  private ended = false;
  private failure: Error | null = null;
  private waiters: (() => void)[] = [];

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  static async create(path: string): Promise<GrowingFile> {
    return new GrowingFile(path, await open(path, 'w+', 0o600));
  }

  /** Writes `stream` to the file; past `maxBytes` it stops with TooLargeError. Resolves when the stream ended. */
  async fill(stream: Readable, maxBytes: number): Promise<number> {
    try {
      for await (const batch of batches(stream)) {
        const length = batch.reduce((sum, chunk) => sum + chunk.length, 0);
        if (this.written + length > maxBytes) throw new TooLargeError(`larger than the ${formatBytes(maxBytes)} limit`);
        const { bytesWritten } = await this.handle.writev(batch, this.written);
        // writev may stop short (a signal, a full disk): the rest goes in plain writes, which say why if they fail.
        for (let done = bytesWritten; done < length; ) {
          const rest = Buffer.concat(batch).subarray(done);
          const wrote = (await this.handle.write(rest, 0, rest.length, this.written + done)).bytesWritten;
          if (wrote === 0) throw new Error(`the temp file ${this.path} takes no more bytes`);
          done += wrote;
        }
        this.written += length;
        this.wake();
      }
      this.ended = true;
      this.wake();
      return this.written;
    } catch (error) {
      stream.resume();
      this.failure = error as Error;
      this.wake();
      throw error;
    }
  }

  get complete(): boolean {
    return this.ended;
  }

  /** True once `bytes` bytes are in the file; false if it ended (or failed) shorter. */
  async waitFor(bytes: number): Promise<boolean> {
    while (this.written < bytes && !this.ended && !this.failure) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.written >= bytes;
  }

  /** `length` bytes at `position`, waiting for them; null if the file ends before. */
  async read(position: number, length: number): Promise<Buffer | null> {
    if (!(await this.waitFor(position + length))) return null;
    const buffer = Buffer.allocUnsafe(length);
    const { bytesRead } = await this.handle.read(buffer, 0, length, position);
    return bytesRead === length ? buffer : null;
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const resolve of waiting) resolve();
  }
}
