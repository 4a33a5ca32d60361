import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { ZipArchive } from 'archiver';
import yazl from 'yazl';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { GrowingFile } from './growing-file.js';
import { liveZipEntries, readZip, type ZipItem, type ZipLimits } from './zip-archive.js';

const dir = mkdtempSync(join(tmpdir(), 'pd-zip-live-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const limits: ZipLimits = { maxEntries: 100, maxTotalBytes: 1e9, maxEntryBytes: 1e8, maxRatio: 200 };
const files = [
  { name: 'a/one.dcm', data: randomBytes(300_000) },
  { name: 'a/two.dcm', data: randomBytes(200_000) },
  { name: 'b/three.dcm', data: Buffer.from('PK\u0007\u0008 a descriptor signature inside the data '.repeat(500)) },
];

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

type Maker = (entries: typeof files) => Promise<Buffer>;
const makers: Record<string, Maker> = {
  'yazl, sizes in the local headers, deflated': async (entries) => {
    const zip = new yazl.ZipFile();
    for (const f of entries) zip.addBuffer(f.data, f.name, { compress: true });
    zip.end();
    return collect(zip.outputStream as AsyncIterable<Buffer>);
  },
  'yazl, streamed entries: stored with data descriptors': async (entries) => {
    const zip = new yazl.ZipFile();
    for (const f of entries) zip.addReadStream(Readable.from([f.data]), f.name, { compress: false });
    zip.end();
    return collect(zip.outputStream as AsyncIterable<Buffer>);
  },
  'yazl, streamed entries: deflated with data descriptors': async (entries) => {
    const zip = new yazl.ZipFile();
    for (const f of entries) zip.addReadStream(Readable.from([f.data]), f.name, { compress: true });
    zip.end();
    return collect(zip.outputStream as AsyncIterable<Buffer>);
  },
  'archiver (what our exports write), ZIP64 forced': async (entries) => {
    const archive = new ZipArchive({ store: true, forceZip64: true });
    const out = collect(archive as unknown as AsyncIterable<Buffer>);
    for (const f of entries) archive.append(Readable.from([f.data]), { name: f.name });
    await archive.finalize();
    return out;
  },
};

/** Feeds `zip` into a GrowingFile in pieces, noting how much had arrived when each entry was read. */
async function readLive(zip: Buffer, tag: string, entryLimits = limits, keepStoredUpTo = 0, window: { windowBytes?: number; maxWindowBytes?: number } = {}, pieceBytes = 64 * 1024) {
  const file = await GrowingFile.create(join(dir, `${tag}.zip`), window);
  const source = new PassThrough();
  const filled = file.fill(source, 1e9);
  void (async () => {
    for (let at = 0; at < zip.length; at += pieceBytes) {
      source.write(zip.subarray(at, at + pieceBytes));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    source.end();
  })();
  const seen: { item: ZipItem; data: Buffer | null; stored: Buffer | null; arrived: number }[] = [];
  for await (const item of liveZipEntries(file, entryLimits, new AbortController().signal, { keepStoredUpTo })) {
    const arrived = file.received;
    seen.push({ item, arrived, data: item.ok ? await collect((await item.open()) as AsyncIterable<Buffer>) : null, stored: item.ok && item.stored ? Buffer.concat(await item.stored()) : null });
  }
  await filled;
  await file.spillRest();
  return { seen, file };
}

describe('reading a ZIP while it arrives (liveZipEntries)', () => {
  // keepStoredUpTo: a stored entry with a data descriptor is handed on as the bytes its descriptor
  // search read (in one piece or several), or, when larger than that, read from the file again.
  for (const [shape, make] of Object.entries(makers)) {
    // Only stored entries are kept; the deflated shapes run once.
    for (const keep of /stored|archiver/.test(shape) ? [0, 1e8, 100_000] : [0]) {
      it(`${shape}, stored entries kept from the descriptor search up to ${keep} bytes: every entry, byte for byte, before the archive has fully arrived; the directory pass then adds nothing`, async () => {
        const zip = await make(files);
        const { seen, file } = await readLive(zip, `${shape.replace(/\W+/g, '-')}-${keep}`, limits, keep);
        try {
          expect(seen.map((s) => s.item.name)).toEqual(files.map((f) => f.name));
          for (const [i, s] of seen.entries()) expect(s.data!.equals(files[i]!.data), s.item.name).toBe(true);
          // Stored entries are also offered as one buffer (read from the file, or kept from the descriptor search).
          const stored = seen.filter((s) => s.stored);
          expect(stored.length).toBe(/stored|archiver/.test(shape) ? files.length : 0);
          for (const s of stored) expect(s.stored!.equals(s.data!), s.item.name).toBe(true);
          expect(seen[0]!.arrived).toBeLessThan(zip.length);
          const handled = new Set(seen.map((s) => s.item.offset));
          const rest: string[] = [];
          for await (const item of readZip(file.path, limits, { skipOffsets: handled })) rest.push(item.name);
          expect(rest).toEqual([]);
        } finally {
          await file.close();
        }
      });
    }
  }

  for (const [shape, make] of Object.entries(makers)) {
    it(`${shape}, entries larger than the memory window may grow to: read back from the temp file, byte for byte`, async () => {
      const zip = await make(files);
      const { seen, file } = await readLive(zip, `${shape.replace(/\W+/g, '-')}-spilled`, limits, 1e8, { windowBytes: 16 * 1024, maxWindowBytes: 64 * 1024 });
      try {
        expect(seen.map((s) => s.item.name)).toEqual(files.map((f) => f.name));
        for (const [i, s] of seen.entries()) expect(s.data!.equals(files[i]!.data), s.item.name).toBe(true);
        for (const s of seen.filter((x) => x.stored)) expect(s.stored!.equals(s.data!), s.item.name).toBe(true);
        const rest: string[] = [];
        for await (const item of readZip(file.path, limits, { skipOffsets: new Set(seen.map((s) => s.item.offset)) })) rest.push(item.name);
        expect(rest).toEqual([]);
      } finally {
        await file.close();
      }
    });
  }

  it('finds descriptors and hands on stored entries whole when signatures and descriptors straddle the chunks they arrived in', async () => {
    // Odd small pieces: many of the false signatures in three.dcm, and the real descriptors, fall across two chunks.
    const zip = await makers['yazl, streamed entries: stored with data descriptors']!(files);
    for (const pieceBytes of [1021, 4093]) {
      const { seen, file } = await readLive(zip, `straddle-${pieceBytes}`, limits, 1e8, {}, pieceBytes);
      try {
        expect(seen.map((s) => s.item.name)).toEqual(files.map((f) => f.name));
        for (const [i, s] of seen.entries()) expect(s.stored!.equals(files[i]!.data), `${s.item.name} in ${pieceBytes}-byte pieces`).toBe(true);
      } finally {
        await file.close();
      }
    }
  });

  it('stops at the archive-wide limits and leaves the refusal to the directory pass', async () => {
    const zip = await makers['yazl, sizes in the local headers, deflated']!(files);
    const { seen, file } = await readLive(zip, 'limits', { ...limits, maxEntries: 2 });
    await file.close();
    expect(seen.map((s) => s.item.name)).toEqual(['a/one.dcm', 'a/two.dcm']);
  });

  it('refuses unsafe names and bombs by the same rules as the directory pass, and stops where the archive is cut', async () => {
    const zip = await makers['yazl, sizes in the local headers, deflated']!([
      { name: 'xx/escape.dcm', data: Buffer.alloc(10, 1) },
      { name: 'zeros.dcm', data: Buffer.alloc(8 * 1024 * 1024) },
      ...files,
    ]);
    // yazl refuses to write a '..' name: patch it in (same length), in the local header and the directory.
    for (let at = zip.indexOf('xx/escape'); at >= 0; at = zip.indexOf('xx/escape', at + 1)) zip.write('../escape', at, 'latin1');
    const cut = zip.subarray(0, zip.length - 200_000);
    const { seen, file } = await readLive(cut, 'hostile');
    await file.close();
    expect(seen[0]!.item).toMatchObject({ ok: false, reason: expect.stringMatching(/climbs out/) });
    expect(seen[1]!.item).toMatchObject({ ok: false, reason: expect.stringMatching(/compression ratio/) });
    expect(seen.length).toBeLessThan(5); // the cut-off entries are not made up
    for (const s of seen.filter((x) => x.item.ok)) expect(files.some((f) => f.name === s.item.name && f.data.equals(s.data!))).toBe(true);
  });
});

describe('reading a complete ZIP (readZip)', () => {
  const openFds = () => readdirSync('/proc/self/fd').length;

  async function writeZip(make: Maker, entries: typeof files, tag: string): Promise<string> {
    const path = join(dir, `${tag}.zip`);
    writeFileSync(path, await make(entries));
    return path;
  }

  for (const [shape, make] of Object.entries(makers)) {
    it(`${shape}: every entry byte for byte, also after the entry before was given up half-read`, async () => {
      const path = await writeZip(make, files, `whole-${shape.replace(/\W+/g, '-')}`);
      const before = openFds();
      const read: string[] = [];
      for await (const item of readZip(path, limits)) {
        if (!item.ok) throw new Error(item.reason);
        const stream = await item.open();
        if (item.name === 'a/one.dcm') {
          // Stopping early destroys the entry's stream; the archive must stay open for the next.
          for await (const _ of stream) break;
          continue;
        }
        expect((await collect(stream)).equals(files.find((f) => f.name === item.name)!.data), item.name).toBe(true);
        read.push(item.name);
      }
      expect(read).toEqual(['a/two.dcm', 'b/three.dcm']);
      // Closing is asynchronous: wait for it rather than count too early.
      await vi.waitFor(() => expect(openFds()).toBe(before), { timeout: 2000 });
    });
  }

  it('reads a directory spread over many read blocks: 2,500 entries, each once, in order', async () => {
    const many = Array.from({ length: 2500 }, (_, i) => ({ name: `study/series-${i % 7}/a-rather-long-instance-file-name-${String(i).padStart(5, '0')}.dcm`, data: Buffer.from(`entry ${i}`) }));
    const path = await writeZip(makers['yazl, sizes in the local headers, deflated']!, many, 'many');
    const seen: string[] = [];
    for await (const item of readZip(path, { ...limits, maxEntries: 10_000 })) {
      if (!item.ok) throw new Error(item.reason);
      expect((await collect(await item.open())).toString()).toBe(`entry ${seen.length}`);
      seen.push(item.name);
    }
    expect(seen).toEqual(many.map((m) => m.name));
    const skipped: string[] = [];
    const offsets = new Set<number>();
    for await (const item of readZip(path, { ...limits, maxEntries: 10_000 })) offsets.add(item.offset);
    for await (const item of readZip(path, { ...limits, maxEntries: 10_000 }, { skipOffsets: offsets })) skipped.push(item.name);
    expect(skipped).toEqual([]);
  });

  it('fails an entry clearly when the archive shrinks while it is read, and leaves no file open', async () => {
    const path = await writeZip(makers['yazl, sizes in the local headers, deflated']!, files, 'shrinks');
    const before = openFds();
    const attempt = (async () => {
      for await (const item of readZip(path, limits)) {
        if (!item.ok) throw new Error(item.reason);
        // The directory was read from the whole file; a/one.dcm's data now ends early.
        truncateSync(path, 100_000);
        await collect(await item.open());
      }
    })();
    await expect(attempt).rejects.toThrow(/unexpected end of the archive file/);
    await vi.waitFor(() => expect(openFds()).toBe(before), { timeout: 2000 });
  });

  it('refuses a cut or empty archive clearly and leaves no file open', async () => {
    const whole = await makers['yazl, sizes in the local headers, deflated']!(files);
    const before = openFds();
    for (const [tag, bytes] of [
      ['cut-in-directory', whole.subarray(0, whole.length - 60)],
      ['cut-in-data', Buffer.concat([whole.subarray(0, 1000), whole.subarray(whole.length - 200)])],
      ['empty', Buffer.alloc(0)],
    ] as const) {
      const path = join(dir, `${tag}.zip`);
      writeFileSync(path, bytes);
      const attempt = (async () => {
        for await (const item of readZip(path, limits)) if (item.ok) await collect(await item.open());
      })();
      await expect(attempt, tag).rejects.toThrow(/not a readable ZIP|corrupt/);
    }
    await vi.waitFor(() => expect(openFds()).toBe(before), { timeout: 2000 });
  });
});
