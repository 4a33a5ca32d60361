// The export's ZIP file: stored (uncompressed) entries, ZIP64 when needed (archiver), each
// entry hashed (SHA-256) as it goes in, one entry at a time, and only as fast as the file
// takes them.
//
// archiver writes a Buffer entry into its zip stream at once, whatever the file has taken so
// far, and reports it done right away: counting appended entries against finished ones (the
// earlier backpressure) never waited, and a producer faster than the disk piled every instance
// up in memory (~1 GB export: hundreds of MB). So after a Buffer entry this waits until the
// file is within PENDING_BYTES_MAX of what was appended. A stream entry is pulled through pipes
// that wait for the file by themselves.
import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGzip } from 'node:zlib';
import { ZipArchive } from 'archiver';

export type FileEntry = { path: string; sha256: string; bytes: number };
/** A whole file (one buffer, or its chunks in order), or a stream of it. */
export type EntrySource = Buffer | Buffer[] | Readable;

/** Appended but not yet in the file, at most (beyond the entry being appended). */
const PENDING_BYTES_MAX = 4 * 1024 * 1024;
const DRAIN_POLL_MS = 5;
/** A local file header without its name (APPNOTE 4.3.7); with a data descriptor, 16 bytes more. */
const LOCAL_HEADER_BYTES = 30;
const DATA_DESCRIPTOR_BYTES = 16;
/** Entries carry a fixed date: the same data gives the same bytes. */
const ENTRY_DATE = new Date(0);
/** A buffer to gzip goes in slices (views, not copies), so backpressure applies within it too. */
const GZIP_SLICE_BYTES = 256 * 1024;

function* slicesOf(chunks: Buffer[]): Generator<Buffer> {
  for (const chunk of chunks) for (let start = 0; start < chunk.length; start += GZIP_SLICE_BYTES) yield chunk.subarray(start, start + GZIP_SLICE_BYTES);
}

export class ExportZip {
  private readonly archive = new ZipArchive({ store: true });
  private readonly out: WriteStream;
  /** Rejects when the archive or the file fails; every wait races it. */
  private readonly failed: Promise<never>;
  /** The streams of the entry being appended, destroyed if the ZIP is discarded mid-entry. */
  private readonly open = new Set<Readable | Transform>();
  /** Bytes of entries (headers and data) handed to the archive so far. */
  private appendedBytes = 0;

  constructor(readonly path: string) {
    this.out = createWriteStream(path, { mode: 0o600 });
    this.failed = new Promise<never>((_, reject) => {
      this.archive.on('error', reject);
      this.out.on('error', reject);
    });
    this.failed.catch(() => undefined);
    this.archive.pipe(this.out);
  }

  /** Bytes of ZIP produced so far. */
  get bytesProduced(): number {
    return this.archive.pointer();
  }

  /** Bytes handed to the file so far (what is appended but not yet here is in memory). */
  get bytesOnDisk(): number {
    return this.out.bytesWritten;
  }

  /**
   * Appends one entry and resolves with its SHA-256 and size once the archive has it and the
   * file is close behind. A whole file keeps the plain layout (sizes and CRC in the local
   * header); a stream, or `gzip` (compressed on the way; the entry is still stored: the file
   * *is* the .gz), gets a data descriptor. One entry at a time: await each before the next.
   */
  async append(name: string, source: EntrySource, options: { gzip?: boolean } = {}): Promise<FileEntry> {
    const header = LOCAL_HEADER_BYTES + Buffer.byteLength(name);
    if (source instanceof Readable || options.gzip) {
      const input = source instanceof Readable ? source : Readable.from(slicesOf([source].flat()), { objectMode: false });
      const entry = await this.appendStream(name, input, options.gzip ?? false);
      this.appendedBytes += header + entry.bytes + DATA_DESCRIPTOR_BYTES;
      return entry;
    }
    const data = Array.isArray(source) ? Buffer.concat(source) : source;
    const entered = new Promise<void>((resolve) => this.archive.once('entry', () => resolve()));
    this.archive.append(data, { name, date: ENTRY_DATE });
    this.appendedBytes += header + data.length;
    const sha256 = createHash('sha256').update(data).digest('hex');
    await Promise.race([entered, this.failed]);
    while (this.appendedBytes - this.out.bytesWritten > PENDING_BYTES_MAX) await Promise.race([sleep(DRAIN_POLL_MS), this.failed]);
    return { path: name, sha256, bytes: data.length };
  }

  private async appendStream(name: string, source: Readable, gzip: boolean): Promise<FileEntry> {
    const hash = createHash('sha256');
    let bytes = 0;
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    const streams = gzip ? [source, createGzip(), hashing] : [source, hashing];
    for (const stream of streams) this.open.add(stream);
    const entered = new Promise<void>((resolve) => this.archive.once('entry', () => resolve()));
    this.archive.append(hashing, { name, date: ENTRY_DATE });
    try {
      // The source's own failure (e.g. Orthanc gone mid-file) rejects the pipeline; archiver
      // would not see it (it reads through a pipe of its own), so it is not waited for then.
      await Promise.race([Promise.all([pipeline(streams), entered]), this.failed]);
    } finally {
      for (const stream of streams) this.open.delete(stream);
    }
    return { path: name, sha256: hash.digest('hex'), bytes };
  }

  /** Writes the central directory and waits until the file is complete; resolves with its size. */
  async finish(): Promise<number> {
    await Promise.race([this.archive.finalize(), this.failed]);
    await Promise.race([finished(this.out), this.failed]);
    return this.archive.pointer();
  }

  /** Stops, and deletes the partial file: no half-written ZIP is left behind. */
  async discard(): Promise<void> {
    for (const stream of this.open) stream.destroy();
    this.open.clear();
    this.archive.abort();
    this.out.destroy();
    await rm(this.path, { force: true });
  }
}
