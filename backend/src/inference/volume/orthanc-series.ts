// Reads a registered series from Orthanc as slice geometry and decoded, rescaled pixels:
// what the volume builder needs (segmentation input, NIfTI export).
import { eq } from 'drizzle-orm';
import { series } from '../../db/schema.js';
import type { AppDeps } from '../../lib/context.js';
import { readNpy } from '../npy.js';
import { assembleVolume, type SliceMeta, type VolumeGrid } from './volume.js';

/** A series that cannot be read as a volume; the message says why. */
export class SeriesReadError extends Error {}

export type Tags = Record<string, string | undefined>;

const numbers = (value: string | undefined, count: number, what: string): number[] => {
  const parts = (value ?? '').split('\\').map(Number);
  if (parts.length !== count || parts.some((n) => !Number.isFinite(n))) throw new SeriesReadError(`an instance lacks a usable ${what}; this series cannot be made into a volume`);
  return parts;
};

export async function seriesSlices(deps: AppDeps, seriesUid: string): Promise<{ metas: SliceMeta[]; byUid: Map<string, string>; first: Tags }> {
  const row = deps.db.select({ orthancId: series.orthancId }).from(series).where(eq(series.seriesInstanceUid, seriesUid)).get();
  if (!row) throw new SeriesReadError(`series ${seriesUid} is not in the registry any more`);
  const instances = (await deps.orthanc.json<{ Instances: string[] }>('GET', `/series/${row.orthancId}`)).Instances;
  const metas: SliceMeta[] = [];
  const byUid = new Map<string, string>();
  let first: Tags = {};
  for (const id of instances) {
    const tags = await deps.orthanc.json<Tags>('GET', `/instances/${id}/simplified-tags`);
    if (!metas.length) first = tags;
    if (Number(tags.NumberOfFrames ?? '1') > 1) throw new SeriesReadError('multi-frame images (enhanced CT/MR) are not supported as model input yet; use a series with one image per slice');
    const [r1, r2, r3, c1, c2, c3] = numbers(tags.ImageOrientationPatient, 6, 'ImageOrientationPatient');
    const [x, y, z] = numbers(tags.ImagePositionPatient, 3, 'ImagePositionPatient');
    const [rowSpacing, columnSpacing] = numbers(tags.PixelSpacing, 2, 'PixelSpacing');
    metas.push({
      sopInstanceUid: tags.SOPInstanceUID ?? id,
      sopClassUid: tags.SOPClassUID ?? '',
      imagePositionPatient: [x!, y!, z!],
      imageOrientationPatient: [r1!, r2!, r3!, c1!, c2!, c3!],
      pixelSpacing: [rowSpacing!, columnSpacing!],
      rows: Number(tags.Rows),
      columns: Number(tags.Columns),
      sliceThickness: tags.SliceThickness ? Number(tags.SliceThickness) : undefined,
    });
    byUid.set(tags.SOPInstanceUID ?? id, id);
  }
  return { metas, byUid, first };
}

export async function channelValues(deps: AppDeps, grid: VolumeGrid, byUid: Map<string, string>): Promise<Float32Array> {
  const values = new Map<string, Float32Array>();
  for (const slice of grid.order) {
    const response = await deps.orthanc.raw('GET', `/instances/${byUid.get(slice.sopInstanceUid)}/numpy?rescale=true`);
    const body = Buffer.from(await response.body.arrayBuffer());
    if (response.statusCode !== 200) throw new SeriesReadError(`Orthanc could not decode the pixels of instance ${slice.sopInstanceUid} (${response.statusCode}); its compression may not be supported`);
    values.set(slice.sopInstanceUid, readNpy(body).values);
  }
  return assembleVolume(grid, values);
}
