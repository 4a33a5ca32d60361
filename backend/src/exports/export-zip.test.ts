import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import yauzl from 'yauzl';
import { afterAll, describe, expect, it } from 'vitest';
import { ExportZip } from './export-zip.js';

const dir = mkdtempSync(join(tmpdir(), 'export-zip-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

type ZipEntry = { data: Buffer; compressionMethod: number; dataDescriptor: boolean };

async function entriesOf(path: string): Promise<Map<string, ZipEntry>> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.open(path, { lazyEntries: true }, (e, z) => (e ? reject(e) : resolve(z!))));
  const entries = new Map<string, ZipEntry>();
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) =>
      zip.openReadStream(entry, async (error, stream) => {
        if (error) return reject(error);
        const chunks: Buffer[] = [];
        for await (const chunk of stream!) chunks.push(chunk as Buffer);
        entries.set(entry.fileName, { data: Buffer.concat(chunks), compressionMethod: entry.compressionMethod, dataDescriptor: (entry.generalPurposeBitFlag & 0x8) !== 0 });
        zip.readEntry();
      }),
    );
    zip.on('end', resolve);
    zip.on('error', reject);
    zip.readEntry();
  });
  return entries;
}

/** `total` bytes of a repeating pattern, in chunks, noting how far the producer ever got ahead of the file. */
function producer(total: number, chunk: number, zip: ExportZip, aheadOfDisk: { max: number }) {
  let produced = 0;
  const base = zip.bytesProduced;
  return Readable.from(
    (function* () {
      while (produced < total) {
        const size = Math.min(chunk, total - produced);
        produced += size;
        aheadOfDisk.max = Math.max(aheadOfDisk.max, base + produced - zip.bytesOnDisk);
        yield Buffer.alloc(size, produced % 251);
      }
    })(),
    { objectMode: false },
  );
}

describe('ExportZip', () => {
  it('stores streamed, buffered, chunked and gzipped entries whose hashes and sizes are those of the bytes in the ZIP', async () => {
    const path = join(dir, 'mixed.zip');
    const zip = new ExportZip(path);
    const streamed = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 256));
    const buffered = Buffer.alloc(700_000, 7);
    const volume = Buffer.alloc(1_000_000, 3);
    const a = await zip.append('a/0001.dcm', Readable.from([streamed.subarray(0, 100_000), streamed.subarray(100_000)]));
    const b = await zip.append('a/0002.dcm', buffered);
    const c = await zip.append('nifti/a.nii.gz', volume, { gzip: true });
    const chunks = [streamed.subarray(0, 65_536), buffered.subarray(0, 1_000), streamed.subarray(65_536)];
    const d = await zip.append('a/0003.dcm', chunks);
    await zip.append('empty.txt', Buffer.alloc(0));
    const size = await zip.finish();
    expect(size).toBe(zip.bytesOnDisk);

    const entries = await entriesOf(path);
    expect([...entries.keys()]).toEqual(['a/0001.dcm', 'a/0002.dcm', 'nifti/a.nii.gz', 'a/0003.dcm', 'empty.txt']);
    expect([...entries.values()].every((e) => e.compressionMethod === 0)).toBe(true); // stored
    // Whole files keep sizes and CRC in the local header (readers that stream, e.g. Java's
    // ZipInputStream, refuse stored entries with a data descriptor); streams cannot.
    expect(Object.fromEntries([...entries].map(([name, e]) => [name, e.dataDescriptor]))).toEqual({ 'a/0001.dcm': true, 'a/0002.dcm': false, 'nifti/a.nii.gz': true, 'a/0003.dcm': false, 'empty.txt': false });
    expect(entries.get('a/0001.dcm')!.data.equals(streamed)).toBe(true);
    expect(a).toEqual({ path: 'a/0001.dcm', sha256: sha(streamed), bytes: streamed.length });
    expect(b).toEqual({ path: 'a/0002.dcm', sha256: sha(buffered), bytes: buffered.length });
    const gz = entries.get('nifti/a.nii.gz')!.data;
    expect(c).toEqual({ path: 'nifti/a.nii.gz', sha256: sha(gz), bytes: gz.length });
    expect(gunzipSync(gz).equals(volume)).toBe(true);
    expect(entries.get('a/0003.dcm')!.data.equals(Buffer.concat(chunks))).toBe(true);
    expect(d).toEqual({ path: 'a/0003.dcm', sha256: sha(Buffer.concat(chunks)), bytes: 301_000 });
    expect(entries.get('empty.txt')!.data.length).toBe(0);
  });

  it('reads a stream only as fast as the file takes it: what is in memory stays a few stream buffers, not the entry', async () => {
    const zip = new ExportZip(join(dir, 'backpressure-stream.zip'));
    const ahead = { max: 0 };
    // 48 MiB in 64 KiB chunks, like an Orthanc response.
    for (let i = 0; i < 3; i++) await zip.append(`series/${i}.dcm`, producer(16 * 1024 * 1024, 64 * 1024, zip, ahead));
    await zip.finish();
    // Bounded by the pipes' buffers (archiver's own are 1 MiB each way; ~2.4 MiB seen), far below one 16 MiB entry.
    expect(ahead.max).toBeLessThan(4 * 1024 * 1024);
  });

  it('lets whole files in only as fast as the file takes them: appending many does not pile them up in memory', async () => {
    // The earlier backpressure counted entries archiver had "processed", which it reports at
    // once for a buffer: a fast producer queued every instance in memory.
    const zip = new ExportZip(join(dir, 'backpressure-buffers.zip'));
    let appended = 0;
    let maxPending = 0;
    for (let i = 0; i < 64; i++) {
      const file = Buffer.alloc(1024 * 1024, i);
      await zip.append(`series/${String(i).padStart(4, '0')}.dcm`, file);
      appended += file.length;
      maxPending = Math.max(maxPending, appended - zip.bytesOnDisk);
    }
    await zip.finish();
    expect(zip.bytesOnDisk).toBeGreaterThan(appended);
    // At most the 4 MiB allowance (headers make the file a little ahead of the data).
    expect(maxPending).toBeLessThanOrEqual(4 * 1024 * 1024);
  });

  it('fails the entry with the source\'s own error and discards the partial file', async () => {
    const path = join(dir, 'failed.zip');
    const zip = new ExportZip(path);
    await zip.append('first.dcm', Buffer.alloc(10_000, 1));
    const broken = new Readable({
      read() {
        this.push(Buffer.alloc(50_000, 2));
        this.destroy(new Error('other side closed'));
      },
    });
    await expect(zip.append('second.dcm', broken)).rejects.toThrow('other side closed');
    await zip.discard();
    expect(existsSync(path)).toBe(false);
  });
});
