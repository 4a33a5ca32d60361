// A ZIP upload as it arrives. The live reader (liveZipEntries) takes entries from it while the
// rest is still arriving (the directory is at the end: waiting for it left Orthanc idle for the
// whole upload). What that reader has not consumed yet stays in memory; what it consumed is
// dropped; only what the directory pass may still need is written to the temp file, at its
// own offset, so consumed ranges stay holes. Writing every byte cost the backend about a
// core-second per 500 MB on the 2-core VMs we benchmark on (they report free pages to the
// host, so each new page-cache page is faulted in again): a third of its CPU during an
// import, taken from Orthanc.
import { Readable } from 'node:stream';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { formatBytes, TooLargeError } from './spool.js';

/** How much not yet consumed may wait in memory; past it the upload is paused. */
export const WINDOW_BYTES = 2 * 1024 * 1024;
/**
 * How far the window may grow for a reader waiting on one entry (kept whole in memory by the
 * import anyway, up to MEMORY_FILE_BYTES); for a larger one the window moves to the file instead.
 */
export const MAX_WINDOW_BYTES = 40 * 1024 * 1024;
/** At most this much goes to the file in one write. */
const WRITE_BATCH_BYTES = 1024 * 1024;

type Chunk = { at: number; data: Buffer };

/** One buffer of `views` (no copy when there is only one). */
const joined = (views: Buffer[], length: number): Buffer => (views.length === 1 ? views[0]! : Buffer.concat(views, length));

export class GrowingFile {
  /** Bytes arrived so far. */
  received = 0;
  private ended = false;
  private failure: Error | null = null;
  private waiters: (() => void)[] = [];
  /** The bytes from chunks[0].at to `received`, in order; everything before is on disk or consumed. */
  private chunks: Chunk[] = [];
  private held = 0;
  private consumedUpTo = 0;
  /** Set when the live reader ended: from then on every byte not consumed must reach the file. */
  private keepAll = false;
  private pumping = false;
  private pumped: Promise<void> = Promise.resolve();
  private source: Readable | null = null;
  private paused = false;
  private closed = false;
  /** The byte count the waiting reader needs. */
  private wanted = 0;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly windowBytes: number,
    private readonly maxWindowBytes: number,
  ) {}

  static async create(path: string, options: { windowBytes?: number; maxWindowBytes?: number } = {}): Promise<GrowingFile> {
    return new GrowingFile(path, await open(path, 'w+', 0o600), options.windowBytes ?? WINDOW_BYTES, options.maxWindowBytes ?? MAX_WINDOW_BYTES);
  }

  /** Takes `stream` in; past `maxBytes` it stops with TooLargeError. Resolves with the byte count when the stream ended. */
  fill(stream: Readable, maxBytes: number): Promise<number> {
    this.source = stream;
    return new Promise<number>((resolve, reject) => {
      const stop = (error: Error) => {
        stream.off('data', onData).off('end', onEnd).off('close', onClose);
        if (!this.ended) stream.destroy();
        this.fail(error);
        reject(error);
      };
      const onData = (chunk: Buffer) => {
        if (this.received + chunk.length > maxBytes) return stop(new TooLargeError(`larger than the ${formatBytes(maxBytes)} limit`));
        this.chunks.push({ at: this.received, data: chunk });
        this.received += chunk.length;
        this.held += chunk.length;
        if (this.held > this.limit() && !this.paused) {
          this.paused = true;
          stream.pause();
        }
        this.wake();
        this.pump();
      };
      const onEnd = () => {
        stream.off('data', onData).off('close', onClose);
        this.ended = true;
        this.wake();
        if (this.failure) reject(this.failure);
        else resolve(this.received);
      };
      const onClose = () => {
        if (!this.ended) stop(new Error('the upload stream closed before it ended'));
      };
      // Never removed: an error emitted after we stopped reading must not be uncaught.
      stream.on('error', (error: Error) => {
        if (!this.ended) stop(error);
      });
      stream.on('data', onData).on('end', onEnd).on('close', onClose);
      this.onWriteFailure = stop;
      stream.resume();
    });
  }

  get complete(): boolean {
    return this.ended;
  }

  /** True once `bytes` bytes have arrived; false if the upload ended (or failed) shorter. */
  async waitFor(bytes: number): Promise<boolean> {
    while (this.received < bytes && !this.ended && !this.failure) {
      const waiting = new Promise<void>((resolve) => this.waiters.push(resolve));
      this.wanted = Math.max(this.wanted, bytes);
      // A paused upload must take more (the window grows to the entry), or make room in the file.
      this.flow();
      this.pump();
      await waiting;
    }
    return this.received >= bytes;
  }

  /** `length` bytes at `position`, waiting for them; null if the upload ends before. */
  async read(position: number, length: number): Promise<Buffer | null> {
    if (!(await this.waitFor(position + length))) return null;
    if (length === 0) return Buffer.alloc(0);
    const memoryStart = this.chunks.length ? this.chunks[0]!.at : this.received;
    if (position >= memoryStart) return joined(this.fromMemory(position, length), length);
    // Taken before the file read awaits: the chunks may move to the file meanwhile.
    const tail = position + length > memoryStart ? joined(this.fromMemory(memoryStart, position + length - memoryStart), position + length - memoryStart) : null;
    const fromDisk = Math.min(length, memoryStart - position);
    const buffer = Buffer.allocUnsafe(length);
    const { bytesRead } = await this.handle.read(buffer, 0, fromDisk, position);
    if (bytesRead !== fromDisk) return null;
    tail?.copy(buffer, fromDisk);
    return buffer;
  }

  /**
   * The same bytes as `read`, as views of the chunks they arrived in while those are still in
   * memory: an entry of an import is passed on to Orthanc without being copied first (copying
   * every entry doubled the bytes the backend allocated, and with them V8's collections).
   */
  async views(position: number, length: number): Promise<Buffer[] | null> {
    if (!(await this.waitFor(position + length))) return null;
    if (length === 0) return [];
    const memoryStart = this.chunks.length ? this.chunks[0]!.at : this.received;
    if (position >= memoryStart) return this.fromMemory(position, length);
    const bytes = await this.read(position, length);
    return bytes && [bytes];
  }

  /** `length` bytes from `start` as a stream, read piece by piece. */
  stream(start: number, length: number): Readable {
    const read = (position: number, size: number) => this.read(position, size);
    return Readable.from(
      (async function* () {
        for (let at = start; at < start + length; at += WRITE_BATCH_BYTES) {
          const piece = await read(at, Math.min(WRITE_BATCH_BYTES, start + length - at));
          if (!piece) throw new Error('the archive ends inside this entry');
          yield piece;
        }
      })(),
      { objectMode: false },
    );
  }

  /** The live reader is done with every byte before `offset`: those need never reach the file. */
  consumed(offset: number): void {
    if (offset <= this.consumedUpTo) return;
    this.consumedUpTo = offset;
    this.pump();
  }

  /** The live reader stopped: whatever it did not consume goes to the file, for the directory pass. */
  liveEnded(): void {
    this.keepAll = true;
    this.pump();
  }

  /** Waits until the file holds every byte that was not consumed (call once the upload ended). */
  async spillRest(): Promise<void> {
    this.keepAll = true;
    for (;;) {
      this.pump();
      await this.pumped;
      if (this.failure) throw this.failure;
      if (!this.chunks.length || this.closed) return;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.chunks = [];
    this.held = 0;
    await this.pumped;
    await this.handle.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }

  private onWriteFailure: (error: Error) => void = (error) => this.fail(error);

  private fail(error: Error): void {
    this.failure ??= error;
    this.wake();
  }

  private fromMemory(position: number, length: number): Buffer[] {
    // The first chunk that ends after `position` (binary search: a full window is ~1,000 chunks).
    let low = 0;
    let high = this.chunks.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      const chunk = this.chunks[middle]!;
      if (chunk.at + chunk.data.length <= position) low = middle + 1;
      else high = middle;
    }
    const views: Buffer[] = [];
    let taken = 0;
    for (let i = low; taken < length; i++) {
      const chunk = this.chunks[i]!;
      const from = i === low ? position - chunk.at : 0;
      const view = chunk.data.subarray(from, Math.min(chunk.data.length, from + length - taken));
      views.push(view);
      taken += view.length;
    }
    return views;
  }

  /** What may be held now: the window, or up to the end of the entry a reader waits for, within reach. */
  private limit(): number {
    if (!this.waiters.length) return this.windowBytes;
    const reach = this.wanted - (this.chunks.length ? this.chunks[0]!.at : this.received);
    return reach <= this.maxWindowBytes ? Math.max(this.windowBytes, reach) : this.windowBytes;
  }

  private flow(): void {
    if (this.paused && this.held <= this.limit()) {
      this.paused = false;
      this.source?.resume();
    }
  }

  private dropFront(count: number): void {
    for (const chunk of this.chunks.splice(0, count)) this.held -= chunk.data.length;
    this.flow();
  }

  /** Drops consumed chunks and writes the ones that must be kept; one run at a time. */
  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    this.pumped = (async () => {
      try {
        while (this.chunks.length && !this.closed) {
          let consumed = 0;
          while (consumed < this.chunks.length && this.chunks[consumed]!.at + this.chunks[consumed]!.data.length <= this.consumedUpTo) consumed++;
          if (consumed) {
            this.dropFront(consumed);
            continue;
          }
          // Spilled only for a reader waiting on more than the window may hold.
          const mustWrite = this.keepAll || (this.waiters.length > 0 && this.held >= this.limit());
          if (!mustWrite) return;
          const first = this.chunks[0]!;
          const from = Math.max(first.at, this.consumedUpTo);
          const batch = [first.data.subarray(from - first.at)];
          let bytes = batch[0]!.length;
          while (batch.length < this.chunks.length && bytes < WRITE_BATCH_BYTES) {
            const next = this.chunks[batch.length]!.data;
            batch.push(next);
            bytes += next.length;
          }
          await this.writeAll(batch, bytes, from);
          this.dropFront(batch.length);
        }
      } catch (error) {
        if (!this.closed) this.onWriteFailure(error as Error);
      } finally {
        this.pumping = false;
      }
    })();
  }

  private async writeAll(batch: Buffer[], length: number, position: number): Promise<void> {
    const { bytesWritten } = await this.handle.writev(batch, position);
    // writev may stop short (a signal, a full disk): the rest goes in plain writes, which say why if they fail.
    for (let done = bytesWritten; done < length; ) {
      const rest = Buffer.concat(batch).subarray(done);
      const wrote = (await this.handle.write(rest, 0, rest.length, position + done)).bytesWritten;
      if (wrote === 0) throw new Error(`the temp file ${this.path} takes no more bytes`);
      done += wrote;
    }
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    this.wanted = 0;
    for (const resolve of waiting) resolve();
  }
}
