// ZIP archives are read from a temp file with yauzl, one entry at a time (lazyEntries),
// so an archive of any size costs one entry's worth of memory. Limits stop bombs before
// anything is inflated: entry count, declared sizes, and each entry's compression ratio;
// yauzl itself stops an entry whose data inflates past the size it declared.
import { Readable, Transform } from 'node:stream';
import { createInflateRaw } from 'node:zlib';
import { close as fsClose, fstat, open as fsOpen, read as fsRead } from 'node:fs';
import { promisify } from 'node:util';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { BufferList } from 'bl';
import type { GrowingFile } from './growing-file.js';
import { formatBytes } from './spool.js';

export type ZipLimits = { maxEntries: number; maxTotalBytes: number; maxEntryBytes: number; maxRatio: number };

export class ZipRejection extends Error {}

/** `offset` is where the entry's local header starts: what ties an entry read live to its directory record. */
export type ZipItem =
  | { ok: true; offset: number; name: string; size: number; open: () => Promise<Readable>; stored?: () => Promise<Buffer[]> }
  | { ok: false; offset: number; name: string; reason: string; outcome: 'rejected' | 'skipped' };

type EntryFacts = { name: string; encrypted: boolean; size: number; compressedSize: number };

/** Why one entry is not imported, or null. The same rules whether it is read live or from the directory. */
function screenEntry(entry: EntryFacts, limits: ZipLimits): { reason: string; outcome: 'rejected' | 'skipped' } | null {
  const unsafe = unsafeEntryName(entry.name);
  if (unsafe) return { reason: `refused: ${unsafe}`, outcome: 'rejected' };
  if (entry.name.split('/').some((part) => part === '__MACOSX') || entry.name.split('/').pop()!.startsWith('._')) return { reason: 'macOS resource-fork metadata, not DICOM', outcome: 'skipped' };
  if (entry.encrypted) return { reason: 'the entry is encrypted; unpack the archive with its password first', outcome: 'rejected' };
  if (entry.size > limits.maxEntryBytes) return { reason: `the entry unpacks to ${formatBytes(entry.size)}; at most ${formatBytes(limits.maxEntryBytes)} per file (PD_IMPORT_ZIP_MAX_ENTRY_BYTES)`, outcome: 'rejected' };
  const ratio = entry.size / Math.max(entry.compressedSize, 1);
  if (ratio > limits.maxRatio && entry.size > 1024 * 1024) return { reason: `the entry's compression ratio ${Math.round(ratio)}:1 is above the ${limits.maxRatio}:1 limit (a ZIP bomb?)`, outcome: 'rejected' };
  return null;
}

const BLOCK_BYTES = 64 * 1024;
const KEPT_BLOCKS = 2;

/**
 * Bytes [start, end) of an open file. Not fs.createReadStream({ fd }): destroying one closes the
 * file even with autoClose false, and yauzl destroys an entry's stream when its reader stops early.
 */
class FileRangeStream extends Readable {
  private position: number;

  constructor(
    private readonly fd: number,
    start: number,
    private readonly end: number,
  ) {
    super({ highWaterMark: BLOCK_BYTES });
    this.position = start;
  }

  override _read(size: number): void {
    const length = Math.min(size, this.end - this.position);
    if (length <= 0) {
      this.push(null);
      return;
    }
    fsRead(this.fd, Buffer.allocUnsafe(length), 0, length, this.position, (error, bytesRead, buffer) => {
      if (error) return this.destroy(error);
      if (bytesRead === 0) return this.destroy(new Error('unexpected end of the archive file'));
      this.position += bytesRead;
      this.push(buffer.subarray(0, bytesRead));
    });
  }
}

/**
 * yauzl reads the central directory one record at a time, two small reads each. Through its own
 * file reader every read is a thread-pool round trip: ~150 ms per 1,000 entries, all of it after
 * the upload has ended and before the import can answer. This reader serves such small reads
 * from the two 64 KiB blocks it used last (the directory, and the local header of the entry
 * being opened); entry data still streams straight from the file.
 */
class BlockCachedReader extends yauzl.RandomAccessReader {
  private blocks: { start: number; data: Buffer }[] = [];

  constructor(
    private readonly fd: number,
    private readonly size: number,
  ) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return new FileRangeStream(this.fd, start, end);
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (error: Error | null, bytesRead?: number) => void): void {
    const cached = this.blocks.find((block) => position >= block.start && position + length <= block.start + block.data.length);
    if (cached) {
      // Most recently used first: the directory block stays while entries' local headers come and go.
      if (this.blocks[0] !== cached) this.blocks = [cached, ...this.blocks.filter((block) => block !== cached)];
      cached.data.copy(buffer, offset, position - cached.start, position - cached.start + length);
      process.nextTick(callback, null, length);
      return;
    }
    if (length > BLOCK_BYTES) {
      fsRead(this.fd, buffer, offset, length, position, (error, bytesRead) => callback(error, bytesRead));
      return;
    }
    const block = Buffer.allocUnsafe(Math.max(0, Math.min(BLOCK_BYTES, this.size - position)));
    fsRead(this.fd, block, 0, block.length, position, (error, bytesRead) => {
      if (error) return callback(error);
      const data = block.subarray(0, bytesRead);
      this.blocks = [{ start: position, data }, ...this.blocks].slice(0, KEPT_BLOCKS);
      const available = Math.min(length, bytesRead);
      data.copy(buffer, offset, 0, available);
      callback(null, available);
    });
  }

  override close(callback: (error: Error | null) => void): void {
    this.blocks = [];
    fsClose(this.fd, (error) => callback(error ?? null));
  }
}

async function open(path: string): Promise<ZipFile> {
  const fd = await promisify(fsOpen)(path, 'r');
  try {
    const { size } = await promisify(fstat)(fd);
    return await new Promise<ZipFile>((resolve, reject) =>
      yauzl.fromRandomAccessReader(new BlockCachedReader(fd, size), size, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true, strictFileNames: false }, (error, zip) =>
        error ? reject(error) : resolve(zip),
      ),
    );
  } catch (error) {
    // Not a ZIP yauzl can open: no ZipFile holds the reader, so nothing else closes the file.
    fsClose(fd, () => undefined);
    throw error;
  }
}

/** Entry names are bytes: UTF-8 when the archive says so (bit 11), else CP437, read here as Latin-1. */
function entryName(entry: Entry): string {
  const raw = entry.fileName as unknown as Buffer;
  return (entry.generalPurposeBitFlag & 0x800 ? raw.toString('utf8') : raw.toString('latin1')).replace(/\\/g, '/');
}

/** Why a name is unsafe, or null. We never write entries to disk by name, but such names mark a hostile archive. */
export function unsafeEntryName(name: string): string | null {
  if (name.includes('\0')) return 'the entry name contains a NUL byte';
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) return 'the entry name is an absolute path';
  if (name.split('/').includes('..')) return "the entry name climbs out of the archive with '..'";
  return null;
}

async function* entries(zip: ZipFile): AsyncGenerator<Entry> {
  while (true) {
    const next = await new Promise<Entry | null>((resolve, reject) => {
      const onEntry = (entry: Entry) => done(() => resolve(entry));
      const onEnd = () => done(() => resolve(null));
      const onError = (error: Error) => done(() => reject(error));
      const done = (then: () => void) => {
        zip.off('entry', onEntry).off('end', onEnd).off('error', onError);
        then();
      };
      zip.on('entry', onEntry).on('end', onEnd).on('error', onError);
      zip.readEntry();
    });
    if (!next) return;
    yield next;
  }
}

/**
 * Opens a complete archive and checks it as a whole (readable, entry count, total size), then
 * yields its entries one by one. Throws ZipRejection when the archive as a whole is refused.
 */
export async function* readZip(path: string, limits: ZipLimits, options: { skipOffsets?: ReadonlySet<number> } = {}): AsyncGenerator<ZipItem> {
  let zip: ZipFile;
  try {
    zip = await open(path);
  } catch (error) {
    throw new ZipRejection(`not a readable ZIP archive (truncated or corrupt: ${(error as Error).message})`);
  }
  try {
    if (zip.entryCount > limits.maxEntries) throw new ZipRejection(`the archive has ${zip.entryCount} entries; at most ${limits.maxEntries} are accepted (PD_IMPORT_ZIP_MAX_ENTRIES)`);
    // First pass over the central directory only: declared sizes, nothing inflated.
    let declared = 0;
    try {
      for await (const entry of entries(zip)) declared += entry.uncompressedSize;
    } catch (error) {
      throw new ZipRejection(`the archive's directory is corrupt (${(error as Error).message})`);
    }
    if (declared > limits.maxTotalBytes) throw new ZipRejection(`the archive would unpack to ${formatBytes(declared)}; at most ${formatBytes(limits.maxTotalBytes)} are accepted (PD_IMPORT_ZIP_MAX_TOTAL_BYTES)`);
  } finally {
    zip.close();
  }

  try {
    zip = await open(path);
  } catch (error) {
    // It opened a moment ago: what fails now is the system (say, too many open files), not the archive.
    throw new ZipRejection(`the archive could not be opened a second time to read its entries (${(error as Error).message}); import it again`);
  }
  try {
    for await (const entry of entries(zip)) {
      const name = entryName(entry);
      if (name.endsWith('/')) continue; // a folder
      const offset = entry.relativeOffsetOfLocalHeader;
      if (options.skipOffsets?.has(offset)) continue; // already read while the archive was arriving
      const refused = screenEntry({ name, encrypted: entry.isEncrypted(), size: entry.uncompressedSize, compressedSize: entry.compressedSize }, limits);
      if (refused) {
        yield { ok: false, offset, name, ...refused };
        continue;
      }
      yield {
        ok: true,
        offset,
        name,
        size: entry.uncompressedSize,
        open: () => new Promise<Readable>((resolve, reject) => zip.openReadStream(entry, (error, stream) => (error ? reject(error) : resolve(stream!)))),
      };
    }
  } catch (error) {
    if (error instanceof ZipRejection) throw error;
    throw new ZipRejection(`the archive is corrupt (${(error as Error).message}); the entries before this point were imported`);
  } finally {
    zip.close();
  }
}

// ---- Reading entries while the archive is still arriving.
// No library reads ZIP local headers from a file that is still being written (yauzl, like
// every random-access reader, starts from the directory at the end), so this part is ours.
// It only speeds things up: whatever it cannot read with certainty, it leaves, and the
// directory pass (readZip with skipOffsets) imports it once the archive is complete.

const LOCAL_HEADER = 0x04034b50;
const DESCRIPTOR_SIGNATURE = Buffer.from([0x50, 0x4b, 0x07, 0x08]);
const SCAN_CHUNK = 1024 * 1024;

type LocalHeader = { name: string; flags: number; method: number; compressedSize: number; size: number; dataStart: number; zip64: boolean };

async function readLocalHeader(file: GrowingFile, offset: number): Promise<LocalHeader | null> {
  const fixed = await file.read(offset, 30);
  if (!fixed || fixed.readUInt32LE(0) !== LOCAL_HEADER) return null;
  const flags = fixed.readUInt16LE(6);
  const nameLength = fixed.readUInt16LE(26);
  const extraLength = fixed.readUInt16LE(28);
  const variable = await file.read(offset + 30, nameLength + extraLength);
  if (!variable) return null;
  const rawName = variable.subarray(0, nameLength);
  let compressedSize = fixed.readUInt32LE(18);
  let size = fixed.readUInt32LE(22);
  let zip64 = false;
  // ZIP64: the real sizes sit in extra field 0x0001 when the header says 0xFFFFFFFF.
  for (let at = nameLength; at + 4 <= variable.length; ) {
    const id = variable.readUInt16LE(at);
    const length = variable.readUInt16LE(at + 2);
    if (id === 0x0001) {
      zip64 = true;
      let field = at + 4;
      if (size === 0xffffffff && field + 8 <= at + 4 + length) (size = Number(variable.readBigUInt64LE(field))), (field += 8);
      if (compressedSize === 0xffffffff && field + 8 <= at + 4 + length) compressedSize = Number(variable.readBigUInt64LE(field));
    }
    at += 4 + length;
  }
  return {
    name: (flags & 0x800 ? rawName.toString('utf8') : rawName.toString('latin1')).replace(/\\/g, '/'),
    flags,
    method: fixed.readUInt16LE(8),
    compressedSize,
    size,
    dataStart: offset + 30 + nameLength + extraLength,
    zip64,
  };
}

/**
 * Where an entry written with a data descriptor (sizes after the data) ends: the first
 * descriptor signature whose recorded compressed size equals the bytes before it. The bytes
 * scanned on the way are the entry's data: up to `keepBytes` of them are returned (as views of
 * the upload's chunks), so a stored entry need not be read a second time.
 */
async function findDescriptor(
  file: GrowingFile,
  header: LocalHeader,
  signal: AbortSignal,
  keepBytes: number,
  firstRead: number,
): Promise<{ compressedSize: number; size: number; next: number; data: Buffer[] | null } | null> {
  const descriptorLength = header.zip64 ? 24 : 16;
  let from = header.dataStart;
  let readSize = Math.min(Math.max(firstRead, 4096), SCAN_CHUNK);
  let scanned: Buffer[] | null = keepBytes > 0 ? [] : null;
  let scannedBytes = 0;
  for (;;) {
    if (signal.aborted) return null;
    if (!(await file.waitFor(from + DESCRIPTOR_SIGNATURE.length))) return null;
    const length = Math.min(readSize, file.received - from);
    readSize = SCAN_CHUNK;
    const views = await file.views(from, length);
    if (!views) return null;
    // Searched and sliced across the chunks without joining them.
    const piece = new BufferList(views);
    for (let hit = piece.indexOf(DESCRIPTOR_SIGNATURE); hit >= 0; hit = piece.indexOf(DESCRIPTOR_SIGNATURE, hit + 1)) {
      const at = from + hit;
      const descriptor = hit + descriptorLength <= length ? piece.slice(hit, hit + descriptorLength) : await file.read(at, descriptorLength);
      if (!descriptor) return null;
      const compressed = header.zip64 ? Number(descriptor.readBigUInt64LE(8)) : descriptor.readUInt32LE(8);
      if (compressed === at - header.dataStart) {
        const data = scanned && scannedBytes + hit <= keepBytes ? [...scanned, ...piece.shallowSlice(0, hit).getBuffers()] : null;
        return { compressedSize: compressed, size: header.zip64 ? Number(descriptor.readBigUInt64LE(16)) : descriptor.readUInt32LE(12), next: at + descriptor.length, data };
      }
    }
    // The next piece repeats the last bytes of this one, where a signature may begin.
    const step = length - (DESCRIPTOR_SIGNATURE.length - 1);
    if (scanned) {
      scanned.push(...piece.shallowSlice(0, step).getBuffers());
      scannedBytes += step;
      if (scannedBytes > keepBytes) scanned = null;
    }
    from += step;
  }
}

async function storedBytes(file: GrowingFile, start: number, compressedSize: number, size: number): Promise<Buffer[]> {
  if (compressedSize !== size) throw new Error(`the entry is ${compressedSize} bytes, not the ${size} it declares`);
  const bytes = await file.views(start, size);
  if (!bytes) throw new Error('the archive ends inside this entry');
  return bytes;
}

/** The entry's bytes, inflated if need be, refused if they come out longer or shorter than declared. */
function entryStream(file: GrowingFile, start: number, compressedSize: number, method: number, size: number): Readable {
  const raw: Readable = compressedSize > 0 ? file.stream(start, compressedSize) : Readable.from([]);
  const source: Readable = method === 8 ? raw.pipe(createInflateRaw()) : raw;
  if (method === 8) raw.once('error', (error: Error) => source.destroy(error));
  let seen = 0;
  const checked = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      done(seen > size ? new Error(`the entry inflates past the ${size} bytes it declares`) : null, chunk);
    },
    flush(done) {
      done(seen < size ? new Error(`the entry is ${seen} bytes, not the ${size} it declares`) : null);
    },
  });
  source.once('error', (error: Error) => checked.destroy(error));
  return source.pipe(checked);
}

/**
 * Entries of an archive that is still arriving in `file`, in the order they arrive; each must be
 * read before the next is asked for (the bytes of those before are let go then).
 * Ends (without error) at the central directory, at anything it cannot read with certainty,
 * or where the archive-wide limits would be passed, leaving the rest to the directory pass.
 */
export async function* liveZipEntries(file: GrowingFile, limits: ZipLimits, signal: AbortSignal, options: { keepStoredUpTo?: number } = {}): AsyncGenerator<ZipItem> {
  let offset = 0;
  let entries = 0;
  // The files of a series are mostly the same size: the first read of a descriptor search asks
  // for the last entry's size (and its descriptor), so it seldom reads into the next entry.
  let lastCompressedSize = SCAN_CHUNK;
  let declared = 0;
  try {
    while (!signal.aborted) {
      // The consumer is done with every entry before this one: their bytes need not be kept.
      file.consumed(offset);
      const header = await readLocalHeader(file, offset);
      if (!header) return;
      let { compressedSize, size } = header;
      let next = header.dataStart + compressedSize;
      let scannedData: Buffer[] | null = null;
      if (header.flags & 0x08) {
        // Stored entries need their descriptor to be found; deflated ones too (their sizes are only there).
        const found = await findDescriptor(file, header, signal, header.method === 0 ? (options.keepStoredUpTo ?? 0) : 0, lastCompressedSize + 64 * 1024);
        if (!found) return;
        ({ compressedSize, size, next } = found);
        scannedData = found.data;
        lastCompressedSize = compressedSize;
      }
      if (header.method !== 0 && header.method !== 8 && !(header.flags & 0x01)) return; // left to yauzl, which names the method
      if (header.name.endsWith('/')) {
        offset = next;
        continue;
      }
      entries++;
      declared += size;
      if (entries > limits.maxEntries || declared > limits.maxTotalBytes) return; // the directory pass refuses the archive as a whole
      const at = offset;
      const refused = screenEntry({ name: header.name, encrypted: Boolean(header.flags & 0x01), size, compressedSize }, limits);
      if (refused) yield { ok: false, offset: at, name: header.name, ...refused };
      else {
        if (!(await file.waitFor(header.dataStart + compressedSize))) return;
        const { dataStart, method } = header;
        yield {
          ok: true,
          offset: at,
          name: header.name,
          size,
          open: async () => entryStream(file, dataStart, compressedSize, method, size),
          // A stored entry is its bytes as they lie in the file: one read (or none, if the search
          // for its descriptor read them already), no stream to spool.
          ...(method === 0 ? { stored: () => (scannedData && compressedSize === size ? Promise.resolve(scannedData) : storedBytes(file, dataStart, compressedSize, size)) } : {}),
        };
      }
      offset = next;
    }
  } finally {
    file.liveEnded();
  }
}
