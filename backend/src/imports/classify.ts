// What an uploaded file is, from its first bytes (and its name only where bytes cannot
// tell). Small and hand-written: the magic numbers below are all we need to route a file.

export type FileKind =
  | { kind: 'dicom' }
  | { kind: 'dicomdir' }
  | { kind: 'zip' }
  | { kind: 'nifti'; gzipped: boolean }
  | { kind: 'maybe-dicom' }
  | { kind: 'not-dicom'; what: string }
  | { kind: 'misnamed'; what: string }
  | { kind: 'empty' };

/** Bytes needed from the start of a file to classify it. */
export const CLASSIFY_BYTES = 1024;

const DICOMDIR_SOP_CLASS = '1.2.840.10008.1.3.10';

const startsWith = (head: Buffer, bytes: number[], at = 0) => head.length >= at + bytes.length && bytes.every((b, i) => head[at + i] === b);

const knownOther: { what: string; test: (head: Buffer) => boolean }[] = [
  { what: 'a PNG image', test: (h) => startsWith(h, [0x89, 0x50, 0x4e, 0x47]) },
  { what: 'a JPEG image', test: (h) => startsWith(h, [0xff, 0xd8, 0xff]) },
  { what: 'a GIF image', test: (h) => startsWith(h, [0x47, 0x49, 0x46, 0x38]) },
  { what: 'a TIFF image', test: (h) => startsWith(h, [0x49, 0x49, 0x2a, 0x00]) || startsWith(h, [0x4d, 0x4d, 0x00, 0x2a]) },
  { what: 'a PDF document', test: (h) => startsWith(h, [0x25, 0x50, 0x44, 0x46]) },
  { what: 'an HDF5/MINC file', test: (h) => startsWith(h, [0x89, 0x48, 0x44, 0x46]) || startsWith(h, [0x43, 0x44, 0x46, 0x01]) },
  { what: 'an NRRD volume', test: (h) => h.subarray(0, 4).toString('latin1') === 'NRRD' },
  { what: 'a 7-Zip archive', test: (h) => startsWith(h, [0x37, 0x7a, 0xbc, 0xaf]) },
  { what: 'a RAR archive', test: (h) => h.subarray(0, 4).toString('latin1') === 'Rar!' },
  { what: 'a tar archive', test: (h) => h.subarray(257, 262).toString('latin1') === 'ustar' },
];

function isNiftiHeader(head: Buffer): boolean {
  if (head.length < 348) return false;
  const magic1 = head.subarray(344, 348).toString('latin1');
  if (magic1 === 'n+1\0' || magic1 === 'ni1\0') return true;
  const magic2 = head.subarray(4, 8).toString('latin1');
  return magic2 === 'n+2\0' || magic2 === 'ni2\0';
}

function looksLikeText(head: Buffer): boolean {
  if (!head.length) return false;
  let printable = 0;
  for (const byte of head) if (byte === 9 || byte === 10 || byte === 13 || (byte >= 32 && byte < 127) || byte >= 0xc2) printable++;
  return printable / head.length > 0.97;
}

/** Reads MediaStorageSOPClassUID (0002,0002) from a Part-10 meta header, if it is near the start. */
function mediaStorageSopClass(head: Buffer): string | null {
  const at = head.indexOf(Buffer.from([0x02, 0x00, 0x02, 0x00]), 132);
  if (at < 0 || at + 8 > head.length) return null;
  const vr = head.subarray(at + 4, at + 6).toString('latin1');
  const length = vr === 'UI' ? head.readUInt16LE(at + 6) : head.readUInt32LE(at + 4);
  const start = vr === 'UI' ? at + 8 : at + 8;
  if (start + length > head.length) return null;
  return head.subarray(start, start + length).toString('latin1').replace(/\0+$/, '').trim();
}

export function classifyFile(name: string, head: Buffer): FileKind {
  const lower = name.toLowerCase();
  if (head.length === 0) return { kind: 'empty' };
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) return { kind: 'zip' };
  if (startsWith(head, [0x1f, 0x8b])) {
    if (lower.endsWith('.nii.gz')) return { kind: 'nifti', gzipped: true };
    return { kind: 'not-dicom', what: 'a gzip-compressed file (unpack it first; .nii.gz is read as NIfTI)' };
  }
  if (isNiftiHeader(head)) return { kind: 'nifti', gzipped: false };
  if (head.subarray(128, 132).toString('latin1') === 'DICM') {
    const base = lower.split('/').pop();
    if (base === 'dicomdir' || mediaStorageSopClass(head) === DICOMDIR_SOP_CLASS) return { kind: 'dicomdir' };
    return { kind: 'dicom' };
  }
  const other = knownOther.find((k) => k.test(head));
  if (other) return { kind: 'not-dicom', what: other.what };
  if (lower.endsWith('.zip')) return { kind: 'misnamed', what: 'named .zip but not a ZIP archive (no ZIP signature at its start)' };
  if (lower.endsWith('.nii') || lower.endsWith('.nii.gz')) return { kind: 'misnamed', what: 'named like a NIfTI volume but without a NIfTI header' };
  if (looksLikeText(head)) return { kind: 'not-dicom', what: 'a text file' };
  // DICOM without the Part-10 preamble exists (old exports); Orthanc decides.
  return { kind: 'maybe-dicom' };
}
