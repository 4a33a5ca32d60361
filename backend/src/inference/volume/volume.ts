/**
 * DICOM series → voxel grid → volume, for model input.
 *
 * Pure functions: the caller fetches the instances' tags and decoded pixels (from Orthanc) and passes
 * them in. What is decided here is the geometry: which order the slices go in (by position along the
 * slice normal, never by InstanceNumber), whether the series is a volume at all (one orientation, one
 * matrix, evenly spaced slices stacked along the normal), and the voxel → patient (LPS) affine that the
 * NIfTI volume, the label map check and the SEG writer all share.
 *
 * Conventions used throughout (the same as NIfTI and ITK for DICOM series):
 *   i = column index (along the row direction, IOP[0..2]),
 *   j = row index (along the column direction, IOP[3..5]),
 *   k = slice index in grid order (along normal = rowDirection × columnDirection, ascending).
 *   Voxel (i, j, k) is at origin + i·Δx·rowDirection + j·Δy·columnDirection + k·Δz·normal (LPS mm).
 */

/** A series that cannot be made into a volume. The message is shown to users verbatim. */
export class VolumeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VolumeError';
  }
}

export type Vec3 = [number, number, number];

export type SliceMeta = {
  sopInstanceUid: string;
  sopClassUid: string;
  imagePositionPatient: Vec3;
  imageOrientationPatient: [number, number, number, number, number, number];
  /** DICOM order: row spacing (between rows, along the column direction), then column spacing. */
  pixelSpacing: [number, number];
  rows: number;
  columns: number;
  sliceThickness?: number;
  /** NumberOfFrames when the instance has it; anything above 1 is refused. */
  numberOfFrames?: number;
};

export type VolumeGrid = {
  columns: number;
  rows: number;
  slices: number;
  /** x = column step (along rowDirection), y = row step (along columnDirection), z = slice step (along normal), mm. */
  spacing: Vec3;
  rowDirection: Vec3;
  columnDirection: Vec3;
  normal: Vec3;
  /** LPS position of the first slice's first pixel (centre of voxel 0,0,0). */
  origin: Vec3;
  /** 4×4, voxel (i = column, j = row, k = slice, 1) → LPS mm. */
  affineLps: number[][];
  /** The slices in grid order (k = 0 first): ascending position along the normal. */
  order: SliceMeta[];
};

export type BuildGridOptions = {
  /**
   * Relative tolerance (fraction of the slice step, default 0.01 = 1 %) for: each step between
   * neighbouring slices vs the median step, and the in-plane drift of a slice from the line through
   * the first slice along the normal (gantry tilt). Absolute floors of 1 µm keep exact data exact.
   */
  tolerance?: number;
  /**
   * Accept a single slice, with SliceThickness as the slice step. Off by default: a one-slice "volume"
   * is almost always the wrong series (a localizer, a key image) for a 3-D model, and without a second
   * slice nothing confirms the slice spacing.
   */
  allowSingleSlice?: boolean;
};

/** Direction cosines that differ by more than this are different orientations. */
const ORIENTATION_TOLERANCE = 1e-3;
/** Relative tolerance for pixel spacing equality between slices. */
const PIXEL_SPACING_TOLERANCE = 1e-4;
/** Two slices closer than this (mm) along the normal are at the same position. */
const SAME_POSITION_MM = 1e-3;

/**
 * SOP classes whose instances hold many frames (enhanced / legacy converted multi-frame images and
 * objects that are not image slices at all). One SliceMeta is one slice, so these are refused.
 */
const MULTI_FRAME_CLASSES = new Map<string, string>([
  ['1.2.840.10008.5.1.4.1.1.2.1', 'Enhanced CT'],
  ['1.2.840.10008.5.1.4.1.1.2.2', 'Legacy Converted Enhanced CT'],
  ['1.2.840.10008.5.1.4.1.1.4.1', 'Enhanced MR'],
  ['1.2.840.10008.5.1.4.1.1.4.3', 'Enhanced MR Color'],
  ['1.2.840.10008.5.1.4.1.1.4.4', 'Legacy Converted Enhanced MR'],
  ['1.2.840.10008.5.1.4.1.1.128.1', 'Legacy Converted Enhanced PET'],
  ['1.2.840.10008.5.1.4.1.1.130', 'Enhanced PET'],
  ['1.2.840.10008.5.1.4.1.1.6.2', 'Enhanced US Volume'],
  ['1.2.840.10008.5.1.4.1.1.66.4', 'Segmentation'],
  ['1.2.840.10008.5.1.4.1.1.66.7', 'Label Map Segmentation'],
  ['1.2.840.10008.5.1.4.1.1.481.2', 'RT Dose'],
]);

// ---------------------------------------------------------------------------------------------
// Small vector helpers

export const dot = (a: readonly number[], b: readonly number[]): number => a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;
export const cross = (a: readonly number[], b: readonly number[]): Vec3 => [
  a[1]! * b[2]! - a[2]! * b[1]!,
  a[2]! * b[0]! - a[0]! * b[2]!,
  a[0]! * b[1]! - a[1]! * b[0]!,
];
export const norm = (a: readonly number[]): number => Math.hypot(a[0]!, a[1]!, a[2]!);
const sub = (a: readonly number[], b: readonly number[]): Vec3 => [a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!];
const scale = (a: readonly number[], s: number): Vec3 => [a[0]! * s, a[1]! * s, a[2]! * s];
const unit = (a: readonly number[]): Vec3 => scale(a, 1 / norm(a));
const maxAbsDiff = (a: readonly number[], b: readonly number[]): number => Math.max(...a.map((v, n) => Math.abs(v - b[n]!)));

const fmt = (x: number, digits = 3): string => {
  const s = x.toFixed(digits).replace(/\.?0+$/, '');
  return s === '-0' ? '0' : s;
};
const fmtVec = (v: readonly number[], digits = 3): string => `(${v.map((x) => fmt(x, digits)).join(', ')})`;

/** A short name for where a slice is, for messages: its position along the normal. */
const where = (s: SliceMeta): string => `at ${fmtVec(s.imagePositionPatient, 2)}`;

// ---------------------------------------------------------------------------------------------

/**
 * Sorts the slices by position along the slice normal and derives the voxel grid. Refuses, with a
 * message a user can act on: no slices (or one, unless allowed), multi-frame objects, mixed matrix size,
 * pixel spacing or orientation, two slices at one position, uneven slice steps (a missing slice) and
 * slices not stacked along the normal (gantry tilt).
 */
export function buildGrid(slices: readonly SliceMeta[], options: BuildGridOptions = {}): VolumeGrid {
  const tolerance = options.tolerance ?? 0.01;
  if (slices.length === 0) throw new VolumeError('the series has no images');

  for (const s of slices) {
    const kind = MULTI_FRAME_CLASSES.get(s.sopClassUid);
    if ((s.numberOfFrames ?? 1) > 1 || kind) {
      throw new VolumeError(
        `the series holds multi-frame objects (${kind ? `${kind} storage` : `${s.numberOfFrames} frames in one instance`}); only series with one image per slice (CT Image, MR Image, PET Image …) can be made into a volume`,
      );
    }
    validateSlice(s);
  }

  const first = slices[0]!;
  const rowDirection = unit(first.imageOrientationPatient.slice(0, 3));
  const columnDirection = unit(first.imageOrientationPatient.slice(3, 6));
  const normal = unit(cross(rowDirection, columnDirection));

  for (const s of slices) {
    if (s.rows !== first.rows || s.columns !== first.columns) {
      throw new VolumeError(`the images are not all the same size: ${first.columns}×${first.rows} ${where(first)} and ${s.columns}×${s.rows} ${where(s)}; the series is not one volume`);
    }
    const sp = s.pixelSpacing;
    const fp = first.pixelSpacing;
    if (Math.abs(sp[0] - fp[0]) > PIXEL_SPACING_TOLERANCE * fp[0] || Math.abs(sp[1] - fp[1]) > PIXEL_SPACING_TOLERANCE * fp[1]) {
      throw new VolumeError(`the images do not all have the same pixel spacing (${fmt(fp[0], 4)}×${fmt(fp[1], 4)} mm and ${fmt(sp[0], 4)}×${fmt(sp[1], 4)} mm); the series is not one volume`);
    }
    const r = unit(s.imageOrientationPatient.slice(0, 3));
    const c = unit(s.imageOrientationPatient.slice(3, 6));
    if (maxAbsDiff(r, rowDirection) > ORIENTATION_TOLERANCE || maxAbsDiff(c, columnDirection) > ORIENTATION_TOLERANCE) {
      throw new VolumeError(
        `the images do not all have the same orientation (ImageOrientationPatient ${fmtVec([...rowDirection, ...columnDirection], 4)} and ${fmtVec([...r, ...c], 4)}); the series mixes differently oriented stacks (e.g. localizers or several planes) and is not one volume`,
      );
    }
  }

  const positioned = slices.map((s) => ({ s, d: dot(s.imagePositionPatient, normal) })).sort((a, b) => a.d - b.d);
  const order = positioned.map((p) => p.s);
  const d = positioned.map((p) => p.d);
  const n = order.length;

  for (let k = 1; k < n; k += 1) {
    if (d[k]! - d[k - 1]! < SAME_POSITION_MM) {
      const same = positioned.filter((p) => Math.abs(p.d - d[k]!) < SAME_POSITION_MM).length;
      throw new VolumeError(
        `${same} images are at the same position ${fmtVec(order[k]!.imagePositionPatient, 2)}; the series holds repeated images of one place (several acquisitions, echoes or time points) and is not one volume. Split it into one series per acquisition`,
      );
    }
  }

  let step: number;
  if (n === 1) {
    if (!options.allowSingleSlice) throw new VolumeError('the series has a single image; a volume needs at least 2 slices');
    const thickness = first.sliceThickness;
    if (!(thickness !== undefined && Number.isFinite(thickness) && thickness > 0)) {
      throw new VolumeError('the series has a single image without a SliceThickness, so its voxel depth is unknown');
    }
    step = thickness;
  } else {
    const steps = d.slice(1).map((v, k) => v - d[k]!);
    const median = [...steps].sort((a, b) => a - b)[Math.floor((steps.length - 1) / 2)]!;
    for (let k = 0; k < steps.length; k += 1) {
      const s = steps[k]!;
      if (Math.abs(s - median) > Math.max(tolerance * median, SAME_POSITION_MM)) {
        const ratio = s / median;
        const missing = Math.round(ratio) - 1;
        const hint =
          missing >= 1 && Math.abs(ratio - Math.round(ratio)) < 0.1
            ? ` — ${missing === 1 ? 'a slice seems' : `${missing} slices seem`} to be missing`
            : '';
        throw new VolumeError(
          `the slices are not evenly spaced: ${fmt(s)} mm between the slices ${where(order[k]!)} and ${where(order[k + 1]!)}, ${fmt(median)} mm elsewhere${hint}. An incomplete or irregular series cannot be made into a volume`,
        );
      }
    }
    step = (d[n - 1]! - d[0]!) / (n - 1);

    // Every slice must lie on the line through the first slice along the normal. A gantry-tilted CT
    // (or a sheared reconstruction) steps its positions along another direction: its voxels are not
    // boxes, and a grid with orthogonal axes would misplace them.
    const origin0 = order[0]!.imagePositionPatient;
    for (let k = 1; k < n; k += 1) {
      const offset = sub(order[k]!.imagePositionPatient, origin0);
      const along = dot(offset, normal);
      const drift = norm(sub(offset, scale(normal, along)));
      if (drift > tolerance * Math.abs(along) + SAME_POSITION_MM) {
        const angle = (Math.atan2(drift, Math.abs(along)) * 180) / Math.PI;
        throw new VolumeError(
          `the slices are not stacked along their normal: the slice ${where(order[k]!)} is shifted ${fmt(drift, 2)} mm sideways from the first one (a ${fmt(angle, 1)}° tilt, e.g. gantry tilt). A tilted or sheared series cannot be made into a volume without resampling`,
        );
      }
    }
  }

  const spacing: Vec3 = [first.pixelSpacing[1], first.pixelSpacing[0], step];
  const origin: Vec3 = [...order[0]!.imagePositionPatient];
  return {
    columns: first.columns,
    rows: first.rows,
    slices: n,
    spacing,
    rowDirection,
    columnDirection,
    normal,
    origin,
    affineLps: affineOf(rowDirection, columnDirection, normal, spacing, origin),
    order,
  };
}

function validateSlice(s: SliceMeta): void {
  const what = `the image ${s.sopInstanceUid}`;
  if (!Number.isInteger(s.rows) || !Number.isInteger(s.columns) || s.rows < 1 || s.columns < 1) {
    throw new VolumeError(`${what} has no usable Rows/Columns (${s.rows}×${s.columns})`);
  }
  if (s.imagePositionPatient.length !== 3 || !s.imagePositionPatient.every(Number.isFinite)) {
    throw new VolumeError(`${what} has no usable ImagePositionPatient`);
  }
  const iop = s.imageOrientationPatient;
  if (iop.length !== 6 || !iop.every(Number.isFinite)) throw new VolumeError(`${what} has no usable ImageOrientationPatient`);
  const r = iop.slice(0, 3);
  const c = iop.slice(3, 6);
  if (Math.abs(norm(r) - 1) > 0.01 || Math.abs(norm(c) - 1) > 0.01 || Math.abs(dot(r, c)) > 0.01) {
    throw new VolumeError(`${what} has an invalid ImageOrientationPatient ${fmtVec(iop, 4)} (its two directions must be perpendicular unit vectors)`);
  }
  if (s.pixelSpacing.length !== 2 || !s.pixelSpacing.every((v) => Number.isFinite(v) && v > 0)) {
    throw new VolumeError(`${what} has no usable PixelSpacing`);
  }
}

function affineOf(rowDirection: Vec3, columnDirection: Vec3, normal: Vec3, spacing: Vec3, origin: Vec3): number[][] {
  return [0, 1, 2]
    .map((r) => [rowDirection[r]! * spacing[0], columnDirection[r]! * spacing[1], normal[r]! * spacing[2], origin[r]!])
    .concat([[0, 0, 0, 1]]);
}

/**
 * null when the two grids are the same within `tolerance` (mm for sizes and positions, and for
 * direction cosines); otherwise why not, worded to follow "series X …" (for multi-channel input).
 */
export function sameGrid(a: VolumeGrid, b: VolumeGrid, tolerance = 1e-3): string | null {
  if (a.columns !== b.columns || a.rows !== b.rows || a.slices !== b.slices) {
    return `has ${b.columns}×${b.rows}×${b.slices} voxels where the first series has ${a.columns}×${a.rows}×${a.slices}`;
  }
  const sd = maxAbsDiff(a.spacing, b.spacing);
  if (sd > tolerance) {
    return `has voxels of ${b.spacing.map((v) => fmt(v, 4)).join('×')} mm where the first series has ${a.spacing.map((v) => fmt(v, 4)).join('×')} mm`;
  }
  const axes: [string, Vec3, Vec3][] = [
    ['row direction', a.rowDirection, b.rowDirection],
    ['column direction', a.columnDirection, b.columnDirection],
    ['slice direction', a.normal, b.normal],
  ];
  for (const [name, u, v] of axes) {
    if (maxAbsDiff(u, v) > tolerance) {
      const angle = (Math.acos(Math.max(-1, Math.min(1, dot(u, v)))) * 180) / Math.PI;
      return `is oriented differently: its ${name} is ${fmtVec(v, 4)} where the first series has ${fmtVec(u, 4)} (${fmt(angle, 2)}° apart)`;
    }
  }
  const shift = norm(sub(a.origin, b.origin));
  if (shift > tolerance) {
    return `starts at ${fmtVec(b.origin)} where the first series starts at ${fmtVec(a.origin)} (${fmt(shift)} mm apart)`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Voxels

/** Linear index of voxel (i = column, j = row, k = slice) in a grid-ordered volume (i fastest). */
export function voxelIndex(grid: Pick<VolumeGrid, 'columns' | 'rows'>, i: number, j: number, k: number): number {
  return i + grid.columns * (j + grid.rows * k);
}

/** LPS position (mm) of voxel (i, j, k); fractional indices allowed. */
export function voxelToLps(grid: Pick<VolumeGrid, 'affineLps'>, i: number, j: number, k: number): Vec3 {
  const a = grid.affineLps;
  return [0, 1, 2].map((r) => a[r]![0]! * i + a[r]![1]! * j + a[r]![2]! * k + a[r]![3]!) as Vec3;
}

/** Continuous voxel indices (i, j, k) of an LPS point (the grid axes are orthogonal, so this is a projection). */
export function lpsToVoxel(grid: VolumeGrid, p: readonly number[]): Vec3 {
  const v = sub(p, grid.origin);
  return [dot(v, grid.rowDirection) / grid.spacing[0], dot(v, grid.columnDirection) / grid.spacing[1], dot(v, grid.normal) / grid.spacing[2]];
}

/**
 * One Float32Array of columns × rows × slices (i fastest, then j, then k in grid order) from the
 * rescaled values of each slice (row-major, columns fastest), keyed by SOPInstanceUID.
 */
export function assembleVolume(grid: VolumeGrid, sliceValues: ReadonlyMap<string, Float32Array>): Float32Array {
  const perSlice = grid.columns * grid.rows;
  const out = new Float32Array(perSlice * grid.slices);
  grid.order.forEach((slice, k) => {
    const values = sliceValues.get(slice.sopInstanceUid);
    if (!values) throw new VolumeError(`the pixels of the image ${slice.sopInstanceUid} ${where(slice)} are missing`);
    if (values.length !== perSlice) {
      throw new VolumeError(`the image ${slice.sopInstanceUid} ${where(slice)} decoded to ${values.length} values, not ${grid.columns}×${grid.rows} = ${perSlice}`);
    }
    out.set(values, k * perSlice);
  });
  return out;
}

export { niftiFromVolume, niftiFromLabels } from './nifti-write.js';
