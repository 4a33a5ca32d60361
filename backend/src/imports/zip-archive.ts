// ZIP archives are read from a temp file with yauzl, one entry at a time (lazyEntries),
// so an archive of any size costs one entry's worth of memory. Limits stop bombs before
// anything is inflated: entry count, declared sizes, and each entry's compression ratio;
// yauzl itself stops an entry whose data inflates past the size it declared.
import type { Readable } from 'node:stream';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { formatBytes } from './spool.js';

export type ZipLimits = { maxEntries: number; maxTotalBytes: number; maxEntryBytes: number; maxRatio: number };

export class ZipRejection extends Error {}

export type ZipItem =
  | { ok: true; name: string; size: number; open: () => Promise<Readable> }
  | { ok: false; name: string; reason: string; outcome: 'rejected' | 'skipped' };

const open = (path: string) =>
  new Promise<ZipFile>((resolve, reject) =>
    yauzl.open(path, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true, strictFileNames: false }, (error, zip) =>
      error ? reject(error) : resolve(zip!),
    ),
  );

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
 * Opens an archive and checks it as a whole (readable, entry count, total size), then
 * yields its entries one by one. Throws ZipRejection when the archive as a whole is refused.
 */
export async function* readZip(path: string, limits: ZipLimits): AsyncGenerator<ZipItem> {
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

  zip = await open(path);
  try {
    let iterator: AsyncGenerator<Entry>;
    try {
      iterator = entries(zip);
    } catch (error) {
      throw new ZipRejection(`not a readable ZIP archive (${(error as Error).message})`);
    }
    for await (const entry of iterator) {
      const name = entryName(entry);
      if (name.endsWith('/')) continue; // a folder
      const unsafe = unsafeEntryName(name);
      if (unsafe) {
        yield { ok: false, name, reason: `refused: ${unsafe}`, outcome: 'rejected' };
        continue;
      }
      if (name.split('/').some((part) => part === '__MACOSX') || name.split('/').pop()!.startsWith('._')) {
        yield { ok: false, name, reason: 'macOS resource-fork metadata, not DICOM', outcome: 'skipped' };
        continue;
      }
      if (entry.isEncrypted()) {
        yield { ok: false, name, reason: 'the entry is encrypted; unpack the archive with its password first', outcome: 'rejected' };
        continue;
      }
      if (entry.uncompressedSize > limits.maxEntryBytes) {
        yield { ok: false, name, reason: `the entry unpacks to ${formatBytes(entry.uncompressedSize)}; at most ${formatBytes(limits.maxEntryBytes)} per file (PD_IMPORT_ZIP_MAX_ENTRY_BYTES)`, outcome: 'rejected' };
        continue;
      }
      const ratio = entry.uncompressedSize / Math.max(entry.compressedSize, 1);
      if (ratio > limits.maxRatio && entry.uncompressedSize > 1024 * 1024) {
        yield { ok: false, name, reason: `the entry's compression ratio ${Math.round(ratio)}:1 is above the ${limits.maxRatio}:1 limit (a ZIP bomb?)`, outcome: 'rejected' };
        continue;
      }
      yield {
        ok: true,
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
