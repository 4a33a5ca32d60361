// A temp file written from a stream while others read what has already landed. ZIP uploads
// go through one, so their entries can be stored while the rest of the archive is arriving
// (its directory is at the end: waiting for it left Orthanc idle for the whole upload).
import { open, rm, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { formatBytes, TooLargeError } from './spool.js';

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
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (this.written + chunk.length > maxBytes) throw new TooLargeError(`larger than the ${formatBytes(maxBytes)} limit`);
        await this.handle.write(chunk, 0, chunk.length, this.written);
        this.written += chunk.length;
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
