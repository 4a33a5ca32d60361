// Test data helpers: real files from ../shared/data, read in place.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const sharedData = resolve(import.meta.dirname, '../../../shared/data');

/** Every file below a folder of the shared test data, except licence texts and DICOMDIRs. */
export function dicomFiles(folder: string): Buffer[] {
  const root = join(sharedData, folder);
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return walk(path);
      return name.startsWith('SOURCE') || name === 'DICOMDIR' || name.endsWith('.txt') ? [] : [path];
    });
  return walk(root).sort().map((path) => readFileSync(path));
}

/** A STOW-RS body: multipart/related with one application/dicom part per file. */
export function stowBody(files: Buffer[]): { body: Buffer; contentType: string } {
  const boundary = `preview-dicom-${Date.now().toString(36)}`;
  const parts: Buffer[] = [];
  for (const file of files) parts.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), file, Buffer.from('\r\n'));
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/related; type="application/dicom"; boundary=${boundary}` };
}
