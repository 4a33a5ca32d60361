// Benchmark data: the 20-slice CT series of the shared test data, replicated with dcmjs
// (backend/test/dicom.ts `rewriteDicom`) into a base set of N instances with placeholder
// UIDs of a fixed length. Fresh copies (new study, series and SOP instance UIDs, and a new
// patient) are then made by overwriting the placeholder's digits in place, which keeps every
// element length unchanged, so a 1,000-instance study with fresh UIDs takes milliseconds
// instead of 18 s of dcmjs per run.
import { createReadStream, createWriteStream, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import yazl from 'yazl';
// @ts-ignore -- dcmjs ships no type declarations
import dcmjsUntyped from 'dcmjs';
import { rewriteDicom, sharedData } from '../../backend/test/dicom.js';

type DcmjsModule = {
  data: { DicomMessage: { readFile(buffer: ArrayBuffer): { dict: Record<string, unknown> } }; DicomMetaDictionary: { naturalizeDataset(dataset: object): Record<string, unknown> } };
  log?: { getLogger?: (name: string) => { setLevel: (level: string) => void } };
};
const dcmjs = dcmjsUntyped as DcmjsModule;
// dcmjs reports the implicit-VR pixel data ("Invalid vr type ox - using OW") once per file it writes.
dcmjs.log?.getLogger?.('validation.dcmjs').setLevel('silent');

export const SOURCE_DIR = join(sharedData, 'ct-volume-pancreas-tcia');

/** UIDs are `2.25.9<tag:10 digits><role:1 digit><index:8 digits>` (25 characters, one component, no leading zero). */
const UID_PREFIX = '2.25.9';
const PATIENT_PREFIX = 'PDBENCH';
/** The tag written by dcmjs into the base set; fresh copies never use it. */
const BASE_TAG = '1000000000';
export const ROLE = { study: '1', series: '2', sop: '3', frameOfReference: '4' } as const;

export const benchUid = (tag: string, role: (typeof ROLE)[keyof typeof ROLE], index: number): string => `${UID_PREFIX}${tag}${role}${String(index).padStart(8, '0')}`;
export const benchPatientId = (tag: string): string => `${PATIENT_PREFIX}${tag}`;

let nextTag = 2_000_000_000 + Math.floor(Math.random() * 6_000_000_000);
/** A 10-digit tag not used before in this process (random start, so reruns against one archive do not collide). */
export const freshTag = (): string => String(nextTag++);

export type Tags = { study: string; instances: string; patient: string };

export type BaseInstance = {
  data: Buffer;
  /** Series number within the base study (0-based) and position within the series. */
  series: number;
  slice: number;
  index: number;
  /** Byte offsets of every placeholder tag: UIDs (with the role digit after the tag) and patient. */
  uidOffsets: { at: number; role: string }[];
  patientOffsets: number[];
};

function readSources(): { data: Buffer; z: number; position: number[] }[] {
  const files = readdirSync(SOURCE_DIR)
    .filter((name) => name.endsWith('.dcm'))
    .map((name) => readFileSync(join(SOURCE_DIR, name)));
  const withZ = files.map((data) => {
    const message = dcmjs.data.DicomMessage.readFile(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.dict);
    const position = (ds.ImagePositionPatient as number[]).map(Number);
    return { data, z: position[2]!, position };
  });
  return withZ.sort((a, b) => b.z - a.z);
}

function offsetsOf(data: Buffer): { uidOffsets: BaseInstance['uidOffsets']; patientOffsets: number[] } {
  const uidMarker = Buffer.from(UID_PREFIX + BASE_TAG, 'latin1');
  const patientMarker = Buffer.from(PATIENT_PREFIX + BASE_TAG, 'latin1');
  const uidOffsets: BaseInstance['uidOffsets'] = [];
  const patientOffsets: number[] = [];
  // The placeholders all sit in the header, before the pixel data; search the first 64 KiB.
  const head = data.subarray(0, Math.min(data.length, 65_536));
  for (let at = head.indexOf(uidMarker); at >= 0; at = head.indexOf(uidMarker, at + 1)) {
    uidOffsets.push({ at: at + UID_PREFIX.length, role: String.fromCharCode(head[at + uidMarker.length]!) });
  }
  for (let at = head.indexOf(patientMarker); at >= 0; at = head.indexOf(patientMarker, at + 1)) patientOffsets.push(at + PATIENT_PREFIX.length);
  return { uidOffsets, patientOffsets };
}

/**
 * `count` instances in one study, series of `perSeries` slices each; slice j of a series is
 * source slice j mod 20 placed j slice-spacings along the axis (InstanceNumber j + 1).
 */
export function buildBaseSet(count: number, perSeries: number): BaseInstance[] {
  const sources = readSources();
  const spacing = Math.abs(sources[0]!.z - sources[sources.length - 1]!.z) / Math.max(1, sources.length - 1) || 1;
  const out: BaseInstance[] = [];
  for (let index = 0; index < count; index += 1) {
    const series = Math.floor(index / perSeries);
    const slice = index % perSeries;
    const source = sources[slice % sources.length]!;
    const z = Number((sources[0]!.z - slice * spacing).toFixed(2));
    const data = rewriteDicom(source.data, {
      PatientID: benchPatientId(BASE_TAG),
      PatientName: benchPatientId(BASE_TAG),
      StudyInstanceUID: benchUid(BASE_TAG, ROLE.study, 0),
      SeriesInstanceUID: benchUid(BASE_TAG, ROLE.series, series),
      SOPInstanceUID: benchUid(BASE_TAG, ROLE.sop, index),
      FrameOfReferenceUID: benchUid(BASE_TAG, ROLE.frameOfReference, 0),
      StudyDescription: 'Preview-DICOM benchmark',
      SeriesDescription: `Benchmark series ${series + 1}`,
      SeriesNumber: 1001 + series,
      InstanceNumber: slice + 1,
      ImagePositionPatient: [source.position[0]!, source.position[1]!, z],
      SliceLocation: z,
    });
    const offsets = offsetsOf(data);
    if (offsets.uidOffsets.length < 5 || offsets.patientOffsets.length < 2) throw new Error(`benchmark data: placeholders not found in generated instance ${index}`);
    out.push({ data, series, slice, index, ...offsets });
  }
  return out;
}

/** A copy of a base instance with fresh identifiers (same length, so the file stays valid). */
export function patchInstance(base: BaseInstance, tags: Tags): Buffer {
  const out = Buffer.from(base.data);
  for (const { at, role } of base.uidOffsets) out.write(role === ROLE.study || role === ROLE.frameOfReference ? tags.study : tags.instances, at, 'latin1');
  for (const at of base.patientOffsets) out.write(tags.patient, at, 'latin1');
  return out;
}

/** The UIDs a patched copy carries. */
export function copyUids(tags: Tags, base: BaseInstance[]) {
  return {
    studyInstanceUid: benchUid(tags.study, ROLE.study, 0),
    seriesInstanceUids: [...new Set(base.map((b) => b.series))].map((s) => benchUid(tags.instances, ROLE.series, s)),
    sopInstanceUids: base.map((b) => benchUid(tags.instances, ROLE.sop, b.index)),
    patientId: benchPatientId(tags.patient),
  };
}

export type ZipEntry = { name: string; size: number; make: () => Buffer };

/** Writes a stored (uncompressed) ZIP, making each entry only when its turn comes (memory stays flat). */
export async function writeZip(path: string, entries: ZipEntry[]): Promise<{ bytes: number; entries: number }> {
  const zip = new yazl.ZipFile();
  const mtime = new Date('2025-01-01T12:00:00Z');
  for (const entry of entries) {
    zip.addReadStreamLazy(entry.name, { compress: false, size: entry.size, mtime }, (cb) => cb(null, Readable.from([entry.make()], { objectMode: false })));
  }
  const out = createWriteStream(path);
  zip.outputStream.pipe(out);
  zip.end();
  await finished(out);
  return { bytes: statSync(path).size, entries: entries.length };
}

/**
 * A multipart/form-data body with one `file` part, and its length: streamed from disk, or from
 * memory (a Buffer read before the clock starts, as the anchor's files are).
 */
export function multipartFile(source: string | Buffer, filename: string, contentType = 'application/zip'): { body: Readable; length: number; contentType: string } {
  const boundary = `----preview-dicom-bench-${Date.now().toString(36)}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: ${contentType}\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const size = typeof source === 'string' ? statSync(source).size : source.length;
  async function* body() {
    yield head;
    if (typeof source === 'string') for await (const chunk of createReadStream(source, { highWaterMark: 1 << 20 })) yield chunk as Buffer;
    else yield source;
    yield tail;
  }
  return { body: Readable.from(body(), { objectMode: false }), length: head.length + size + tail.length, contentType: `multipart/form-data; boundary=${boundary}` };
}
