// Test data helpers: real files from ../shared/data, read in place.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

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

// @ts-ignore -- dcmjs ships no type declarations
import dcmjsUntyped from 'dcmjs';

type DcmjsData = {
  DicomMessage: { readFile(buffer: ArrayBuffer): { dict: Record<string, unknown>; meta: Record<string, unknown> } };
  DicomMetaDictionary: { naturalizeDataset(dataset: object): Record<string, unknown>; denaturalizeDataset(dataset: object): Record<string, unknown> };
  DicomDict: new (meta: Record<string, unknown>) => { dict: Record<string, unknown>; write(): ArrayBuffer };
};
const dcmjsData = (dcmjsUntyped as { data: DcmjsData }).data;
// dcmjs logs every private tag it does not know; the tests need none of that.
(dcmjsUntyped as { log?: { setLevel?: (level: string) => void } }).log?.setLevel?.('error');

let uidCounter = 0;
/** A fresh UID under 2.25 (UUID-derived), unique per call. */
export function freshUid(): string {
  uidCounter++;
  return `2.25.${BigInt(`0x${crypto.randomUUID().replaceAll('-', '')}`).toString()}`.slice(0, 60) + String(uidCounter % 10);
}

/** A copy of a DICOM file with some attributes changed (dcmjs names, e.g. { PatientName: 'X' }). The original is untouched. */
export function rewriteDicom(file: Buffer, changes: Record<string, unknown>): Buffer {
  const message = dcmjsData.DicomMessage.readFile(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer);
  const dataset = { ...dcmjsData.DicomMetaDictionary.naturalizeDataset(message.dict), ...changes };
  const meta = dcmjsData.DicomMetaDictionary.naturalizeDataset(message.meta);
  if (changes.SOPInstanceUID) meta.MediaStorageSOPInstanceUID = changes.SOPInstanceUID;
  const dict = new dcmjsData.DicomDict(dcmjsData.DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = dcmjsData.DicomMetaDictionary.denaturalizeDataset(dataset);
  return Buffer.from(dict.write());
}

/** Every file of a shared-data folder (licence texts left out), named by its path below shared/data. */
export function folderFiles(folder: string): { name: string; data: Buffer }[] {
  const root = join(sharedData, folder);
  const walk = (dir: string): string[] => readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? walk(join(dir, name)) : [join(dir, name)]));
  return walk(root)
    .filter((p) => !p.split('/').pop()!.startsWith('SOURCE'))
    .sort()
    .map((p) => ({ name: relative(sharedData, p), data: readFileSync(p) }));
}

export function form(files: { name: string; data: Buffer }[], fields: Record<string, string> = {}): FormData {
  const body = new FormData();
  for (const [key, value] of Object.entries(fields)) body.append(key, value);
  for (const file of files) body.append('file', new Blob([new Uint8Array(file.data)]), file.name);
  return body;
}

