import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yazl from 'yazl';
import { afterAll, expect, it, vi } from 'vitest';
import { readZip, ZipRejection } from './zip-archive.js';

// readZip opens the archive twice: once for the directory pass, once to read the entries. The
// second open can only fail through the system (say, too many open files), which a test cannot
// provoke on demand, so this file's node:fs refuses opens once told to.
const opens = vi.hoisted(() => ({ refuseFrom: Infinity, count: 0 }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const open = (...args: unknown[]) => {
    opens.count += 1;
    const callback = args[args.length - 1] as (error: NodeJS.ErrnoException | null, fd?: number) => void;
    if (opens.count >= opens.refuseFrom) return process.nextTick(callback, Object.assign(new Error('EMFILE: too many open files, open'), { code: 'EMFILE' }));
    return (fs.open as (...a: unknown[]) => void)(...args);
  };
  return { ...fs, default: { ...fs, open }, open };
});

const dir = mkdtempSync(join(tmpdir(), 'pd-zip-reopen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('refuses the archive with its reason when it cannot be opened a second time, and leaves no file open', async () => {
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from('one'), 'one.dcm');
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  const path = join(dir, 'reopen.zip');
  writeFileSync(path, Buffer.concat(chunks));
  const before = readdirSync('/proc/self/fd').length;
  opens.count = 0;
  opens.refuseFrom = 2;
  const attempt = (async () => {
    for await (const _ of readZip(path, { maxEntries: 10, maxTotalBytes: 1e6, maxEntryBytes: 1e6, maxRatio: 100 })) throw new Error('no entry should be read');
  })();
  await expect(attempt).rejects.toThrow(ZipRejection);
  await expect(attempt).rejects.toThrow(/could not be opened a second time .*EMFILE.*import it again/);
  expect(opens.count).toBe(2);
  await vi.waitFor(() => expect(readdirSync('/proc/self/fd').length).toBe(before), { timeout: 2000 });
});
