import { createHash, randomUUID } from 'node:crypto';
import { z } from '@hono/zod-openapi';
import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import { assertCan, canReadStudy, accessibleStudies } from '../access/policy.js';
import { actorOf, writeAudit } from '../audit/audit.service.js';
import { requireUser } from '../auth/auth.service.js';
import { inferenceJobs, segmentationResults, segments, series, studies } from '../db/schema.js';
import type { RequestCtx } from '../lib/context.js';
import { AppError, badRequest, notFound } from '../lib/errors.js';
import { syncStudy } from '../studies/registry.service.js';
import { fetchModels, InferenceError } from './client.js';
import type { InferenceQueue } from './queue.js';

const PARAMS_MAX_DEPTH = 8;
const PARAMS_MAX_BYTES = 16 * 1024;

/** Walked with a stack, not recursion: a hostile nesting must not overflow ours either. */
function paramsWithinBounds(params: Record<string, unknown>): boolean {
  const stack: { value: unknown; depth: number }[] = [{ value: params, depth: 1 }];
  while (stack.length) {
    const { value, depth } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > PARAMS_MAX_DEPTH) return false;
    for (const child of Object.values(value)) stack.push({ value: child, depth: depth + 1 });
  }
  return Buffer.byteLength(JSON.stringify(params)) <= PARAMS_MAX_BYTES;
}

const seriesUid = z.string().regex(/^[0-9]+(\.[0-9]+)*$/, 'a DICOM UID').max(64);
export const submitJobInputSchema = z
  .object({
    seriesInstanceUids: z.array(seriesUid).min(1).max(8),
    model: z.string().trim().min(1).max(100).regex(/^[\w.-]+$/, 'a model name from GET /api/inference/models'),
    params: z
      .record(z.string(), z.unknown())
      .refine(paramsWithinBounds, `params must be a JSON object nested at most ${PARAMS_MAX_DEPTH} levels deep and at most ${PARAMS_MAX_BYTES / 1024} KiB long`)
      .default({}),
  })
  .openapi('SubmitInferenceJob');
export const validationInputSchema = z
  .object({ decision: z.enum(['approved', 'rejected']), comment: z.string().trim().max(2000).optional() })
  .openapi('ValidateSegmentation');

type JobRow = typeof inferenceJobs.$inferSelect;

function jobView(job: JobRow, resultId: string | null) {
  return {
    id: job.id,
    studyInstanceUid: job.studyInstanceUid,
    seriesInstanceUids: job.seriesInstanceUids,
    model: job.model,
    params: job.params,
    status: job.status,
    stage: job.stage,
    attempts: job.attempts,
    error: job.error,
    createdBy: job.createdBy,
    createdAt: job.createdAt.toISOString(),
    updatedAt: job.updatedAt.toISOString(),
    finishedAt: job.finishedAt?.toISOString() ?? null,
    resultId,
  };
}
export type InferenceJobView = ReturnType<typeof jobView>;

function resultIdOf(ctx: RequestCtx, jobId: string): string | null {
  return ctx.db.select({ id: segmentationResults.id }).from(segmentationResults).where(eq(segmentationResults.jobId, jobId)).get()?.id ?? null;
}

/** A job or result of a study the caller cannot read does not exist for them. */
function readableJob(ctx: RequestCtx, id: string): JobRow {
  requireUser(ctx);
  const job = ctx.db.select().from(inferenceJobs).where(eq(inferenceJobs.id, id)).get();
  if (!job || !canReadStudy(ctx.db, ctx, job.studyInstanceUid)) throw notFound('No such job.');
  return job;
}

function modelsUnavailable(error: unknown): never {
  if (error instanceof InferenceError) throw new AppError(503, 'inference_unavailable', `The model list cannot be read: ${error.message}.`);
  throw error;
}

export async function listModels({ ctx }: { ctx: RequestCtx }) {
  requireUser(ctx);
  assertCan(ctx, 'study.read');
  return fetchModels(ctx.config.inference).catch(modelsUnavailable);
}

/** The same model, series and parameters give the same key: a repeated submit finds the first job. */
function requestKey(input: z.infer<typeof submitJobInputSchema>): string {
  const params = JSON.stringify(Object.fromEntries(Object.entries(input.params).sort(([a], [b]) => a.localeCompare(b))));
  return createHash('sha256').update(`${input.model}\n${input.seriesInstanceUids.join(',')}\n${params}`).digest('hex');
}

export async function submitJob({ ctx, input, queue }: { ctx: RequestCtx; input: z.infer<typeof submitJobInputSchema>; queue: InferenceQueue }): Promise<{ job: InferenceJobView; created: boolean }> {
  const user = requireUser(ctx);
  assertCan(ctx, 'inference.run', 'Your role may not run segmentation models.');
  const uids = [...new Set(input.seriesInstanceUids)];
  const rows = ctx.db.select({ uid: series.seriesInstanceUid, study: series.studyInstanceUid, modality: series.modality }).from(series).where(inArray(series.seriesInstanceUid, uids)).all();
  const visible = rows.filter((r) => canReadStudy(ctx.db, ctx, r.study));
  if (visible.length !== uids.length) throw notFound('No such series (or not visible to you).');
  const studyUids = new Set(visible.map((r) => r.study));
  if (studyUids.size > 1) throw badRequest('All series of one job must belong to the same study.');
  if (visible.some((r) => r.modality === 'SEG' || r.modality === 'SR')) throw badRequest('Choose image series as model input, not segmentations or reports.');
  const { models } = await fetchModels(ctx.config.inference).catch(modelsUnavailable);
  if (!models.some((m) => m.name === input.model)) throw badRequest(`Unknown model "${input.model}". Available: ${models.map((m) => m.name).join(', ') || 'none'}.`);

  if (!queue.connected()) throw new AppError(503, 'queue_unavailable', 'The job queue (Redis) is unreachable right now, so no job was created. Try again shortly.');
  const normalised = { ...input, seriesInstanceUids: uids };
  const key = requestKey(normalised);
  const studyInstanceUid = [...studyUids][0]!;
  const outcome = ctx.db.transaction((tx) => {
    const existing = tx.select().from(inferenceJobs).where(eq(inferenceJobs.requestKey, key)).get();
    if (existing) return { job: existing, created: false };
    const id = randomUUID();
    tx.insert(inferenceJobs)
      .values({ id, requestKey: key, studyInstanceUid, seriesInstanceUids: uids, model: input.model, params: input.params, status: 'queued', stage: 'queued', createdBy: user.id, updatedAt: new Date() })
      .run();
    writeAudit(tx, actorOf(ctx, user), { action: 'inference.submit', outcome: 'success', targetType: 'study', targetId: studyInstanceUid, details: { jobId: id, model: input.model, series: uids } });
    return { job: tx.select().from(inferenceJobs).where(eq(inferenceJobs.id, id)).get()!, created: true };
  });
  if (outcome.created) {
    try {
      await queue.add(outcome.job.id);
    } catch (error) {
      ctx.db.update(inferenceJobs).set({ status: 'failed', error: 'The job queue (Redis) is unreachable; try again.', requestKey: null, finishedAt: new Date(), updatedAt: new Date() }).where(eq(inferenceJobs.id, outcome.job.id)).run();
      throw new AppError(503, 'queue_unavailable', `The job could not be queued: ${(error as Error).message}. Try again shortly.`);
    }
  }
  return { job: jobView(outcome.job, resultIdOf(ctx, outcome.job.id)), created: outcome.created };
}

export function getJob({ ctx, input }: { ctx: RequestCtx; input: { id: string } }) {
  const job = readableJob(ctx, input.id);
  return jobView(job, resultIdOf(ctx, job.id));
}

export const jobListQuerySchema = z.object({ studyInstanceUid: seriesUid.optional(), limit: z.coerce.number().int().min(1).max(100).default(50) });

export function listJobs({ ctx, input }: { ctx: RequestCtx; input: z.infer<typeof jobListQuerySchema> }) {
  requireUser(ctx);
  assertCan(ctx, 'study.read');
  const access = accessibleStudies(ctx.db, ctx);
  if (!access.all && !access.uids.size) return { jobs: [] };
  const rows = ctx.db
    .select()
    .from(inferenceJobs)
    .where(and(input.studyInstanceUid ? eq(inferenceJobs.studyInstanceUid, input.studyInstanceUid) : undefined, access.all ? undefined : inArray(inferenceJobs.studyInstanceUid, [...access.uids])))
    .orderBy(desc(inferenceJobs.createdAt))
    .limit(input.limit)
    .all();
  const results = rows.length ? ctx.db.select({ id: segmentationResults.id, jobId: segmentationResults.jobId }).from(segmentationResults).where(inArray(segmentationResults.jobId, rows.map((r) => r.id))).all() : [];
  return { jobs: rows.map((row) => jobView(row, results.find((r) => r.jobId === row.id)?.id ?? null)) };
}

export async function cancelJob({ ctx, input, queue }: { ctx: RequestCtx; input: { id: string }; queue: InferenceQueue }) {
  const user = requireUser(ctx);
  assertCan(ctx, 'inference.run', 'Your role may not run or stop segmentation jobs.');
  const job = readableJob(ctx, input.id);
  if (job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled') throw new AppError(409, 'job_finished', `This job is already ${job.status}.`);
  ctx.db.transaction((tx) => {
    tx.update(inferenceJobs).set({ status: 'cancelled', requestKey: null, finishedAt: new Date(), updatedAt: new Date() }).where(eq(inferenceJobs.id, job.id)).run();
    writeAudit(tx, actorOf(ctx, user), { action: 'inference.cancel', outcome: 'success', targetType: 'study', targetId: job.studyInstanceUid, details: { jobId: job.id } });
  });
  await queue.remove(job.id).catch(() => undefined);
  return getJob({ ctx, input });
}

type ResultRow = typeof segmentationResults.$inferSelect;

function readableResult(ctx: RequestCtx, id: string): ResultRow {
  requireUser(ctx);
  const row = ctx.db.select().from(segmentationResults).where(eq(segmentationResults.id, id)).get();
  if (!row || !canReadStudy(ctx.db, ctx, row.studyInstanceUid)) throw notFound('No such segmentation.');
  return row;
}

function resultViews(ctx: RequestCtx, rows: ResultRow[]) {
  if (!rows.length) return [];
  const segs = ctx.db
    .select({ resultId: segments.resultId, number: segments.number, labelValue: segments.labelValue, label: segments.label, color: segments.color, voxelCount: segments.voxelCount, volumeCm3: segments.volumeCm3 })
    .from(segments).where(inArray(segments.resultId, rows.map((r) => r.id))).orderBy(asc(segments.number)).all();
  const studyRows = ctx.db.select({ uid: studies.studyInstanceUid, studyDate: studies.studyDate, studyDescription: studies.studyDescription, patientKey: studies.patientKey, patientId: studies.patientId, patientName: studies.patientName }).from(studies).where(inArray(studies.studyInstanceUid, [...new Set(rows.map((r) => r.studyInstanceUid))])).all();
  return rows.map((row) => {
    const study = studyRows.find((s) => s.uid === row.studyInstanceUid);
    return {
      id: row.id,
      jobId: row.jobId,
      studyInstanceUid: row.studyInstanceUid,
      studyDate: study?.studyDate ?? '',
      studyDescription: study?.studyDescription ?? '',
      patient: { key: study?.patientKey ?? null, patientId: study?.patientId ?? '', patientName: study?.patientName ?? '' },
      sourceSeriesUid: row.sourceSeriesUid,
      segSeriesUid: row.segSeriesUid,
      segSopInstanceUid: row.segSopInstanceUid,
      model: row.model,
      modelVersion: row.modelVersion,
      createdAt: row.createdAt.toISOString(),
      validation: { status: row.validationStatus, comment: row.validationComment, by: row.validatedByEmail, at: row.validatedAt?.toISOString() ?? null },
      segments: segs.filter((s) => s.resultId === row.id).map((s) => ({ number: s.number, labelValue: s.labelValue, label: s.label, color: s.color, voxelCount: s.voxelCount, volumeCm3: s.volumeCm3 })),
    };
  });
}

export const resultListQuerySchema = z.object({ studyInstanceUid: seriesUid.optional(), patientKey: z.string().max(60).optional() });

export function listResults({ ctx, input }: { ctx: RequestCtx; input: z.infer<typeof resultListQuerySchema> }) {
  requireUser(ctx);
  assertCan(ctx, 'study.read');
  const access = accessibleStudies(ctx.db, ctx);
  if (!access.all && !access.uids.size) return { results: [] };
  const patientStudies = input.patientKey ? ctx.db.select({ uid: studies.studyInstanceUid }).from(studies).where(eq(studies.patientKey, input.patientKey)).all().map((r) => r.uid) : null;
  if (patientStudies && !patientStudies.length) return { results: [] };
  const rows = ctx.db
    .select()
    .from(segmentationResults)
    .where(
      and(
        input.studyInstanceUid ? eq(segmentationResults.studyInstanceUid, input.studyInstanceUid) : undefined,
        patientStudies ? inArray(segmentationResults.studyInstanceUid, patientStudies) : undefined,
        access.all ? undefined : inArray(segmentationResults.studyInstanceUid, [...access.uids]),
      ),
    )
    .orderBy(desc(segmentationResults.createdAt))
    .limit(500)
    .all();
  return { results: resultViews(ctx, rows) };
}

/**
 * One result, plus each of its segments' volume across the patient's studies that the
 * caller may see (same model and label), oldest study first: the temporal comparison.
 */
export function getResult({ ctx, input }: { ctx: RequestCtx; input: { id: string } }) {
  const row = readableResult(ctx, input.id);
  const [result] = resultViews(ctx, [row]);
  const patientKey = result!.patient.key;
  const history: { label: string; points: { resultId: string; studyInstanceUid: string; studyDate: string; volumeCm3: number; validationStatus: string }[] }[] = [];
  if (patientKey) {
    const sameModel = listResults({ ctx, input: { patientKey } }).results.filter((r) => r.model === row.model);
    for (const segment of result!.segments) {
      const points = sameModel
        .flatMap((r) => r.segments.filter((s) => s.label === segment.label).map((s) => ({ resultId: r.id, studyInstanceUid: r.studyInstanceUid, studyDate: r.studyDate, volumeCm3: s.volumeCm3, validationStatus: r.validation.status })))
        .sort((a, b) => a.studyDate.localeCompare(b.studyDate) || a.resultId.localeCompare(b.resultId));
      history.push({ label: segment.label, points });
    }
  }
  return { result: result!, history };
}

export function validateResult({ ctx, input }: { ctx: RequestCtx; input: { id: string } & z.infer<typeof validationInputSchema> }) {
  const user = requireUser(ctx);
  const row = readableResult(ctx, input.id);
  assertCan(ctx, 'segmentation.validate', 'Only radiologists (and admins) may approve or reject segmentations.');
  if (input.decision === 'rejected' && !input.comment) throw badRequest('Say why the segmentation is rejected (a comment is required).');
  ctx.db.transaction((tx) => {
    tx.update(segmentationResults)
      .set({ validationStatus: input.decision, validationComment: input.comment ?? null, validatedBy: user.id, validatedByEmail: user.email, validatedAt: new Date() })
      .where(eq(segmentationResults.id, row.id))
      .run();
    writeAudit(tx, actorOf(ctx, user), {
      action: input.decision === 'approved' ? 'segmentation.approve' : 'segmentation.reject',
      outcome: 'success',
      targetType: 'segmentation',
      targetId: row.id,
      details: { studyInstanceUid: row.studyInstanceUid, model: row.model, ...(input.comment ? { comment: input.comment } : {}) },
    });
  });
  return getResult({ ctx, input: { id: row.id } });
}

/** Removes the SEG from Orthanc and the result from the registry. */
export async function deleteResult({ ctx, input }: { ctx: RequestCtx; input: { id: string } }) {
  const user = requireUser(ctx);
  const row = readableResult(ctx, input.id);
  assertCan(ctx, 'inference.run', 'Your role may not delete segmentation results.');
  const seg = ctx.db.select({ orthancId: series.orthancId }).from(series).where(eq(series.seriesInstanceUid, row.segSeriesUid)).get();
  if (seg) {
    const response = await ctx.orthanc.raw('DELETE', `/series/${seg.orthancId}`);
    await response.body.dump();
  }
  ctx.db.transaction((tx) => {
    tx.delete(segmentationResults).where(eq(segmentationResults.id, row.id)).run();
    tx.update(inferenceJobs).set({ requestKey: null }).where(eq(inferenceJobs.id, row.jobId)).run();
    writeAudit(tx, actorOf(ctx, user), { action: 'segmentation.delete', outcome: 'success', targetType: 'segmentation', targetId: row.id, details: { studyInstanceUid: row.studyInstanceUid, segSeriesUid: row.segSeriesUid } });
  });
  const study = ctx.db.select({ orthancId: studies.orthancId }).from(studies).where(eq(studies.studyInstanceUid, row.studyInstanceUid)).get();
  if (study?.orthancId) await syncStudy(ctx, study.orthancId);
}

/** For reports: per segment, the slice where it is largest, as the source image and a mask to lay over it. */
export function listKeySlices({ ctx, input }: { ctx: RequestCtx; input: { id: string } }) {
  const row = readableResult(ctx, input.id);
  const rows = ctx.db
    .select({ number: segments.number, label: segments.label, sliceIndex: segments.keySliceIndex, sopInstanceUid: segments.keySliceSopInstanceUid })
    .from(segments)
    .where(eq(segments.resultId, row.id))
    .orderBy(asc(segments.number))
    .all();
  return {
    slices: rows.map((r) => ({
      segmentNumber: r.number,
      label: r.label,
      sliceIndex: r.sliceIndex,
      sopInstanceUid: r.sopInstanceUid,
      imageUrl: `/api/segmentations/${row.id}/key-slices/${r.number}/image`,
      maskUrl: `/api/segmentations/${row.id}/key-slices/${r.number}/mask`,
    })),
  };
}

export async function keySliceImage({ ctx, input }: { ctx: RequestCtx; input: { id: string; segment: number; part: 'image' | 'mask' } }) {
  const row = readableResult(ctx, input.id);
  const segment = ctx.db.select().from(segments).where(and(eq(segments.resultId, row.id), eq(segments.number, input.segment))).get();
  if (!segment) throw notFound('No such segment.');
  if (input.part === 'mask') return { body: segment.keySliceMaskPng };
  const lookup = await ctx.orthanc.raw('POST', '/tools/lookup', { headers: { 'content-type': 'text/plain' }, body: segment.keySliceSopInstanceUid });
  const instance = (JSON.parse(await lookup.body.text()) as { Type: string; ID: string }[]).find((e) => e.Type === 'Instance');
  if (!instance) throw notFound('The source image is no longer in the archive.');
  const response = await ctx.orthanc.raw('GET', `/instances/${instance.ID}/preview`, { headers: { accept: 'image/png' } });
  const body = Buffer.from(await response.body.arrayBuffer());
  if (response.statusCode !== 200) throw notFound('The archive cannot render this image.');
  return { body };
}
