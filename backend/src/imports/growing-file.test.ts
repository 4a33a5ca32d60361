import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { GrowingFile } from './growing-file.js';
import { TooLargeError } from './spool.js';

const dir = mkdtempSync(join(tmpdir(), 'pd-growing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => GrowingFile.create(join(dir, `${++files}.bin`));

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
    expect(await filled).toBe(data.length);
    expect(file.complete).toBe(true);
    expect(readFileSync(file.path).equals(data)).toBe(true);
    expect(await file.read(data.length - 10, 20)).toBeNull(); // past the end
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
    expect(file.written).toBeLessThanOrEqual(100_000);
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
