import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { GrowingFile } from './growing-file.js';
import { TooLargeError } from './spool.js';

const dir = mkdtempSync(join(tmpdir(), 'pd-growing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = (windowBytes?: number, maxWindowBytes?: number) => GrowingFile.create(join(dir, `${++files}.bin`), { windowBytes, maxWindowBytes });

/** Writes `data` into `stream` in small pieces, yielding to the event loop now and then. */
async function feed(stream: PassThrough, data: Buffer, piece: number, then: 'end' | Error | 'destroy' = 'end') {
  for (let at = 0; at < data.length; at += piece) {
    if (!stream.write(data.subarray(at, at + piece))) await new Promise((resolve) => stream.once('drain', resolve));
    if ((at / piece) % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  if (then === 'end') stream.end();
  else if (then === 'destroy') stream.destroy();
  else stream.destroy(then);
}

describe('GrowingFile.fill', () => {
  it('lands every byte in order while readers take what has arrived', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 123);
    const file = await newFile();
    const source = new PassThrough();
    const filled = file.fill(source, 1e9);
    void feed(source, data, 7_000);
    // A reader asking ahead of the writer waits for its bytes.
    const middle = await file.read(2 * 1024 * 1024, 1000);
    expect(middle!.equals(data.subarray(2 * 1024 * 1024, 2 * 1024 * 1024 + 1000))).toBe(true);
    // Past its window the upload waits for the reader; once the reader stops, all of it is kept.
    file.liveEnded();
    expect(await filled).toBe(data.length);
    expect(file.complete).toBe(true);
    expect(await file.read(data.length - 10, 20)).toBeNull(); // past the end
    // Nothing was consumed: all of it reaches the file for the directory pass.
    await file.spillRest();
    expect(readFileSync(file.path).equals(data)).toBe(true);
    await file.close();
  });

  it('never writes what the reader consumed; the rest lands at its own offset', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const file = await newFile();
    const source = new PassThrough();
    const filled = file.fill(source, 1e9);
    void feed(source, data, 16 * 1024);
    expect((await file.read(1_000_000, 5))!.equals(data.subarray(1_000_000, 1_000_005))).toBe(true);
    file.consumed(1_000_003);
    await filled;
    file.liveEnded();
    await file.spillRest();
    const onDisk = readFileSync(file.path);
    expect(onDisk.length).toBe(data.length);
    expect(onDisk.subarray(0, 1_000_003).equals(Buffer.alloc(1_000_003))).toBe(true); // a hole
    expect(onDisk.subarray(1_000_003).equals(data.subarray(1_000_003))).toBe(true);
    // A read below what is held in memory comes from the file.
    expect((await file.read(1_500_000, 100_000))!.equals(data.subarray(1_500_000, 1_600_000))).toBe(true);
    await file.close();
  });

  it('grows the window to the entry a reader waits for, within reach, without writing it', async () => {
    const window = 256 * 1024;
    const data = randomBytes(3 * 1024 * 1024);
    const file = await newFile(window, 4 * 1024 * 1024);
    const source = new PassThrough({ highWaterMark: 16 * 1024 });
    const filled = file.fill(source, 1e9);
    void feed(source, data, 16 * 1024);
    expect((await file.read(0, data.length))!.equals(data)).toBe(true);
    expect(statSync(file.path).size).toBe(0);
    file.consumed(data.length);
    expect(await filled).toBe(data.length);
    await file.spillRest();
    expect(statSync(file.path).size).toBe(0);
    await file.close();
  });

  it('holds at most its window unread: the upload waits, and a reader that needs more than the window may grow to gets it from the file', async () => {
    const window = 256 * 1024;
    const data = randomBytes(3 * 1024 * 1024);
    const file = await newFile(window, 1024 * 1024);
    const source = new PassThrough({ highWaterMark: 16 * 1024 });
    const filled = file.fill(source, 1e9);
    let fed = false;
    void feed(source, data, 16 * 1024).then(() => (fed = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Nobody reads: the upload stops once the window is full.
    expect(fed).toBe(false);
    expect(file.received).toBeLessThan(window + 3 * 64 * 1024);
    // One read that spans the whole upload: the window moves to the file to make room.
    const all = await file.read(0, data.length);
    expect(all!.equals(data)).toBe(true);
    expect(await filled).toBe(data.length);
    // Bytes that went to the file and bytes still in memory read back as one range.
    expect((await file.read(data.length - window - 1000, window + 500))!.equals(data.subarray(data.length - window - 1000, data.length - 500))).toBe(true);
    await file.spillRest();
    expect(readFileSync(file.path).equals(data)).toBe(true);
    await file.close();
  });

  it('stops with TooLargeError past the limit, stops the stream, and wakes waiting readers', async () => {
    const file = await newFile();
    const source = new PassThrough();
    const filled = file.fill(source, 100_000);
    const waiting = file.waitFor(500_000);
    void feed(source, randomBytes(400_000), 16 * 1024).catch(() => undefined);
    await expect(filled).rejects.toBeInstanceOf(TooLargeError);
    expect(await waiting).toBe(false);
    expect(file.received).toBeLessThanOrEqual(100_000);
    expect(source.destroyed).toBe(true);
    await file.close();
  });

  it('fails with the stream error, and a stream that closes before its end is a failure too', async () => {
    for (const ending of [new Error('client went away'), 'destroy'] as const) {
      const file = await newFile();
      const source = new PassThrough();
      const filled = file.fill(source, 1e9);
      void feed(source, randomBytes(200_000), 10_000, ending);
      await expect(filled).rejects.toThrow(ending === 'destroy' ? /closed before it ended/ : /client went away/);
      expect(await file.waitFor(1e9)).toBe(false);
      await file.close();
    }
  });

  it('survives an error the stream emits after reading stopped', async () => {
    const file = await newFile();
    const source = new PassThrough();
    const filled = file.fill(source, 10);
    source.write(Buffer.alloc(100));
    await expect(filled).rejects.toBeInstanceOf(TooLargeError);
    // No listener of ours may be missing: an unhandled 'error' would end the process.
    source.emit('error', new Error('late'));
    await file.close();
  });
});
