import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { z } from '@hono/zod-openapi';
import { and, count, desc, eq, gte, inArray, lt, lte, sql } from 'drizzle-orm';
import { accessibleStudies, assertCan, canReadStudy } from '../access/policy.js';
import { actorOf, writeAudit } from '../audit/audit.service.js';
import { requireUser } from '../auth/auth.service.js';
import { exportJobs, exportLedger, studies } from '../db/schema.js';
import type { AppDeps, RequestCtx } from '../lib/context.js';
import { AppError, badRequest, forbidden, notFound } from '../lib/errors.js';
import { listPatients, patientListQuerySchema } from '../studies/patients.service.js';
import { runExport } from './export-run.js';

const uid = z.string().regex(/^[0-9]+(\.[0-9]+)*$/, 'a DICOM UID').max(64);
export const deidOptionNames = ['retainLongitudinalModifiedDates', 'retainPatientCharacteristics', 'cleanDescriptors', 'retainSafePrivate'] as const;

export const createExportInputSchema = z
  .object({
    studyInstanceUids: z.array(uid).max(10_000).default([]),
    patientKeys: z.array(z.string().max(60)).max(10_000).default([]),
    /** A patients-list search (as in GET /api/patients): every study of the patients it finds. */
    search: patientListQuerySchema.omit({ sort: true, order: true, limit: true, offset: true }).partial().optional(),
    format: z.enum(['dicom', 'nifti', 'both']).default('dicom'),
    deidentify: z.boolean().default(false),
    deidOptions: z.array(z.enum(deidOptionNames)).default([]),
    includeBurnedIn: z.boolean().default(false),
    purpose: z.string().trim().min(3, 'say what the data is for').max(500),
    recipient: z.string().trim().min(2, 'say who receives it').max(200),
  })
  .openapi('CreateExport');

type ExportRow = typeof exportJobs.$inferSelect;

function exportView(row: ExportRow) {
  return {
    id: row.id,
    status: row.status,
    options: row.options,
    purpose: row.purpose,
    recipient: row.recipient,
    createdBy: row.createdByEmail,
    studyCount: row.studyUids.length,
    progress: { instancesTotal: row.instancesTotal, instancesDone: row.instancesDone, filesWritten: row.filesWritten, bytesWritten: row.bytesWritten },
    flaggedSeries: row.flagged,
    error: row.error,
    createdAt: row.createdAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    downloadUrl: row.status === 'completed' && row.expiresAt && row.expiresAt > new Date() ? `/api/exports/${row.id}/download` : null,
  };
}
export type ExportView = ReturnType<typeof exportView>;

/** Exports are seen by the person who made them and by admins. */
function visibleExport(ctx: RequestCtx, id: string): ExportRow {
  const user = requireUser(ctx);
  const row = ctx.db.select().from(exportJobs).where(eq(exportJobs.id, id)).get();
  if (!row || (row.createdBy !== user.id && user.role !== 'admin')) throw notFound('No such export.');
  return row;
}

/** Every study the selection names; a study the caller may not see refuses the whole export. */
function resolveSelection(ctx: RequestCtx, input: z.infer<typeof createExportInputSchema>): string[] {
  const uids = new Set(input.studyInstanceUids);
  const keys = new Set(input.patientKeys);
  if (input.search) {
    const found = listPatients({ ctx, input: { ...input.search, sort: 'name', order: 'asc', limit: 200, offset: 0 } });
    if (found.total > 200) throw badRequest(`The search finds ${found.total} patients; narrow it to 200 or fewer for one export.`);
    for (const p of found.patients) keys.add(p.key);
  }
  if (keys.size) {
    const access = accessibleStudies(ctx.db, ctx);
    const rows = ctx.db.select({ uid: studies.studyInstanceUid, key: studies.patientKey }).from(studies).where(inArray(studies.patientKey, [...keys])).all();
    const visible = rows.filter((r) => access.all || access.uids.has(r.uid));
    const knownKeys = new Set(visible.map((r) => r.key));
    const missing = [...keys].filter((k) => !knownKeys.has(k));
    if (missing.length) throw forbidden(`${missing.length} of the selected patients are not visible to you; the export was refused as a whole.`);
    for (const r of visible) uids.add(r.uid);
  }
  if (!uids.size) throw badRequest('The selection is empty: choose at least one patient or study.');
  const refused = [...uids].filter((u) => !canReadStudy(ctx.db, ctx, u));
  if (refused.length) throw forbidden(`${refused.length} of the selected studies are not visible to you; the export was refused as a whole.`);
  return [...uids];
}

export function createExport({ ctx, input }: { ctx: RequestCtx; input: z.infer<typeof createExportInputSchema> }): ExportView {
  const user = requireUser(ctx);
  assertCan(ctx, 'export.create', 'Your role may not export data.');
  if (!input.deidentify && input.deidOptions.length) throw badRequest('De-identification options only apply to a de-identified export (deidentify: true).');
  const studyUids = resolveSelection(ctx, input);
  const id = randomUUID();
  const row = ctx.db.transaction((tx) => {
    tx.insert(exportJobs)
      .values({
        id,
        createdBy: user.id,
        createdByEmail: user.email,
        status: 'running',
        options: { format: input.format, deidentify: input.deidentify, deidOptions: input.deidOptions, includeBurnedIn: input.includeBurnedIn },
        purpose: input.purpose,
        recipient: input.recipient,
        studyUids,
        updatedAt: new Date(),
      })
      .run();
    writeAudit(tx, actorOf(ctx, user), {
      action: 'export.start',
      outcome: 'success',
      targetType: 'export',
      targetId: id,
      details: { studies: studyUids.length, format: input.format, deidentified: input.deidentify, deidOptions: input.deidOptions, recipient: input.recipient, purpose: input.purpose },
    });
    return tx.select().from(exportJobs).where(eq(exportJobs.id, id)).get()!;
  });
  void runExport(ctx, id);
  return exportView(row);
}

export function getExport({ ctx, input }: { ctx: RequestCtx; input: { id: string } }) {
  return exportView(visibleExport(ctx, input.id));
}

export const exportListQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20), offset: z.coerce.number().int().min(0).default(0) });

export function listExports({ ctx, input }: { ctx: RequestCtx; input: z.infer<typeof exportListQuerySchema> }) {
  const user = requireUser(ctx);
  const where = user.role === 'admin' ? undefined : eq(exportJobs.createdBy, user.id);
  const total = ctx.db.select({ n: count() }).from(exportJobs).where(where).get()!.n;
  const rows = ctx.db.select().from(exportJobs).where(where).orderBy(desc(exportJobs.createdAt)).limit(input.limit).offset(input.offset).all();
  return { total, exports: rows.map(exportView) };
}

export function cancelExport({ ctx, input }: { ctx: RequestCtx; input: { id: string } }) {
  const user = requireUser(ctx);
  const row = visibleExport(ctx, input.id);
  if (row.status !== 'running') throw new AppError(409, 'export_finished', `This export is already ${row.status}.`);
  ctx.db.transaction((tx) => {
    tx.update(exportJobs).set({ status: 'cancelled', finishedAt: new Date(), updatedAt: new Date() }).where(eq(exportJobs.id, row.id)).run();
    writeAudit(tx, actorOf(ctx, user), { action: 'export.cancel', outcome: 'success', targetType: 'export', targetId: row.id });
  });
  return getExport({ ctx, input });
}

/** The finished ZIP, for its creator only, until it expires. Every download is audited. */
export function openDownload({ ctx, input }: { ctx: RequestCtx; input: { id: string } }) {
  const user = requireUser(ctx);
  const row = ctx.db.select().from(exportJobs).where(eq(exportJobs.id, input.id)).get();
  // Single user: not even admins download someone else's bundle.
  if (!row || row.createdBy !== user.id) throw notFound('No such export.');
  if (row.status !== 'completed' || !row.filePath) throw new AppError(409, 'export_not_ready', row.status === 'running' ? 'The export is still being built.' : `The export ${row.status}; nothing to download.`);
  if (!row.expiresAt || row.expiresAt <= new Date() || !existsSync(row.filePath)) throw new AppError(410, 'export_expired', 'The download link has expired. Start the export again.');
  writeAudit(ctx.db, actorOf(ctx, user), { action: 'export.download', outcome: 'success', targetType: 'export', targetId: row.id, details: { bytes: row.bytesWritten } });
  return { stream: createReadStream(row.filePath), size: statSync(row.filePath).size, name: `preview-dicom-export-${row.createdAt.toISOString().slice(0, 10)}-${row.id.slice(0, 8)}.zip` };
}

export const ledgerQuerySchema = z.object({
  from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD').optional(),
  to: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD').optional(),
});

/** Admins: what left, per group and per recipient, in a time window. */
export function ledger({ ctx, input }: { ctx: RequestCtx; input: z.infer<typeof ledgerQuerySchema> }) {
  requireUser(ctx);
  const where = and(input.from ? gte(exportLedger.at, new Date(`${input.from}T00:00:00Z`)) : undefined, input.to ? lte(exportLedger.at, new Date(`${input.to}T23:59:59.999Z`)) : undefined);
  const totals = {
    exports: sql<number>`count(distinct ${exportLedger.exportId})`,
    studies: sql<number>`sum(${exportLedger.studyCount})`,
    instances: sql<number>`sum(${exportLedger.instanceCount})`,
    bytes: sql<number>`sum(${exportLedger.bytes})`,
    deidentifiedStudies: sql<number>`sum(case when ${exportLedger.deidentified} then ${exportLedger.studyCount} else 0 end)`,
  };
  return {
    byGroup: ctx.db.select({ groupId: exportLedger.groupId, groupName: exportLedger.groupName, ...totals }).from(exportLedger).where(where).groupBy(exportLedger.groupId).all(),
    byRecipient: ctx.db.select({ recipient: exportLedger.recipient, ...totals }).from(exportLedger).where(where).groupBy(exportLedger.recipient).all(),
    entries: ctx.db.select().from(exportLedger).where(where).orderBy(desc(exportLedger.at)).limit(500).all().map((e) => ({ ...e, at: e.at.toISOString() })),
  };
}

/** Exports running when the process stopped cannot finish; expired bundles are deleted. */
export async function cleanUpExports(deps: Pick<AppDeps, 'db' | 'config'>, at: 'startup' | 'periodic'): Promise<void> {
  if (at === 'startup') {
    // Half-written ZIPs of exports that died with the last process.
    const kept = new Set(deps.db.select({ path: exportJobs.filePath }).from(exportJobs).where(eq(exportJobs.status, 'completed')).all().map((r) => r.path));
    const dir = join(deps.config.tmpDir, 'exports');
    if (existsSync(dir)) for (const name of readdirSync(dir)) if (!kept.has(join(dir, name))) await rm(join(dir, name), { force: true });
    deps.db
      .update(exportJobs)
      .set({ status: 'failed', error: 'The backend restarted while this export was being built. No partial ZIP is offered; start the export again.', finishedAt: new Date(), updatedAt: new Date() })
      .where(eq(exportJobs.status, 'running'))
      .run();
  }
  const expired = deps.db.select({ id: exportJobs.id, path: exportJobs.filePath }).from(exportJobs).where(and(eq(exportJobs.status, 'completed'), lt(exportJobs.expiresAt, new Date()))).all();
  for (const row of expired) {
    if (row.path) await rm(row.path, { force: true });
    deps.db.update(exportJobs).set({ filePath: null }).where(eq(exportJobs.id, row.id)).run();
  }
}
