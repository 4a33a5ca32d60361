// The reference service's models: deterministic classical algorithms (thresholds, connected
// components, hole filling), documented step by step in README.md. Same input → same bytes.
import { fillHolesSliceBySlice, keepComponentsAtLeast, keepLargestComponent, markReachableFromSliceBorder, otsuForeground, type Grid } from './algorithms.js';
import type { NiftiVolume } from './nifti.js';

/** What the algorithm found (thresholds, component sizes), returned with output=json. */
export type ModelDetails = Record<string, unknown>;

export type ModelDefinition = {
  name: string;
  description: string;
  modality: 'CT' | 'MR';
  labels: Record<string, number>;
  /** Writes one label value per voxel (0 = background) into `labels` (zero-filled, on the input grid). */
  run: (volume: NiftiVolume, labels: Uint8Array) => ModelDetails;
};

export const CT_BODY_MIN_HU = -500;
export const CT_LUNG_MAX_HU = -400;
export const CT_BONE_MIN_HU = 250;
export const CT_LUNG_MIN_CM3 = 5;

/** Volume of one voxel in mm³ (1 mm³ when the header has no usable pixdim). */
export function voxelVolumeMm3(volume: Pick<NiftiVolume, 'voxelSizeMm'>): number {
  const v = volume.voxelSizeMm[0] * volume.voxelSizeMm[1] * volume.voxelSizeMm[2];
  return Number.isFinite(v) && v > 0 ? v : 1;
}

function ctBodyLungsBone(volume: NiftiVolume, labels: Uint8Array): ModelDetails {
  const { data, slope, inter } = volume;
  const grid: Grid = volume;
  const count = data.length;
  labels.fill(0);

  // 1. Body: > −500 HU, largest 6-connected 3-D component, holes filled slice by slice.
  for (let i = 0; i < count; i++) if (data[i]! * slope + inter > CT_BODY_MIN_HU) labels[i] = 1;
  const bodyComponentVoxels = keepLargestComponent(labels, grid);
  const bodyHoleVoxels = fillHolesSliceBySlice(labels, grid);

  // 2. Lungs: < −400 HU inside the filled body, not connected (within its slice) to the air
  //    outside the body, in 3-D components of at least 5 cm³.
  const mask = new Uint8Array(count);
  for (let i = 0; i < count; i++) if (labels[i] === 0 || data[i]! * slope + inter < CT_LUNG_MAX_HU) mask[i] = 1;
  markReachableFromSliceBorder(mask, grid, 1, 2);
  for (let i = 0; i < count; i++) mask[i] = mask[i] === 1 && labels[i] === 1 ? 1 : 0;
  const minLungVoxels = Math.max(1, Math.ceil((CT_LUNG_MIN_CM3 * 1000) / voxelVolumeMm3(volume)));
  const lungComponents = keepComponentsAtLeast(mask, grid, minLungVoxels);
  for (let i = 0; i < count; i++) if (mask[i] === 1) labels[i] = 2;

  // 3. Bone: ≥ 250 HU inside the filled body (bone > lungs > body; lungs and bone cannot overlap).
  for (let i = 0; i < count; i++) if (labels[i] !== 0 && data[i]! * slope + inter >= CT_BONE_MIN_HU) labels[i] = 3;

  return {
    thresholds_hu: { body_above: CT_BODY_MIN_HU, lungs_below: CT_LUNG_MAX_HU, bone_at_least: CT_BONE_MIN_HU },
    body_component_voxels: bodyComponentVoxels,
    body_hole_voxels_filled: bodyHoleVoxels,
    lung_min_voxels: minLungVoxels,
    lung_components_voxels: lungComponents,
  };
}

function mrForeground(volume: NiftiVolume, labels: Uint8Array): ModelDetails {
  const grid: Grid = volume;
  // Otsu on a 256-bin histogram over [min, max], largest 6-connected component, holes filled slice by slice.
  const otsu = otsuForeground(volume.data, volume.slope, volume.inter, labels);
  const componentVoxels = keepLargestComponent(labels, grid);
  const holeVoxels = fillHolesSliceBySlice(labels, grid);
  return {
    otsu: otsu ? { min: otsu.min, max: otsu.max, bin: otsu.bin, threshold: otsu.threshold } : null,
    component_voxels: componentVoxels,
    hole_voxels_filled: holeVoxels,
  };
}

export const models: Record<string, ModelDefinition> = {
  ct_body_lungs_bone: {
    name: 'ct_body_lungs_bone',
    description: `CT (Hounsfield units): body > ${CT_BODY_MIN_HU} HU (largest 3-D component, holes filled per slice), lungs < ${CT_LUNG_MAX_HU} HU enclosed by the body (components ≥ ${CT_LUNG_MIN_CM3} cm³), bone ≥ ${CT_BONE_MIN_HU} HU inside the body. Classical thresholds, not a trained network.`,
    modality: 'CT',
    labels: { body: 1, lungs: 2, bone: 3 },
    run: ctBodyLungsBone,
  },
  mr_foreground: {
    name: 'mr_foreground',
    description: "MR: foreground by Otsu's threshold (256-bin histogram), largest 3-D component, holes filled per slice. Classical, not a trained network.",
    modality: 'MR',
    labels: { foreground: 1 },
    run: mrForeground,
  },
};

/** Per label: voxel count and volume in cm³. */
export function labelStatistics(model: ModelDefinition, labels: Uint8Array, volume: Pick<NiftiVolume, 'voxelSizeMm'>): Record<string, { voxels: number; cm3: number }> {
  const counts = new Float64Array(256);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++;
  const cm3PerVoxel = voxelVolumeMm3(volume) / 1000;
  return Object.fromEntries(Object.entries(model.labels).map(([name, value]) => [name, { voxels: counts[value]!, cm3: Math.round(counts[value]! * cm3PerVoxel * 1000) / 1000 }]));
}
