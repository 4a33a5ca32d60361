// One inference job from source series to a SEG in Orthanc, stage by stage:
// fetching → building-volume → inferring → encoding-seg → storing → done.
// Runs in the queue's worker; every stage is written to the job row so the dashboard can show it.
import { createHash, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { writeAudit } from '../audit/audit.service.js';
import { inferenceJobs, segmentationResults, segments as segmentRows, type InferenceStage } from '../db/schema.js';
import type { AppDeps } from '../lib/context.js';
import { syncStudy } from '../studies/registry.service.js';
import { fetchModels, infer, InferenceError } from './client.js';
import { keySlices } from './key-slices.js';
import { checkLabelMapOnGrid, encodeSeg, readLabelMap, SegEmptyError, SegGridError, type SegmentSpec } from './seg/seg-writer.js';
import { channelValues, SeriesReadError, seriesSlices } from './volume/orthanc-series.js';
import { buildGrid, niftiFromVolume, sameGrid, VolumeError } from './volume/volume.js';

/** A failure no retry can fix (bad input, unknown model, a label map off the grid). */
export class JobRejection extends Error {}

/** A UID that is the same for the same job and purpose, so a retried job stores the same SEG again instead of a second one. */
export function jobUid(jobId: string, purpose: string): string {
  const digest = createHash('sha256').update(`${jobId}/${purpose}`).digest('hex').slice(0, 30);
  return `2.25.${BigInt(`0x${digest}`).toString()}`;
}

function setStage(deps: AppDeps, jobId: string, stage: InferenceStage, extra: Partial<typeof inferenceJobs.$inferInsert> = {}): void {
  deps.db.update(inferenceJobs).set({ stage, updatedAt: new Date(), ...extra }).where(eq(inferenceJobs.id, jobId)).run();
}

function cancelled(deps: AppDeps, jobId: string): boolean {
  return deps.db.select({ status: inferenceJobs.status }).from(inferenceJobs).where(eq(inferenceJobs.id, jobId)).get()?.status === 'cancelled';
}

class Cancelled extends Error {}

/**
 * Runs (or re-runs) a job to the end. Throws InferenceError when a retry may help; every
 * other failure is a JobRejection or an unexpected error. Returns quietly when cancelled.
 */
export async function runInferenceJob(deps: AppDeps, jobId: string): Promise<void> {
  const job = deps.db.select().from(inferenceJobs).where(eq(inferenceJobs.id, jobId)).get();
  // A failed job stays failed: its queue entry may still arrive late (an add that timed out).
  if (!job || job.status === 'cancelled' || job.status === 'completed' || job.status === 'failed') return;
  deps.db.update(inferenceJobs).set({ status: 'running', attempts: job.attempts + 1, updatedAt: new Date() }).where(eq(inferenceJobs.id, jobId)).run();
  const check = () => {
    if (cancelled(deps, jobId)) throw new Cancelled();
  };
  try {
    setStage(deps, jobId, 'fetching');
    const sources = [];
    try {
      for (const uid of job.seriesInstanceUids) sources.push(await seriesSlices(deps, uid));
    } catch (error) {
      if (error instanceof SeriesReadError) throw new JobRejection(error.message);
      throw error;
    }
    check();

    setStage(deps, jobId, 'building-volume');
    const grids = sources.map((s, i) => {
      try {
        return buildGrid(s.metas);
      } catch (error) {
        if (error instanceof VolumeError) throw new JobRejection(`series ${job.seriesInstanceUids[i]}: ${error.message}`);
        throw error;
      }
    });
    const grid = grids[0]!;
    grids.slice(1).forEach((other, i) => {
      const problem = sameGrid(grid, other);
      if (problem) throw new JobRejection(`the series are not on one grid, so they cannot be channels of one model input: series ${job.seriesInstanceUids[i + 1]} ${problem}`);
    });
    const channels: Float32Array[] = [];
    try {
      for (let i = 0; i < sources.length; i++) channels.push(await channelValues(deps, grids[i]!, sources[i]!.byUid));
    } catch (error) {
      if (error instanceof SeriesReadError) throw new JobRejection(error.message);
      throw error;
    }
    const volume = niftiFromVolume(grid, channels);
    channels.length = 0;
    check();

    setStage(deps, jobId, 'inferring');
    const models = await fetchModels(deps.config.inference);
    const model = models.models.find((m) => m.name === job.model);
    if (!model) throw new JobRejection(`the inference service no longer offers the model "${job.model}"`);
    const abort = new AbortController();
    const watch = setInterval(() => cancelled(deps, jobId) && abort.abort(), 1000);
    let labelFile: Buffer;
    try {
      labelFile = await infer(deps.config.inference, { model: job.model, volume, params: job.params, signal: abort.signal });
    } catch (error) {
      if (abort.signal.aborted) throw new Cancelled();
      throw error;
    } finally {
      clearInterval(watch);
    }
    check();

    setStage(deps, jobId, 'encoding-seg');
    let labelMap;
    try {
      labelMap = readLabelMap(labelFile);
      checkLabelMapOnGrid(labelMap, grid);
    } catch (error) {
      if (error instanceof SegGridError) throw new JobRejection(`the model's label map does not lie on the source grid (${error.message}); it is not resampled`);
      throw new JobRejection(`the model's answer is not a readable label map (${(error as Error).message})`);
    }
    const first = sources[0]!.first;
    const specs: SegmentSpec[] = Object.entries(model.labels)
      .filter(([, value]) => value > 0)
      .sort((a, b) => a[1] - b[1])
      .map(([label, labelValue]) => ({ labelValue, label }));
    let encoded;
    try {
      encoded = encodeSeg({
        source: {
          studyInstanceUid: job.studyInstanceUid,
          seriesInstanceUid: job.seriesInstanceUids[0]!,
          frameOfReferenceUid: first.FrameOfReferenceUID ?? '',
          sopClassUid: first.SOPClassUID ?? '',
          patient: { PatientName: first.PatientName ?? '', PatientID: first.PatientID ?? '', PatientBirthDate: first.PatientBirthDate, PatientSex: first.PatientSex },
          study: { StudyDate: first.StudyDate, StudyTime: first.StudyTime, StudyID: first.StudyID, AccessionNumber: first.AccessionNumber, ReferringPhysicianName: first.ReferringPhysicianName, StudyDescription: first.StudyDescription },
        },
        grid,
        labelMap,
        segments: specs,
        algorithm: { name: job.model, version: model.version },
        seriesDescription: `${job.model} segmentation`,
        uids: { seriesInstanceUid: jobUid(jobId, 'series'), sopInstanceUid: jobUid(jobId, 'instance') },
      });
    } catch (error) {
      if (error instanceof SegEmptyError) throw new JobRejection(`the model found none of its labels (${specs.map((s) => s.label).join(', ')}) in this series, so there is no segmentation to store`);
      throw error;
    }
    const keys = keySlices(labelMap.data, labelMap.dims, encoded.segments);
    check();

    setStage(deps, jobId, 'storing');
    const stored = await deps.orthanc.storeInstance(encoded.part10, { 'content-type': 'application/dicom' });
    const answer = stored.text;
    if (stored.statusCode >= 400) throw new InferenceError(`Orthanc refused the SEG (${stored.statusCode}: ${answer.slice(0, 200)})`, stored.statusCode >= 500);
    await syncStudy(deps, (JSON.parse(answer) as { ParentStudy: string }).ParentStudy);

    const voxelVolumeMm3 = grid.spacing[0] * grid.spacing[1] * grid.spacing[2];
    deps.db.transaction((tx) => {
      if (tx.select({ id: segmentationResults.id }).from(segmentationResults).where(eq(segmentationResults.jobId, jobId)).get()) return;
      const resultId = randomUUID();
      tx.insert(segmentationResults)
        .values({ id: resultId, jobId, studyInstanceUid: job.studyInstanceUid, sourceSeriesUid: job.seriesInstanceUids[0]!, segSeriesUid: encoded.seriesInstanceUid, segSopInstanceUid: encoded.sopInstanceUid, model: job.model, modelVersion: model.version, voxelVolumeMm3 })
        .run();
      if (encoded.segments.length) {
        tx.insert(segmentRows)
          .values(
            encoded.segments.map((s) => {
              const key = keys.find((k) => k.labelValue === s.labelValue)!;
              return { resultId, number: s.number, labelValue: s.labelValue, label: s.label, color: s.color, voxelCount: s.voxelCount, volumeCm3: s.volumeCm3, keySliceIndex: key.sliceIndex, keySliceSopInstanceUid: grid.order[key.sliceIndex]!.sopInstanceUid, keySliceMaskPng: key.maskPng };
            }),
          )
          .run();
      }
      tx.update(inferenceJobs).set({ status: 'completed', stage: 'done', error: null, finishedAt: new Date(), updatedAt: new Date() }).where(eq(inferenceJobs.id, jobId)).run();
      writeAudit(tx, { userId: job.createdBy, role: null, email: null, ip: null, requestId: null }, {
        action: 'inference.complete',
        outcome: 'success',
        targetType: 'study',
        targetId: job.studyInstanceUid,
        details: { jobId, resultId, model: job.model, segments: encoded.segments.map((s) => ({ label: s.label, volumeCm3: s.volumeCm3 })) },
      });
    });
  } catch (error) {
    if (error instanceof Cancelled) return;
    throw error;
  }
}

/** Ends a job as failed with a reason a person can act on (after the last retry, or at once for rejections). */
export function failJob(deps: AppDeps, jobId: string, reason: string): void {
  deps.db.transaction((tx) => {
    const job = tx.select().from(inferenceJobs).where(eq(inferenceJobs.id, jobId)).get();
    if (!job || job.status === 'cancelled' || job.status === 'completed') return;
    tx.update(inferenceJobs).set({ status: 'failed', error: reason, requestKey: null, finishedAt: new Date(), updatedAt: new Date() }).where(eq(inferenceJobs.id, jobId)).run();
    writeAudit(tx, { userId: job.createdBy, role: null, email: null, ip: null, requestId: null }, { action: 'inference.fail', outcome: 'failure', targetType: 'study', targetId: job.studyInstanceUid, details: { jobId, reason } });
  });
}

/** Notes a failed attempt that will be retried. */
export function noteRetry(deps: AppDeps, jobId: string, reason: string, nextInMs: number): void {
  deps.db
    .update(inferenceJobs)
    .set({ status: 'queued', stage: 'queued', error: `${reason}; trying again in ${Math.round(nextInMs / 1000)} s`, updatedAt: new Date() })
    .where(eq(inferenceJobs.id, jobId))
    .run();
}

