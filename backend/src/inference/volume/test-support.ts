/** Test helpers for the volume and SEG tests (not used by production code). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dcmjs, readPart10, type NaturalDataset } from '../seg/dcmjs.js';
import type { SliceMeta, Vec3, VolumeGrid } from './volume.js';

/** /work/shared/data (the repo root is /work/main). Read in place, never written. */
export const DATA_DIR = fileURLToPath(new URL('../../../../../shared/data/', import.meta.url));

// dcmjs reports every implicit-VR Pixel Data ("Invalid vr type ox - using OW") on its validation logger.
dcmjs.log.getLogger('validation.dcmjs').setLevel('silent');

export type RealInstance = { path: string; meta: SliceMeta; dataset: NaturalDataset };

const str = (v: unknown): string => {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.length ? str(v[0]) : '';
  if (typeof v === 'object') return String((v as { Alphabetic?: string }).Alphabetic ?? '');
  return String(v);
};
const nums = (v: unknown): number[] => (Array.isArray(v) ? v : [v]).map((x) => Number(x));

/** Reads every .dcm file of a folder under DATA_DIR with dcmjs: geometry tags → SliceMeta. */
export function readSeries(folder: string, keep: (file: string) => boolean = () => true): RealInstance[] {
  const dir = join(DATA_DIR, folder);
  return readdirSync(dir)
    .filter((f) => f.toLowerCase().endsWith('.dcm') && keep(f))
    .sort()
    .map((f) => readInstance(join(folder, f)));
}

/** One DICOM file under DATA_DIR, read with dcmjs. */
export function readInstance(relativePath: string): RealInstance {
  const path = join(DATA_DIR, relativePath);
  const { dataset } = readPart10(readFileSync(path));
  const meta: SliceMeta = {
    sopInstanceUid: str(dataset.SOPInstanceUID),
    sopClassUid: str(dataset.SOPClassUID),
    imagePositionPatient: nums(dataset.ImagePositionPatient) as Vec3,
    imageOrientationPatient: nums(dataset.ImageOrientationPatient) as SliceMeta['imageOrientationPatient'],
    pixelSpacing: nums(dataset.PixelSpacing) as [number, number],
    rows: Number(dataset.Rows),
    columns: Number(dataset.Columns),
    ...(dataset.SliceThickness !== undefined && dataset.SliceThickness !== '' ? { sliceThickness: Number(dataset.SliceThickness) } : {}),
    ...(dataset.NumberOfFrames !== undefined ? { numberOfFrames: Number(dataset.NumberOfFrames) } : {}),
  };
  return { path, meta, dataset };
}

/** The tags a SEG copies from its source, read from a real instance. */
export function sourceOf(instance: RealInstance) {
  const d = instance.dataset;
  return {
    studyInstanceUid: str(d.StudyInstanceUID),
    seriesInstanceUid: str(d.SeriesInstanceUID),
    frameOfReferenceUid: str(d.FrameOfReferenceUID),
    sopClassUid: str(d.SOPClassUID),
    patient: { PatientName: str(d.PatientName), PatientID: str(d.PatientID), PatientBirthDate: str(d.PatientBirthDate), PatientSex: str(d.PatientSex) },
    study: {
      StudyDate: str(d.StudyDate),
      StudyTime: str(d.StudyTime),
      StudyID: str(d.StudyID),
      AccessionNumber: str(d.AccessionNumber),
      ReferringPhysicianName: str(d.ReferringPhysicianName),
      StudyDescription: str(d.StudyDescription),
    },
  };
}

/** Synthetic slices of a grid: slice k at origin + k·step·normal, with the given IOP and spacing. */
export function syntheticSeries(opts: {
  columns: number;
  rows: number;
  slices: number;
  iop: SliceMeta['imageOrientationPatient'];
  origin: Vec3;
  pixelSpacing: [number, number];
  step: number;
  uidPrefix?: string;
}): SliceMeta[] {
  const r = opts.iop.slice(0, 3);
  const c = opts.iop.slice(3, 6);
  const n = [r[1]! * c[2]! - r[2]! * c[1]!, r[2]! * c[0]! - r[0]! * c[2]!, r[0]! * c[1]! - r[1]! * c[0]!];
  const prefix = opts.uidPrefix ?? '1.2.826.0.1.3680043.10.1234';
  return Array.from({ length: opts.slices }, (_, k) => ({
    sopInstanceUid: `${prefix}.${k + 1}`,
    sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
    imagePositionPatient: [0, 1, 2].map((a) => opts.origin[a]! + k * opts.step * n[a]!) as Vec3,
    imageOrientationPatient: opts.iop,
    pixelSpacing: opts.pixelSpacing,
    rows: opts.rows,
    columns: opts.columns,
    sliceThickness: opts.step,
  }));
}

/** A deterministic shuffle (tests must not depend on Math.random). */
export function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const out = [...items];
  let s = seed;
  for (let n = out.length - 1; n > 0; n -= 1) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const m = s % (n + 1);
    [out[n], out[m]] = [out[m]!, out[n]!];
  }
  return out;
}

/** A label map on the grid with spheres of labels centred at voxel positions. */
export function sphereLabels(grid: Pick<VolumeGrid, 'columns' | 'rows' | 'slices' | 'spacing'>, spheres: { label: number; centre: Vec3; radiusMm: number }[]): Uint8Array {
  const { columns, rows, slices, spacing } = grid;
  const out = new Uint8Array(columns * rows * slices);
  for (const { label, centre, radiusMm } of spheres) {
    const r2 = radiusMm * radiusMm;
    const lo = (a: number) => Math.max(0, Math.floor(centre[a]! - radiusMm / spacing[a]!));
    const hi = (a: number, n: number) => Math.min(n - 1, Math.ceil(centre[a]! + radiusMm / spacing[a]!));
    for (let k = lo(2); k <= hi(2, slices); k += 1)
      for (let j = lo(1); j <= hi(1, rows); j += 1)
        for (let i = lo(0); i <= hi(0, columns); i += 1) {
          const d2 = ((i - centre[0]) * spacing[0]) ** 2 + ((j - centre[1]) * spacing[1]) ** 2 + ((k - centre[2]) * spacing[2]) ** 2;
          if (d2 <= r2) out[i + columns * (j + rows * k)] = label;
        }
  }
  return out;
}

/** Rescaled pixel values (row-major) of an uncompressed 16-bit real instance. */
export function realValues(instance: RealInstance): Float32Array {
  const d = instance.dataset;
  const raw = (d.PixelData as ArrayBuffer[])[0]!;
  const stored = Number(d.PixelRepresentation) === 1 ? new Int16Array(raw) : new Uint16Array(raw);
  const slope = Number(d.RescaleSlope ?? 1);
  const intercept = Number(d.RescaleIntercept ?? 0);
  return Float32Array.from(stored.subarray(0, instance.meta.rows * instance.meta.columns), (v) => v * slope + intercept);
}
