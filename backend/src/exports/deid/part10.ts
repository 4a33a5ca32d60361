/**
 * De-identifies a DICOM Part-10 file: read with dcmjs, de-identify (profile.ts), write back.
 *
 * - Native (uncompressed) transfer syntaxes — implicit/explicit little endian, deflated, explicit
 *   big endian — are written as explicit VR little endian (big-endian OW/OF/OL/OD/OV values are
 *   byte-swapped, so pixel values are unchanged).
 * - Encapsulated (compressed) transfer syntaxes keep their transfer syntax, and the top-level Pixel
 *   Data element is copied byte for byte from the input (offset table and fragments as they were:
 *   dcmjs would re-fragment it).
 * - The file meta header is rebuilt: MediaStorageSOPInstanceUID follows the remapped
 *   SOPInstanceUID, and the source/sending AE titles of the original header are not carried over.
 * - dcmjs reads every text as Unicode and writes UTF-8 (SpecificCharacterSet ISO_IR 192). A
 *   multi-valued SpecificCharacterSet (ISO 2022 code extensions), which dcmjs refuses, is read when
 *   it is the Japanese G0 set alone (ISO 2022 IR 87 with or without IR 6), decoded as ISO-2022-JP;
 *   other combinations throw a DeidentificationError rather than being decoded wrongly.
 */
import { dcmjs, type DicomDataset } from './dcmjs.js';
import { deidentifyDataset, type DeidContext, type DeidReport } from './profile.js';

export class DeidentificationError extends Error {
  override name = 'DeidentificationError';
}

const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const DEFLATED_LE = '1.2.840.10008.1.2.1.99';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';
const NATIVE_SYNTAXES = new Set([IMPLICIT_LE, EXPLICIT_LE, DEFLATED_LE, EXPLICIT_BE]);
/** The same implementation identity as the SEG writer and the NIfTI importer of Preview-DICOM. */
const IMPLEMENTATION_CLASS_UID = '2.25.176360473232302049938316651287307786717';
const IMPLEMENTATION_VERSION_NAME = 'PREVIEW_DICOM_1';
const PIXEL_DATA = '7FE00010';

type Element = { vr: string; Value?: unknown[] };

function arrayBufferOf(buf: Buffer): ArrayBuffer {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength && buf.buffer instanceof ArrayBuffer) return buf.buffer;
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

function firstString(el: unknown): string | null {
  const v = (el as Element | undefined)?.Value?.[0];
  return typeof v === 'string' && v.trim() ? v.replace(/\0/g, '').trim() : null;
}

/**
 * De-identifies one Part-10 file (see profile.ts for the rules) and returns the new file.
 * Throws DeidentificationError for input that is not a readable Part-10 file.
 */
export function deidentifyPart10(file: Buffer, context: DeidContext): Buffer {
  return deidentifyPart10WithReport(file, context).file;
}

/** deidentifyPart10, also returning what was done. */
export function deidentifyPart10WithReport(file: Buffer, context: DeidContext): { file: Buffer; report: DeidReport } {
  const { parts, report } = deidentifyPart10Parts(file, context);
  return { file: Buffer.concat(parts), report };
}

/**
 * deidentifyPart10 as the pieces of the new file, in order; the Pixel Data piece may be a view
 * of `file` (an export appends the pieces to its ZIP without joining them).
 */
export function deidentifyPart10Parts(file: Buffer, context: DeidContext): { parts: Buffer[]; report: DeidReport } {
  // Most files end with their Pixel Data: dcmjs then reads only the bytes before it, and the
  // element is passed on from the input, so the pixels are neither copied nor parsed.
  const trailing = trailingPixelData(file);
  const { message, source } = readMessage(trailing ? file.subarray(0, trailing.offset) : file);
  const syntax = firstString(message.meta['00020010']);
  if (!syntax) throw new DeidentificationError('the file meta header has no transfer syntax');
  if (syntax === EXPLICIT_BE) swapBigEndianWords(message.dict);
  const encapsulated = !NATIVE_SYNTAXES.has(syntax);

  const { dataset, report } = deidentifyDataset(message.dict, context);
  // No value can be longer than the file (deflate compresses at most about 1032:1).
  assertWritable(dataset, '', syntax === DEFLATED_LE ? file.length * 1032 : file.length);

  const sopClass = firstString(dataset['00080016']) ?? firstString(message.meta['00020002']);
  const originalInstance = firstString(message.meta['00020003']);
  const sopInstance = firstString(dataset['00080018']) ?? (originalInstance ? context.mapUid(originalInstance) : null);
  if (!sopClass || !sopInstance) throw new DeidentificationError('the file has no SOP Class or SOP Instance UID');
  const meta: DicomDataset = {
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': { vr: 'UI', Value: [sopClass] },
    '00020003': { vr: 'UI', Value: [sopInstance] },
    '00020010': { vr: 'UI', Value: [encapsulated ? syntax : EXPLICIT_LE] },
    '00020012': { vr: 'UI', Value: [IMPLEMENTATION_CLASS_UID] },
    '00020013': { vr: 'SH', Value: [IMPLEMENTATION_VERSION_NAME] },
  };

  // Everything before Pixel Data through dcmjs, then the Pixel Data element written here (encapsulated:
  // the original element's bytes; native: its value, without dcmjs copying it through its own
  // stream), then whatever followed it (rare: trailing padding and signatures are removed).
  const before: DicomDataset = {};
  const after: DicomDataset = {};
  for (const [key, el] of Object.entries(dataset)) {
    const upper = key.toUpperCase();
    if (upper === PIXEL_DATA) continue;
    (upper < PIXEL_DATA ? before : after)[key] = el;
  }
  const dict = new dcmjs.data.DicomDict(meta);
  dict.dict = before;
  const parts: Buffer[] = [Buffer.from(dict.write())];
  const pixelData = dataset[PIXEL_DATA] as Element | undefined;
  if (trailing) parts.push(...trailing.element);
  else if (pixelData) parts.push(...(encapsulated ? [locatePixelData(source)] : nativePixelElement(pixelData)));
  if (Object.keys(after).length) {
    const stream = new dcmjs.data.WriteBufferStream(1024, true);
    dcmjs.data.DicomMessage.write(after, stream, EXPLICIT_LE);
    parts.push(Buffer.from(stream.getBuffer()));
  }
  return { parts, report };
}

/**
 * Where the top-level Pixel Data element starts, and that element as it is to be written
 * (explicit VR little endian), when it is the last element of a little-endian, not deflated file;
 * otherwise null, and the whole file goes through dcmjs (so do malformed files: dcmjs names
 * their fault). Elements are walked here because dcmjs cannot say where an element began.
 */
function trailingPixelData(file: Buffer): { offset: number; element: Buffer[] } | null {
  try {
    const { start, syntax } = datasetStart(file);
    if (syntax === DEFLATED_LE || syntax === EXPLICIT_BE || !syntax) return null;
    const explicit = syntax !== IMPLICIT_LE;
    const native = NATIVE_SYNTAXES.has(syntax);
    for (let off = start; off + 8 <= file.length; ) {
      const group = file.readUInt16LE(off);
      const element = file.readUInt16LE(off + 2);
      if (group > 0x7fe0 || (group === 0x7fe0 && element > 0x0010)) return null;
      const end = elementEnd(file, off, explicit);
      if (group !== 0x7fe0 || element !== 0x0010) {
        off = end;
        continue;
      }
      if (end !== file.length) return null;
      if (!native) return { offset: off, element: [file.subarray(off)] };
      if (explicit) {
        const vr = file.toString('latin1', off + 4, off + 6);
        const length = file.readUInt32LE(off + 8);
        const plain = (vr === 'OB' || vr === 'OW') && length !== UNDEFINED && length % 2 === 0;
        return plain ? { offset: off, element: [file.subarray(off)] } : null;
      }
      const length = file.readUInt32LE(off + 4);
      if (length === UNDEFINED || length % 2) return null;
      // Implicit VR: the value as it is, under an explicit OW header (as dcmjs reads it).
      return { offset: off, element: [pixelDataHeader('OW', length), file.subarray(off + 8)] };
    }
    return null;
  } catch {
    return null;
  }
}

/** Explicit VR little endian Pixel Data element (header, value, pad byte) from a native value. */
function nativePixelElement(el: Element): Buffer[] {
  const chunks = (el.Value ?? []).map((v) => {
    if (v instanceof ArrayBuffer) return Buffer.from(v);
    if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    throw new DeidentificationError('unexpected Pixel Data value');
  });
  const length = chunks.reduce((n, c) => n + c.length, 0);
  const header = pixelDataHeader(el.vr === 'OB' ? 'OB' : 'OW', length + (length % 2));
  return length % 2 ? [header, ...chunks, Buffer.alloc(1)] : [header, ...chunks];
}

/** The 12-byte explicit VR little endian header of a Pixel Data element of `length` bytes. */
function pixelDataHeader(vr: 'OB' | 'OW', length: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16LE(0x7fe0, 0);
  header.writeUInt16LE(0x0010, 2);
  header.write(vr, 4, 'latin1');
  header.writeUInt32LE(length, 8);
  return header;
}

// ---------------------------------------------------------------------------------------------
// Reading

/**
 * Reads a Part-10 file as deidentifyPart10 does (ISO 2022 Japanese fallback, big-endian words
 * swapped): the denaturalized dataset, its meta header and transfer syntax.
 */
export function readPart10Dataset(file: Buffer): { dataset: DicomDataset; meta: DicomDataset; transferSyntax: string } {
  const { message } = readMessage(file);
  const transferSyntax = firstString(message.meta['00020010']) ?? '';
  if (transferSyntax === EXPLICIT_BE) swapBigEndianWords(message.dict);
  return { dataset: message.dict, meta: message.meta, transferSyntax };
}

/** The bytes of the top-level Pixel Data element (header included) of an encapsulated Part-10 file. */
export function encapsulatedPixelDataElement(file: Buffer): Buffer {
  return locatePixelData(file);
}

function readMessage(file: Buffer): { message: { dict: DicomDataset; meta: DicomDataset }; source: Buffer } {
  try {
    return { message: dcmjs.data.DicomMessage.readFile(arrayBufferOf(file)), source: file };
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    if (!/multiple character sets/i.test(text)) throw new DeidentificationError(`not a readable DICOM Part-10 file: ${text}`);
  }
  const patched = withSingleCharacterSet(file);
  try {
    return { message: dcmjs.data.DicomMessage.readFile(arrayBufferOf(patched)), source: patched };
  } catch (err) {
    throw new DeidentificationError(`not a readable DICOM Part-10 file: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Where the dataset starts and which syntax it is in, from the meta header. */
function datasetStart(file: Buffer): { start: number; syntax: string } {
  if (file.length < 144 || file.toString('latin1', 128, 132) !== 'DICM') throw new DeidentificationError('not a DICOM Part-10 file');
  if (file.readUInt16LE(132) !== 0x0002 || file.readUInt16LE(134) !== 0x0000) {
    throw new DeidentificationError('the file meta header has no group length');
  }
  const start = 144 + file.readUInt32LE(140);
  let syntax = '';
  for (let off = 144; off < start; ) {
    const element = file.readUInt16LE(off + 2);
    const end = elementEnd(file, off, true);
    if (element === 0x0010) syntax = file.toString('latin1', off + 8, end).replace(/[\0 ]+$/, '');
    off = end;
  }
  return { start, syntax };
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED = 0xffffffff;

/** The offset just past the little-endian element at `off` (nested sequences and items skipped). */
function elementEnd(buf: Buffer, off: number, explicit: boolean): number {
  let length: number;
  let header: number;
  let vr = '';
  if (explicit) {
    vr = buf.toString('latin1', off + 4, off + 6);
    if (LONG_VRS.has(vr)) {
      length = buf.readUInt32LE(off + 8);
      header = 12;
    } else {
      length = buf.readUInt16LE(off + 6);
      header = 8;
    }
  } else {
    length = buf.readUInt32LE(off + 4);
    header = 8;
  }
  if (length !== UNDEFINED) {
    const end = off + header + length;
    if (end > buf.length) throw new DeidentificationError('an element runs past the end of the file');
    return end;
  }
  // Undefined length: a sequence, encapsulated pixel data, or UN whose content is implicit VR.
  return sequenceEnd(buf, off + header, explicit && vr !== 'UN');
}

function sequenceEnd(buf: Buffer, start: number, explicit: boolean): number {
  let pos = start;
  while (pos + 8 <= buf.length) {
    const group = buf.readUInt16LE(pos);
    const element = buf.readUInt16LE(pos + 2);
    const length = buf.readUInt32LE(pos + 4);
    if (group === 0xfffe && element === 0xe0dd) return pos + 8;
    if (group !== 0xfffe || element !== 0xe000) throw new DeidentificationError('malformed sequence');
    if (length !== UNDEFINED) {
      pos += 8 + length;
      continue;
    }
    pos += 8;
    for (;;) {
      if (pos + 8 > buf.length) throw new DeidentificationError('unterminated item');
      if (buf.readUInt16LE(pos) === 0xfffe && buf.readUInt16LE(pos + 2) === 0xe00d) {
        pos += 8;
        break;
      }
      pos = elementEnd(buf, pos, explicit);
    }
  }
  throw new DeidentificationError('unterminated sequence');
}

/** The bytes of the top-level Pixel Data element (header included) of an explicit little-endian file. */
function locatePixelData(file: Buffer): Buffer {
  const { start } = datasetStart(file);
  for (let off = start; off + 8 <= file.length; ) {
    const group = file.readUInt16LE(off);
    const element = file.readUInt16LE(off + 2);
    const end = elementEnd(file, off, true);
    if (group === 0x7fe0 && element === 0x0010) return file.subarray(off, end);
    off = end;
  }
  throw new DeidentificationError('no top-level Pixel Data element found');
}

/**
 * A copy of the file whose multi-valued SpecificCharacterSet is replaced by the single term dcmjs
 * can decode the same text with, or a DeidentificationError when there is none.
 */
function withSingleCharacterSet(file: Buffer): Buffer {
  const { start, syntax } = datasetStart(file);
  if (syntax !== EXPLICIT_LE && syntax !== IMPLICIT_LE) {
    throw new DeidentificationError(`ISO 2022 character sets are not supported in transfer syntax ${syntax}`);
  }
  const explicit = syntax !== IMPLICIT_LE;
  for (let off = start; off + 8 <= file.length; ) {
    const group = file.readUInt16LE(off);
    const element = file.readUInt16LE(off + 2);
    const end = elementEnd(file, off, explicit);
    if (group === 0x0008 && element === 0x0005) {
      const terms = file
        .toString('latin1', off + 8, end)
        .split('\\')
        .map((t) => t.replace(/[\0 ]+$/, '').trim());
      const japaneseG0 = terms.every((t) => t === '' || t === 'ISO 2022 IR 6' || t === 'ISO 2022 IR 87') && terms.includes('ISO 2022 IR 87');
      if (!japaneseG0) throw new DeidentificationError(`SpecificCharacterSet ${terms.join('\\')} is not supported`);
      const value = Buffer.from('ISO 2022 IR 87', 'latin1');
      const head = Buffer.alloc(8);
      head.writeUInt16LE(0x0008, 0);
      head.writeUInt16LE(0x0005, 2);
      if (explicit) {
        head.write('CS', 4, 'latin1');
        head.writeUInt16LE(value.length, 6);
      } else {
        head.writeUInt32LE(value.length, 4);
      }
      return Buffer.concat([file.subarray(0, off), head, value, file.subarray(end)]);
    }
    if (group > 0x0008) break;
    off = end;
  }
  throw new DeidentificationError('SpecificCharacterSet not found at the top level');
}

const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);

/**
 * dcmjs sometimes misreads a malformed element (e.g. a UN element nested in a UN sequence comes back
 * with a length read from the wrong bytes: a value larger than the whole file) and would then write
 * it out — hundreds of megabytes for one such file. Refuse instead.
 */
function assertWritable(ds: DicomDataset, path: string, fileLength: number): void {
  for (const [key, value] of Object.entries(ds)) {
    const el = value as Element;
    if (!el || typeof el !== 'object' || !Array.isArray(el.Value)) continue;
    if (el.vr === 'SQ') {
      el.Value.forEach((item, i) => {
        if (item && typeof item === 'object') assertWritable(item as DicomDataset, `${path}${key}[${i}].`, fileLength);
      });
      continue;
    }
    if (!BINARY_VRS.has(el.vr)) continue;
    for (const v of el.Value) {
      const ok = v === null || v === undefined || ((v instanceof ArrayBuffer || ArrayBuffer.isView(v)) && v.byteLength <= fileLength);
      if (!ok) throw new DeidentificationError(`element ${path}${key} (${el.vr}) was misread and cannot be written back`);
    }
  }
}

/** dcmjs leaves big-endian OW/OF/OL/OD/OV bytes as they are in the file: swap them to little endian. */
function swapBigEndianWords(ds: DicomDataset): void {
  const widths: Record<string, number> = { OW: 2, OF: 4, OL: 4, OD: 8, OV: 8 };
  for (const value of Object.values(ds)) {
    const el = value as Element;
    if (!el || typeof el !== 'object' || !Array.isArray(el.Value)) continue;
    if (el.vr === 'SQ') {
      for (const item of el.Value) if (item && typeof item === 'object') swapBigEndianWords(item as DicomDataset);
      continue;
    }
    const width = widths[el.vr];
    if (!width) continue;
    el.Value = el.Value.map((v) => {
      if (!(v instanceof ArrayBuffer)) return v;
      const bytes = new Uint8Array(v.slice(0));
      for (let i = 0; i + width <= bytes.length; i += width) bytes.subarray(i, i + width).reverse();
      return bytes.buffer;
    });
  }
}
