/**
 * NIfTI volume -> DICOM series: one CT or MR Image Storage instance per slice (Part-10, explicit VR
 * little endian), one series per volume of a 4-D file (same study, same frame of reference).
 *
 * Instances are produced one at a time (async generator) so the caller can post each to Orthanc
 * before the next slice is read. dcmjs encodes the datasets; what is written by hand here is only
 * what no library does: the NIfTI->DICOM geometry per slice, the choice of 16-bit pixel encoding
 * (with a streamed min/max pass), and the sanitising of caller strings.
 */
import { randomUUID } from 'node:crypto';
// @ts-ignore -- dcmjs ships no type declarations; the small part used here is typed below (DcmjsApi).
import dcmjsUntyped from 'dcmjs';
import { NiftiRejection, type NiftiVolume } from './nifti-volume.js';

export type NiftiSeriesForm = {
  patientName: string;
  patientId: string;
  /** YYYYMMDD (or YYYY-MM-DD). */
  patientBirthDate?: string;
  patientSex?: 'M' | 'F' | 'O' | '';
  studyDescription: string;
  /** Defaults to "NIfTI import"; a 4-D file gets " (volume N)" appended per series. */
  seriesDescription?: string;
  modality: 'CT' | 'MR';
  /** Add the series to this study; a new study UID otherwise. */
  studyInstanceUid?: string;
};

export type NiftiDicomInstance = {
  volumeIndex: number;
  sliceIndex: number;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  part10: Buffer;
};

type NaturalDataset = Record<string, unknown>;
type DcmjsApi = {
  data: {
    DicomDict: new (meta: object) => { dict: object; write(options?: object): ArrayBuffer };
    DicomMetaDictionary: { denaturalizeDataset(dataset: NaturalDataset): object };
    ValueRepresentation: { createByTypeString(vr: string): { convertToString(value: number): string } };
  };
};
const dcmjs = dcmjsUntyped as unknown as DcmjsApi;

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** Identifies this converter as the writer of the files (a fixed 2.25 UUID-derived UID). */
const IMPLEMENTATION_CLASS_UID = '2.25.176360473232302049938316651287307786717';
const IMPLEMENTATION_VERSION_NAME = 'PREVIEW_DICOM_1';

/** "2.25." + a random (version 4) UUID as a decimal integer (PS3.5 B.2); at most 44 characters. */
export function newDicomUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString(10)}`;
}

const UID_PATTERN = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;

export function niftiToDicom(volume: NiftiVolume, form: NiftiSeriesForm): AsyncGenerator<NiftiDicomInstance> {
  return generate(volume, form);
}

async function* generate(volume: NiftiVolume, form: NiftiSeriesForm): AsyncGenerator<NiftiDicomInstance> {
  if (form.modality !== 'CT' && form.modality !== 'MR') throw new NiftiRejection(`Modality must be CT or MR, not "${String(form.modality)}".`);
  if (form.studyInstanceUid !== undefined && (form.studyInstanceUid.length > 64 || !UID_PATTERN.test(form.studyInstanceUid))) {
    throw new NiftiRejection(`"${form.studyInstanceUid}" is not a valid DICOM Study Instance UID. Leave it empty to create a new study.`);
  }
  const geometry = sliceGeometry(volume);
  const pixels = await planPixels(volume);

  const [nx, ny, nz] = volume.dims;
  const now = new Date();
  const date = dicomDate(now);
  const time = dicomTime(now);
  const studyInstanceUid = form.studyInstanceUid ?? newDicomUid();
  const frameOfReferenceUid = newDicomUid();
  const isCt = form.modality === 'CT';
  const sopClassUid = isCt ? CT_IMAGE_STORAGE : MR_IMAGE_STORAGE;
  const baseDescription = cleanText(form.seriesDescription ?? '', 64) || 'NIfTI import';

  const common: NaturalDataset = {
    SpecificCharacterSet: 'ISO_IR 192',
    ImageType: ['DERIVED', 'SECONDARY', isCt ? 'AXIAL' : 'OTHER'],
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    SOPClassUID: sopClassUid,
    StudyDate: date,
    SeriesDate: date,
    ContentDate: date,
    StudyTime: time,
    SeriesTime: time,
    ContentTime: time,
    AccessionNumber: '',
    Modality: form.modality,
    Laterality: '',
    PatientPosition: '',
    Manufacturer: 'Preview-DICOM',
    ReferringPhysicianName: '',
    StudyDescription: cleanText(form.studyDescription, 64),
    ManufacturerModelName: 'NIfTI import',
    DerivationDescription: cleanText(`Converted from ${volume.format} (${volume.datatypeName}, ${volume.affineSource} geometry) by Preview-DICOM`, 1024),
    PatientName: cleanText(form.patientName, 64, true),
    PatientID: cleanText(form.patientId, 64),
    PatientBirthDate: birthDate(form.patientBirthDate),
    PatientSex: form.patientSex && ['M', 'F', 'O'].includes(form.patientSex) ? form.patientSex : '',
    SoftwareVersions: 'Preview-DICOM',
    StudyInstanceUID: studyInstanceUid,
    StudyID: 'NIFTI',
    FrameOfReferenceUID: frameOfReferenceUid,
    PositionReferenceIndicator: '',
    ImageOrientationPatient: geometry.orientation,
    PixelSpacing: geometry.pixelSpacing,
    SliceThickness: geometry.sliceThickness,
    SpacingBetweenSlices: geometry.sliceThickness,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: ny,
    Columns: nx,
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
    PixelRepresentation: pixels.signed ? 1 : 0,
    WindowCenter: pixels.windowCenter,
    WindowWidth: pixels.windowWidth,
    RescaleIntercept: pixels.interceptDs,
    RescaleSlope: pixels.slopeDs,
    ...(isCt
      ? { KVP: '', RescaleType: 'HU' }
      : {
          ScanningSequence: 'RM',
          SequenceVariant: 'NONE',
          ScanOptions: '',
          MRAcquisitionType: '3D',
          RepetitionTime: '',
          EchoTime: '',
          EchoTrainLength: '',
          MagneticFieldStrength: '',
        }),
  };

  for (let t = 0; t < volume.volumes; t += 1) {
    const seriesInstanceUid = newDicomUid();
    const suffix = volume.volumes > 1 ? ` (volume ${t + 1})` : '';
    const seriesDescription = Array.from(baseDescription).slice(0, 64 - suffix.length).join('') + suffix;
    for (let k = 0; k < nz; k += 1) {
      const values = pixels.mode === 'raw' ? await volume.readRawSlice(k, t) : await volume.readSlice(k, t);
      const pixelData = pixels.encode(values);
      const sopInstanceUid = newDicomUid();
      const dataset: NaturalDataset = {
        ...common,
        SOPInstanceUID: sopInstanceUid,
        SeriesInstanceUID: seriesInstanceUid,
        SeriesNumber: t + 1,
        SeriesDescription: seriesDescription,
        AcquisitionNumber: t + 1,
        InstanceNumber: k + 1,
        ImagePositionPatient: geometry.position(k),
        SliceLocation: geometry.sliceLocation(k),
        PixelData: [pixelData],
        _vrMap: { PixelData: 'OW' },
      };
      yield {
        volumeIndex: t,
        sliceIndex: k,
        studyInstanceUid,
        seriesInstanceUid,
        sopInstanceUid,
        part10: encodePart10(dataset, sopClassUid, sopInstanceUid),
      };
    }
  }
}

function encodePart10(dataset: NaturalDataset, sopClassUid: string, sopInstanceUid: string): Buffer {
  const meta: NaturalDataset = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
  };
  const { DicomDict, DicomMetaDictionary } = dcmjs.data;
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return Buffer.from(dict.write());
}

// ---------------------------------------------------------------------------------------------
// Geometry (hand-written: no library maps a NIfTI affine to per-slice DICOM image plane attributes)

type SliceGeometry = {
  orientation: string[];
  pixelSpacing: string[];
  sliceThickness: string;
  position(k: number): string[];
  sliceLocation(k: number): string;
};

function sliceGeometry(volume: NiftiVolume): SliceGeometry {
  const a = volume.affineLps;
  const col = (c: number) => [a[0]![c]!, a[1]![c]!, a[2]![c]!];
  const norm = (v: number[]) => Math.hypot(v[0]!, v[1]!, v[2]!);
  const c0 = col(0);
  const c1 = col(1);
  const c2 = col(2);
  const n0 = norm(c0);
  const n1 = norm(c1);
  const n2 = norm(c2);
  // Row direction = increasing column index i (affine column 0); column direction = increasing row j.
  const rowDir = c0.map((v) => v / n0);
  const colDir = c1.map((v) => v / n1);
  const dot = rowDir[0]! * colDir[0]! + rowDir[1]! * colDir[1]! + rowDir[2]! * colDir[2]!;
  if (Math.abs(dot) > 1e-4) {
    throw new NiftiRejection(
      `The volume's voxel grid is sheared (its i and j axes are not perpendicular, angle ${((Math.acos(Math.max(-1, Math.min(1, dot))) * 180) / Math.PI).toFixed(2)}°), which DICOM slices cannot represent. Resample it to an orthogonal grid first.`,
    );
  }
  const normal = [
    rowDir[1]! * colDir[2]! - rowDir[2]! * colDir[1]!,
    rowDir[2]! * colDir[0]! - rowDir[0]! * colDir[2]!,
    rowDir[0]! * colDir[1]! - rowDir[1]! * colDir[0]!,
  ];
  const pos = (k: number) => [0, 1, 2].map((r) => a[r]![2]! * k + a[r]![3]!);
  return {
    orientation: [...rowDir, ...colDir].map(ds),
    // PixelSpacing is row spacing (between rows: along j) first, then column spacing (along i).
    pixelSpacing: [ds(n1), ds(n0)],
    sliceThickness: ds(n2),
    position: (k) => pos(k).map(ds),
    sliceLocation: (k) => {
      const p = pos(k);
      return ds(p[0]! * normal[0]! + p[1]! * normal[1]! + p[2]! * normal[2]!);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Pixels: 16-bit MONOCHROME2 with RescaleSlope/Intercept giving real values

type PixelPlan = {
  /** raw: store the NIfTI stored values (8/16-bit integers), rescale = scl_slope/scl_inter. real: encode real values. */
  mode: 'raw' | 'real';
  signed: boolean;
  slopeDs: string;
  interceptDs: string;
  windowCenter: string;
  windowWidth: string;
  encode(values: Float64Array): ArrayBuffer;
};

const SMALL_INT_TYPES = new Map<string, boolean>([
  ['uint8', false],
  ['int8', true],
  ['uint16', false],
  ['int16', true],
]);
const SAMPLE_TARGET = 200_000;
const RAW_MODE_SAMPLE_SLICES = 32;

async function planPixels(volume: NiftiVolume): Promise<PixelPlan> {
  const [nx, ny, nz] = volume.dims;
  const perSlice = nx * ny;
  const rawSigned = SMALL_INT_TYPES.get(volume.datatypeName);

  if (rawSigned !== undefined) {
    // 8/16-bit integers: the stored values go into DICOM unchanged, scl_slope/scl_inter become the
    // rescale. A sample of slices gives the display window.
    const slices = sampleSliceIndices(nz * volume.volumes, RAW_MODE_SAMPLE_SLICES);
    const stats = new Stats(Math.max(1, Math.floor((slices.length * perSlice) / SAMPLE_TARGET)));
    for (const s of slices) stats.add(await volume.readSlice(s % nz, Math.floor(s / nz)));
    const slopeDs = ds(volume.scaling.slope);
    const interceptDs = ds(volume.scaling.intercept);
    return {
      mode: 'raw',
      signed: rawSigned,
      slopeDs,
      interceptDs,
      ...stats.window(),
      encode: (raw) => pack(raw, rawSigned, (v) => v),
    };
  }

  // Wider integers and floats: a first pass over every slice (streamed) for min/max and integrality.
  const totalVoxels = perSlice * nz * volume.volumes;
  const stats = new Stats(Math.max(1, Math.floor(totalVoxels / SAMPLE_TARGET)));
  for (let t = 0; t < volume.volumes; t += 1) for (let k = 0; k < nz; k += 1) stats.add(await volume.readSlice(k, t));
  const { min, max, allIntegers } = stats;
  const windowing = stats.window();

  if (!stats.anyFinite) {
    return { mode: 'real', signed: true, slopeDs: '1', interceptDs: '0', ...windowing, encode: (v) => pack(v, true, () => 0) };
  }
  if (allIntegers && min >= -32768 && max <= 32767) {
    return { mode: 'real', signed: true, slopeDs: '1', interceptDs: '0', ...windowing, encode: (v) => pack(v, true, (x) => (Number.isNaN(x) ? min : clamp(x, -32768, 32767))) };
  }
  if (allIntegers && min >= 0 && max <= 65535) {
    return { mode: 'real', signed: false, slopeDs: '1', interceptDs: '0', ...windowing, encode: (v) => pack(v, false, (x) => (Number.isNaN(x) ? min : clamp(x, 0, 65535))) };
  }

  // Linear map of [min, max] onto int16: real = stored * slope + intercept, error <= slope / 2. The
  // DS strings are what a reader sees, so stored values are computed from the parsed strings.
  let slope = max > min ? (max - min) / 65534 : 1;
  for (let attempt = 0; ; attempt += 1) {
    const slopeDs = ds(slope);
    const interceptDs = ds((min + max) / 2);
    const s = Number(slopeDs);
    const i = Number(interceptDs);
    const fits = (min - i) / s >= -32768.5 && (max - i) / s <= 32767.5;
    if (fits || attempt > 20) {
      const lowest = clamp(Math.round((min - i) / s), -32768, 32767);
      const highest = clamp(Math.round((max - i) / s), -32768, 32767);
      return {
        mode: 'real',
        signed: true,
        slopeDs,
        interceptDs,
        ...windowing,
        // Not-a-number voxels become the minimum, infinities the extremes.
        encode: (v) => pack(v, true, (x) => (Number.isNaN(x) ? lowest : x === Infinity ? highest : x === -Infinity ? lowest : clamp(Math.round((x - i) / s), -32768, 32767))),
      };
    }
    slope *= 1 + 1e-6 * 2 ** attempt;
  }
}

function pack(values: Float64Array, signed: boolean, toStored: (x: number) => number): ArrayBuffer {
  const out = new ArrayBuffer(values.length * 2);
  const view = new DataView(out);
  if (signed) for (let n = 0; n < values.length; n += 1) view.setInt16(n * 2, toStored(values[n]!), true);
  else for (let n = 0; n < values.length; n += 1) view.setUint16(n * 2, toStored(values[n]!), true);
  return out;
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

function sampleSliceIndices(count: number, want: number): number[] {
  if (count <= want) return Array.from({ length: count }, (_, n) => n);
  return Array.from({ length: want }, (_, n) => Math.round((n * (count - 1)) / (want - 1)));
}

/** Min/max/integrality over finite values plus a strided sample for percentiles. */
class Stats {
  min = Infinity;
  max = -Infinity;
  allIntegers = true;
  anyFinite = false;
  private sample: number[] = [];
  private counter = 0;
  constructor(private readonly stride: number) {}

  add(values: Float64Array): void {
    for (let n = 0; n < values.length; n += 1) {
      const v = values[n]!;
      if (!Number.isFinite(v)) {
        this.allIntegers = false;
        continue;
      }
      this.anyFinite = true;
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
      if (this.allIntegers && !Number.isInteger(v)) this.allIntegers = false;
      if (this.counter++ % this.stride === 0) this.sample.push(v);
    }
  }

  /** WindowCenter/Width in real values: 1st-99th percentile of the sample, min/max if that is flat. */
  window(): { windowCenter: string; windowWidth: string } {
    const sorted = Float64Array.from(this.sample).sort();
    if (sorted.length === 0) return { windowCenter: '0', windowWidth: '1' };
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(p * (sorted.length - 1))))]!;
    let lo = at(0.01);
    let hi = at(0.99);
    if (!(hi > lo)) {
      lo = sorted[0]!;
      hi = sorted[sorted.length - 1]!;
    }
    const width = Math.max(1, hi - lo);
    return { windowCenter: ds((lo + hi) / 2), windowWidth: ds(width) };
  }
}

// ---------------------------------------------------------------------------------------------
// Strings

const dsVr = dcmjs.data.ValueRepresentation.createByTypeString('DS');
/** A number as a DICOM DS string of at most 16 characters (dcmjs's own formatter). */
function ds(x: number): string {
  return dsVr.convertToString(Object.is(x, -0) ? 0 : x);
}

/**
 * Caller text made safe for a DICOM string: no control characters, no backslash (the value
 * separator), for PN no "=" (component-group separator), trimmed to `max` characters.
 */
function cleanText(s: string, max: number, personName = false): string {
  const stripped = s.replace(personName ? /[\u0000-\u001f\u007f-\u009f\\=]/g : /[\u0000-\u001f\u007f-\u009f\\]/g, ' ').replace(/ +/g, ' ').trim();
  return Array.from(stripped).slice(0, max).join('').trim();
}

function birthDate(s: string | undefined): string {
  if (!s) return '';
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(s.trim());
  return m ? `${m[1]}${m[2]}${m[3]}` : '';
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}
function dicomDate(d: Date): string {
  return `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}`;
}
function dicomTime(d: Date): string {
  return `${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
}
