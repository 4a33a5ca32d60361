import { randomUUID } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { and, count, desc, eq, inArray, lt, max } from 'drizzle-orm';
import { z } from '@hono/zod-openapi';
import { assertCan } from '../access/policy.js';
import { actorOf, writeAudit } from '../audit/audit.service.js';
import { requireUser } from '../auth/auth.service.js';
import type { Db } from '../db/client.js';
import { groups, importFiles, importJobs, importOutcomes, studies } from '../db/schema.js';
import type { AppDeps, RequestCtx } from '../lib/context.js';
import { AppError, badRequest, forbidden, notFound } from '../lib/errors.js';
import { StudyClaims } from '../studies/study-claims.js';
import { ImportRun } from './import-run.js';
import { receiveUpload } from './upload.js';

export const createImportInputSchema = z.object({ groupId: z.uuid(), label: z.string().trim().max(200).optional() }).openapi('CreateImportInput');
export const importListQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20), offset: z.coerce.number().int().min(0).default(0) });
export const importFilesQuerySchema = z.object({
  outcome: z.enum(importOutcomes).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

type JobRow = typeof importJobs.$inferSelect;

/** Uploads being received right now, by job id (one at a time per job). */
const activeRuns = new Map<string, ImportRun>();

function jobView(db: Db, job: JobRow) {
  const group = db.select({ id: groups.id, name: groups.name }).from(groups).where(eq(groups.id, job.ownerGroupId)).get();
  const studyRows = job.studyUids.length
    ? db
        .select({ studyInstanceUid: studies.studyInstanceUid, patientKey: studies.patientKey, patientId: studies.patientId, patientName: studies.patientName, studyDescription: studies.studyDescription })
        .from(studies)
        .where(inArray(studies.studyInstanceUid, job.studyUids.slice(0, 200)))
        .all()
    : [];
  return {
    id: job.id,
    label: job.label,
    ownerGroup: group ?? { id: job.ownerGroupId, name: '' },
    createdBy: { id: job.createdBy, email: job.createdByEmail },
    status: job.status,
    createdAt: job.createdAt.toISOString(),
    updatedAt: job.updatedAt.toISOString(),
    finishedAt: job.finishedAt?.toISOString() ?? null,
    error: job.error,
    counters: {
      filesReceived: job.filesReceived,
      bytesReceived: job.bytesReceived,
      instancesStored: job.instancesStored,
      duplicates: job.duplicates,
      rejected: job.rejected,
      skipped: job.skipped,
    },
    warnings: job.warnings,
    studies: studyRows,
  };
}
export type ImportJobView = ReturnType<typeof jobView>;

/** The caller's own imports; admins see all. Others get 404, as if it did not exist. */
function visibleJob(ctx: RequestCtx, id: string): JobRow {
  const user = requireUser(ctx);
  const job = ctx.db.select().from(importJobs).where(eq(importJobs.id, id)).get();
  if (!job || (user.role !== 'admin' && job.createdBy !== user.id)) throw notFound('No such import.');
  return job;
}

function checkTargetGroup(ctx: RequestCtx, groupId: string): void {
  const user = requireUser(ctx);
  const group = ctx.db.select({ id: groups.id, kind: groups.kind }).from(groups).where(eq(groups.id, groupId)).get();
  if (!group) throw badRequest('Unknown group: choose one of your groups as the import target.');
  if (group.kind === 'inbox') throw badRequest('The inbox group only collects unclaimed studies; import into a real group.');
  if (user.role !== 'admin' && !user.groups.some((g) => g.id === groupId)) throw forbidden('You may only import into a group you belong to.');
}

export function createImport({ ctx, input }: { ctx: RequestCtx; input: z.infer<typeof createImportInputSchema> }): ImportJobView {
  const user = requireUser(ctx);
  assertCan(ctx, 'study.import', 'Your role may not import studies.');
  checkTargetGroup(ctx, input.groupId);
  const id = randomUUID();
  return ctx.db.transaction((tx) => {
    tx.insert(importJobs).values({ id, ownerGroupId: input.groupId, createdBy: user.id, createdByEmail: user.email, label: input.label ?? '', status: 'open', updatedAt: new Date() }).run();
    writeAudit(tx, actorOf(ctx, user), { action: 'import.create', outcome: 'success', targetType: 'import', targetId: id, details: { ownerGroupId: input.groupId } });
    return jobView(tx as unknown as Db, tx.select().from(importJobs).where(eq(importJobs.id, id)).get()!);
  });
}

/**
 * Receives one multipart upload into an open import. Answers once every file of it is
 * stored (or refused); progress meanwhile is visible through getImport and the event stream.
 */
export async function uploadToImport({
  ctx,
  input,
}: {
  ctx: RequestCtx;
  input: { id: string; body: Readable | null; contentType: string; contentLength: number | null };
}): Promise<ImportJobView> {
  const user = requireUser(ctx);
  assertCan(ctx, 'study.import', 'Your role may not import studies.');
  const job = visibleJob(ctx, input.id);
  if (job.status !== 'open' && job.status !== 'processing') throw new AppError(409, 'import_closed', `This import is ${job.status}; start a new import to add files.`);
  if (activeRuns.has(job.id)) throw new AppError(409, 'upload_in_progress', 'Another upload to this import is still running; send batches one after the other.');
  const limits = { maxRequestBytes: ctx.config.imports.maxRequestBytes, maxFileBytes: ctx.config.imports.maxFileBytes, tmpDir: ctx.config.tmpDir };
  if (input.contentLength !== null && input.contentLength > limits.maxRequestBytes) {
    throw new AppError(413, 'payload_too_large', `The upload is ${input.contentLength} bytes; at most ${limits.maxRequestBytes} are accepted in one request. Split it into several uploads to the same import.`);
  }
  if (!input.body) throw badRequest('The upload is empty: send the files as multipart/form-data parts.');

  const startSeq = ctx.db.select({ last: max(importFiles.seq) }).from(importFiles).where(eq(importFiles.jobId, job.id)).get()?.last ?? 0;
  const claims = new StudyClaims(ctx, ctx, { ownerGroupId: job.ownerGroupId, source: 'import', createdBy: user.id, actor: actorOf(ctx, user), via: `import ${job.id}` }, job.id);
  const run = new ImportRun(ctx, job.id, claims, { filesReceived: job.filesReceived, bytesReceived: job.bytesReceived, instancesStored: job.instancesStored, duplicates: job.duplicates, rejected: job.rejected, skipped: job.skipped }, startSeq);
  activeRuns.set(job.id, run);
  ctx.db.update(importJobs).set({ status: 'processing', updatedAt: new Date() }).where(eq(importJobs.id, job.id)).run();
  const before = { ...run.counters };
  let failure: unknown = null;
  let files = 0;
  try {
    files = (await receiveUpload(run, { body: input.body, contentType: input.contentType, limits })).files;
    if (files === 0) failure = badRequest('The upload contained no files. Send one multipart part per file (field name "file").');
  } catch (error) {
    failure = error;
  } finally {
    // The archive became unreachable: that, not a list of rejected files, is the answer.
    if (run.failure) failure = run.failure;
    await run.resyncStudies();
    const cancelled = run.signal.aborted && !run.failure;
    run.flush({ status: cancelled ? 'cancelled' : 'open', ...(cancelled ? { finishedAt: new Date() } : {}) });
    run.close();
    activeRuns.delete(job.id);
    writeAudit(ctx.db, actorOf(ctx, user), {
      action: 'import.upload',
      outcome: failure ? 'failure' : 'success',
      targetType: 'import',
      targetId: job.id,
      details: {
        files,
        stored: run.counters.instancesStored - before.instancesStored,
        duplicates: run.counters.duplicates - before.duplicates,
        rejected: run.counters.rejected - before.rejected,
        skipped: run.counters.skipped - before.skipped,
        ...(failure ? { error: (failure as Error).message } : {}),
      },
    });
  }
  if (failure) throw failure;
  return getImport({ ctx, input: { id: job.id } });
}

function closeJob(ctx: RequestCtx, id: string, status: 'completed' | 'cancelled', action: 'import.complete' | 'import.cancel'): ImportJobView {
  const user = requireUser(ctx);
  const job = visibleJob(ctx, id);
  if (job.status === status) return jobView(ctx.db, job);
  if (job.status !== 'open' && job.status !== 'processing') throw new AppError(409, 'import_closed', `This import is already ${job.status}.`);
  if (status === 'completed' && activeRuns.has(id)) throw new AppError(409, 'upload_in_progress', 'An upload to this import is still running; finish it once the upload has ended.');
  activeRuns.get(id)?.abort.abort();
  ctx.db.transaction((tx) => {
    tx.update(importJobs).set({ status, finishedAt: new Date(), updatedAt: new Date() }).where(eq(importJobs.id, id)).run();
    writeAudit(tx, actorOf(ctx, user), {
      action,
      outcome: 'success',
      targetType: 'import',
      targetId: id,
      details: { stored: job.instancesStored, duplicates: job.duplicates, rejected: job.rejected, skipped: job.skipped, studies: job.studyUids.length },
    });
  });
  return getImport({ ctx, input: { id } });
}

export const finishImport = ({ ctx, input }: { ctx: RequestCtx; input: { id: string } }) => closeJob(ctx, input.id, 'completed', 'import.complete');
export const cancelImport = ({ ctx, input }: { ctx: RequestCtx; input: { id: string } }) => closeJob(ctx, input.id, 'cancelled', 'import.cancel');

/** Ends a one-shot import whose upload failed: it stays listed with what it stored and why it stopped. */
export function failImport(ctx: RequestCtx, id: string, error: Error): void {
  ctx.db
    .update(importJobs)
    .set({ status: 'failed', error: error.message.slice(0, 500), finishedAt: new Date(), updatedAt: new Date() })
    .where(and(eq(importJobs.id, id), inArray(importJobs.status, ['open', 'processing'])))
    .run();
}

export function getImport({ ctx, input }: { ctx: RequestCtx; input: { id: string } }): ImportJobView {
  return jobView(ctx.db, visibleJob(ctx, input.id));
}

export function listImports({ ctx, input }: { ctx: RequestCtx; input: z.infer<typeof importListQuerySchema> }) {
  const user = requireUser(ctx);
  const where = user.role === 'admin' ? undefined : eq(importJobs.createdBy, user.id);
  const total = ctx.db.select({ n: count() }).from(importJobs).where(where).get()!.n;
  const rows = ctx.db.select().from(importJobs).where(where).orderBy(desc(importJobs.createdAt)).limit(input.limit).offset(input.offset).all();
  return { total, imports: rows.map((row) => jobView(ctx.db, row)) };
}

export function listImportFiles({ ctx, input }: { ctx: RequestCtx; input: { id: string } & z.infer<typeof importFilesQuerySchema> }) {
  const job = visibleJob(ctx, input.id);
  const where = and(eq(importFiles.jobId, job.id), input.outcome ? eq(importFiles.outcome, input.outcome) : undefined);
  const total = ctx.db.select({ n: count() }).from(importFiles).where(where).get()!.n;
  const files = ctx.db
    .select({ seq: importFiles.seq, name: importFiles.name, outcome: importFiles.outcome, reason: importFiles.reason, instances: importFiles.instances, studyInstanceUid: importFiles.studyInstanceUid })
    .from(importFiles)
    .where(where)
    .orderBy(importFiles.seq)
    .limit(input.limit)
    .offset(input.offset)
    .all();
  return { total, files };
}

/**
 * Imports left open or processing by a previous process cannot go on (their uploads died
 * with it); idle open imports are closed too. What they stored stays.
 */
export function closeStaleImports(deps: Pick<AppDeps, 'db' | 'config'>, at: 'startup' | 'idle'): number {
  const now = new Date();
  const stale =
    at === 'startup'
      ? inArray(importJobs.status, ['open', 'processing'])
      : and(eq(importJobs.status, 'open'), lt(importJobs.updatedAt, new Date(now.getTime() - deps.config.imports.idleMinutes * 60_000)));
  const ids = deps.db.select({ id: importJobs.id }).from(importJobs).where(stale).all().map((r) => r.id).filter((id) => !activeRuns.has(id));
  if (!ids.length) return 0;
  const error =
    at === 'startup'
      ? 'The backend restarted while this import was running. What was stored stays; import the same files again to add the rest (already stored files count as duplicates).'
      : `No files arrived for ${deps.config.imports.idleMinutes} minutes, so the import was closed. What was stored stays.`;
  deps.db.update(importJobs).set({ status: 'failed', error, finishedAt: now, updatedAt: now }).where(inArray(importJobs.id, ids)).run();
  return ids.length;
}

/**
 * Temp files of imports a killed process left behind (spooled files, ZIPs, unpacked NIfTI).
 * At startup only, and synchronously: before any request can make a new one.
 */
export function removeStaleImportFiles(deps: Pick<AppDeps, 'config' | 'log'>): number {
  let names: string[] = [];
  try {
    names = readdirSync(deps.config.tmpDir);
  } catch {
    return 0;
  }
  const stale = names.filter((name) => /^[0-9a-f-]{36}(\.[a-z.]+)?$/.test(name) || /^nifti-/.test(name));
  for (const name of stale) rmSync(join(deps.config.tmpDir, name), { recursive: true, force: true });
  if (stale.length) deps.log.info({ files: stale.length }, 'removed temp files of interrupted imports');
  return stale.length;
}

export function isImportActive(id: string): boolean {
  return activeRuns.has(id);
}

