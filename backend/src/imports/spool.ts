import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';

/**
 * A received file: small ones in memory (as the pieces they arrived in, or one buffer), big ones
 * in a temp file (so memory stays bounded).
 */
export type Spooled =
  | { where: 'memory'; data: Buffer[]; size: number; head: Buffer }
  | { where: 'disk'; path: string; size: number; head: Buffer };

export class TooLargeError extends Error {}

export function tempPath(tmpDir: string, suffix = ''): string {
  mkdirSync(tmpDir, { recursive: true, mode: 0o700 });
  return join(tmpDir, `${randomUUID()}${suffix}`);
}

/**
 * Reads a stream fully: into memory up to `memoryBytes`, then on to a temp file.
 * Past `maxBytes` it stops with TooLargeError (and deletes what it wrote).
 */
export async function spool(stream: Readable, options: { maxBytes: number; memoryBytes: number; tmpDir: string; headBytes: number }): Promise<Spooled> {
  let chunks: Buffer[] = [];
  const headChunks: Buffer[] = [];
  let headLength = 0;
  let size = 0;
  let file: { path: string; out: ReturnType<typeof createWriteStream> } | null = null;
  const write = async (chunk: Buffer) => {
    if (!file!.out.write(chunk)) await new Promise<void>((resolve) => file!.out.once('drain', () => resolve()));
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > options.maxBytes) throw new TooLargeError(`larger than the ${formatBytes(options.maxBytes)} limit`);
      if (headLength < options.headBytes) {
        headChunks.push(chunk);
        headLength += chunk.length;
      }
      if (file) await write(chunk);
      else {
        chunks.push(chunk);
        if (size > options.memoryBytes) {
          const path = tempPath(options.tmpDir);
          file = { path, out: createWriteStream(path, { mode: 0o600 }) };
          for (const held of chunks) await write(held);
          chunks = [];
        }
      }
    }
    if (file) {
      file.out.end();
      await finished(file.out);
      return { where: 'disk', path: file.path, size, head: Buffer.concat(headChunks).subarray(0, options.headBytes) };
    }
    // Copied into one buffer of the file's size: a chunk may be a slice of a larger read buffer
    // that would otherwise stay allocated for as long as the file is held.
    const data = Buffer.concat(chunks);
    return { where: 'memory', data: [data], size, head: data.subarray(0, options.headBytes) };
  } catch (error) {
    stream.resume();
    if (file) {
      file.out.destroy();
      await rm(file.path, { force: true });
    }
    throw error;
  }
}

/** The file as a store body; one on disk as a stream factory, so a store can be sent again. */
export function spooledBody(spooled: Spooled): Buffer | Buffer[] | (() => Readable) {
  if (spooled.where === 'disk') return () => createReadStream(spooled.path);
  // undici refuses an empty iterable body on a busy connection; an empty file is one empty buffer.
  return spooled.data.length <= 1 ? (spooled.data[0] ?? Buffer.alloc(0)) : spooled.data;
}

export async function discard(spooled: Spooled | null | undefined): Promise<void> {
  if (spooled?.where === 'disk') await rm(spooled.path, { force: true });
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${+(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${+(bytes / 1024 ** 2).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}
