import { z } from '@hono/zod-openapi';
import { and, asc, desc, eq, exists, gte, inArray, lte, or, sql, type SQL } from 'drizzle-orm';
import { accessibleStudies, assertCan, canReadStudy } from '../access/policy.js';
import { actorOf, writeAudit } from '../audit/audit.service.js';
import { requireUser } from '../auth/auth.service.js';
import { groups, patients, series, studies, studyShares } from '../db/schema.js';
import type { RequestCtx } from '../lib/context.js';
import { badRequest, forbidden, notFound } from '../lib/errors.js';
import { containsText } from '../lib/sql.js';
import { OrthancError } from '../orthanc/client.js';
import { syncStudy } from './registry.service.js';
import { groupNames } from './studies.service.js';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD');
export const patientListQuerySchema = z.object({
  q: z.string().trim().max(200).optional(),
  modality: z.string().trim().regex(/^[A-Z0-9]{1,16}$/, 'a DICOM modality such as CT or MR').optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
  groupId: z.uuid().optional(),
  sort: z.enum(['name', 'patientId', 'lastStudyDate', 'studyCount']).default('name'),
  order: z.enum(['asc', 'desc']).default('asc'),
  limit: z.coerce.number().int().min(1).max(200).default(25),
  offset: z.coerce.number().int().min(0).default(0),
});
export const patientKeySchema = z.string().regex(/^[0-9a-f]{8}(-[0-9a-f]{8}){4}$/, "an Orthanc patient id (e.g. from the patients list's key)");

const toDicomDate = (iso: string) => iso.replaceAll('-', '');

/** The studies a caller may see, narrowed by the list's filters, as one SQL condition. */
function visibleStudiesWhere(ctx: RequestCtx, filters: { modality?: string; from?: string; to?: string; groupId?: string }): SQL | undefined | null {
  const access = accessibleStudies(ctx.db, ctx);
  if (!access.all && access.uids.size === 0) return null;
  return and(
    access.all ? undefined : inArray(studies.studyInstanceUid, [...access.uids]),
    filters.modality ? exists(ctx.db.select({ one: sql`1` }).from(series).where(and(eq(series.studyInstanceUid, studies.studyInstanceUid), eq(series.modality, filters.modality)))) : undefined,
    filters.from ? gte(studies.studyDate, toDicomDate(filters.from)) : undefined,
    filters.to ? lte(studies.studyDate, toDicomDate(filters.to)) : undefined,
    filters.groupId
      ? or(eq(studies.ownerGroupId, filters.groupId), exists(ctx.db.select({ one: sql`1` }).from(studyShares).where(and(eq(studyShares.studyInstanceUid, studies.studyInstanceUid), eq(studyShares.groupId, filters.groupId)))))
      : undefined,
  );
}

export function listPatients({ ctx, input }: { ctx: RequestCtx; input: z.infer<typeof patientListQuerySchema> }) {
  requireUser(ctx);
  assertCan(ctx, 'study.read');
  if (input.from && input.to && input.from > input.to) throw badRequest('from must not be after to.');
  const where = visibleStudiesWhere(ctx, input);
  if (where === null) return { patients: [], total: 0 };
  const search = input.q ? or(containsText(patients.patientName, input.q), containsText(patients.patientId, input.q)) : undefined;
  const studyCount = sql<number>`count(${studies.studyInstanceUid})`.as('study_count');
  const lastStudyDate = sql<string>`max(${studies.studyDate})`.as('last_study_date');
  const grouped = ctx.db
    .select({ key: patients.key, studyCount, lastStudyDate })
    .from(patients)
    .innerJoin(studies, eq(studies.patientKey, patients.key))
    .where(and(where, search))
    .groupBy(patients.key)
    .as('grouped');
  const total = ctx.db.select({ n: sql<number>`count(*)` }).from(grouped).get()!.n;
  const direction = input.order === 'desc' ? desc : asc;
  const orderColumn = { name: patients.patientName, patientId: patients.patientId, lastStudyDate: grouped.lastStudyDate, studyCount: grouped.studyCount }[input.sort];
  const rows = ctx.db
    .select({ key: patients.key, patientId: patients.patientId, patientName: patients.patientName, birthDate: patients.birthDate, sex: patients.sex, studyCount: grouped.studyCount, lastStudyDate: grouped.lastStudyDate })
    .from(grouped)
    .innerJoin(patients, eq(patients.key, grouped.key))
    .orderBy(direction(orderColumn), asc(patients.key))
    .limit(input.limit)
    .offset(input.offset)
    .all();
  const keys = rows.map((r) => r.key);
  const studyRows = keys.length
    ? ctx.db.select({ patientKey: studies.patientKey, modalities: studies.modalities, ownerGroupId: studies.ownerGroupId }).from(studies).where(and(where, inArray(studies.patientKey, keys))).all()
    : [];
  const names = groupNames(ctx.db, studyRows.map((s) => s.ownerGroupId));
  return {
    total,
    patients: rows.map((row) => {
      const own = studyRows.filter((s) => s.patientKey === row.key);
      return {
        ...row,
        modalities: [...new Set(own.flatMap((s) => s.modalities))].sort(),
        groups: [...new Set(own.map((s) => s.ownerGroupId))].map((id) => ({ id, name: names.get(id) ?? '' })),
      };
    }),
  };
}

type StudyRow = typeof studies.$inferSelect;

function studyDetails(ctx: RequestCtx, rows: StudyRow[]) {
  if (!rows.length) return [];
  const uids = rows.map((r) => r.studyInstanceUid);
  const seriesRows = ctx.db.select().from(series).where(inArray(series.studyInstanceUid, uids)).orderBy(asc(series.seriesNumber), asc(series.seriesInstanceUid)).all();
  const shares = ctx.db.select().from(studyShares).where(inArray(studyShares.studyInstanceUid, uids)).all();
  const names = groupNames(ctx.db, [...rows.map((r) => r.ownerGroupId), ...shares.map((s) => s.groupId)]);
  return rows.map((r) => ({
    studyInstanceUid: r.studyInstanceUid,
    patientKey: r.patientKey,
    patientId: r.patientId,
    patientName: r.patientName,
    studyDate: r.studyDate,
    studyDescription: r.studyDescription,
    accessionNumber: r.accessionNumber,
    modalities: r.modalities,
    instanceCount: r.instanceCount,
    source: r.source,
    ownerGroup: { id: r.ownerGroupId, name: names.get(r.ownerGroupId) ?? '' },
    sharedWith: shares.filter((s) => s.studyInstanceUid === r.studyInstanceUid).map((s) => ({ id: s.groupId, name: names.get(s.groupId) ?? '' })),
    series: seriesRows
      .filter((s) => s.studyInstanceUid === r.studyInstanceUid)
      .map((s) => ({
        seriesInstanceUid: s.seriesInstanceUid,
        modality: s.modality,
        seriesNumber: s.seriesNumber,
        seriesDescription: s.seriesDescription,
        bodyPart: s.bodyPart,
        instanceCount: s.instanceCount,
        thumbnailUrl: `/api/series/${s.seriesInstanceUid}/thumbnail`,
      })),
  }));
}

export function getPatient({ ctx, input }: { ctx: RequestCtx; input: { key: string } }) {
  requireUser(ctx);
  assertCan(ctx, 'study.read');
  const patient = ctx.db.select().from(patients).where(eq(patients.key, input.key)).get();
  const where = visibleStudiesWhere(ctx, {});
  const rows = patient && where !== null ? ctx.db.select().from(studies).where(and(where, eq(studies.patientKey, input.key))).orderBy(desc(studies.studyDate)).all() : [];
  // A patient with no study the caller may see does not exist for them.
  if (!patient || !rows.length) throw notFound('No such patient.');
  const { updatedAt: _updated, ...fields } = patient;
  return { patient: fields, studies: studyDetails(ctx, rows) };
}

function readableStudy(ctx: RequestCtx, uid: string): StudyRow {
  requireUser(ctx);
  const row = ctx.db.select().from(studies).where(eq(studies.studyInstanceUid, uid)).get();
  if (!row || !canReadStudy(ctx.db, ctx, uid)) throw notFound('No such study.');
  return row;
}

export function getStudy({ ctx, input }: { ctx: RequestCtx; input: { studyInstanceUid: string } }) {
  return { study: studyDetails(ctx, [readableStudy(ctx, input.studyInstanceUid)])[0]! };
}

/** Admins only: removes the study from Orthanc, then from the registry (shares and links go with it). */
export async function deleteStudy({ ctx, input }: { ctx: RequestCtx; input: { studyInstanceUid: string } }) {
  const user = requireUser(ctx);
  const row = readableStudy(ctx, input.studyInstanceUid);
  if (user.role !== 'admin') throw forbidden('Only admins may delete studies.');
  if (row.orthancId) {
    const response = await ctx.orthanc.raw('DELETE', `/studies/${row.orthancId}`);
    await response.body.dump();
    if (response.statusCode >= 400 && response.statusCode !== 404) throw new OrthancError(response.statusCode, `Orthanc answered ${response.statusCode} to the delete`);
  }
  ctx.db.transaction((tx) => {
    tx.delete(studies).where(eq(studies.studyInstanceUid, row.studyInstanceUid)).run();
    tx.run(sql`DELETE FROM patients WHERE key NOT IN (SELECT patient_key FROM studies WHERE patient_key IS NOT NULL)`);
    writeAudit(tx, actorOf(ctx, user), {
      action: 'study.delete',
      outcome: 'success',
      targetType: 'study',
      targetId: row.studyInstanceUid,
      details: { ownerGroupId: row.ownerGroupId, instances: row.instanceCount, patientId: row.patientId },
    });
  });
}

export const moveStudyInputSchema = z.object({ ownerGroupId: z.uuid() }).openapi('MoveStudyInput');

/** Admins only: gives a study to another group (e.g. out of the inbox). */
export function moveStudy({ ctx, input }: { ctx: RequestCtx; input: { studyInstanceUid: string; ownerGroupId: string } }) {
  const user = requireUser(ctx);
  const row = readableStudy(ctx, input.studyInstanceUid);
  if (user.role !== 'admin') throw forbidden('Only admins may move studies between groups.');
  ctx.db.transaction((tx) => {
    if (!tx.select({ id: groups.id }).from(groups).where(eq(groups.id, input.ownerGroupId)).get()) throw badRequest('Unknown group.');
    tx.update(studies).set({ ownerGroupId: input.ownerGroupId }).where(eq(studies.studyInstanceUid, row.studyInstanceUid)).run();
    tx.delete(studyShares).where(and(eq(studyShares.studyInstanceUid, row.studyInstanceUid), eq(studyShares.groupId, input.ownerGroupId))).run();
    writeAudit(tx, actorOf(ctx, user), { action: 'study.move', outcome: 'success', targetType: 'study', targetId: row.studyInstanceUid, details: { from: row.ownerGroupId, to: input.ownerGroupId } });
  });
  return getStudy({ ctx, input });
}

/** A PNG preview of the series' middle instance, rendered by Orthanc. */
export async function seriesThumbnail({ ctx, input }: { ctx: RequestCtx; input: { seriesInstanceUid: string } }) {
  requireUser(ctx);
  const row = ctx.db.select({ study: series.studyInstanceUid, orthancId: series.orthancId }).from(series).where(eq(series.seriesInstanceUid, input.seriesInstanceUid)).get();
  if (!row || !canReadStudy(ctx.db, ctx, row.study)) throw notFound('No such series.');
  let instances: string[];
  try {
    instances = (await ctx.orthanc.json<{ Instances: string[] }>('GET', `/series/${row.orthancId}`)).Instances;
  } catch (error) {
    if (error instanceof OrthancError && error.status === 404) {
      const study = ctx.db.select({ orthancId: studies.orthancId }).from(studies).where(eq(studies.studyInstanceUid, row.study)).get();
      if (study?.orthancId) await syncStudy(ctx, study.orthancId);
      throw notFound('No such series.');
    }
    throw error;
  }
  const middle = instances[Math.floor(instances.length / 2)];
  if (!middle) throw notFound('The series has no instances.');
  const response = await ctx.orthanc.raw('GET', `/instances/${middle}/preview`, { headers: { accept: 'image/png' } });
  if (response.statusCode >= 400) {
    await response.body.dump();
    throw notFound('This series has no image to preview (e.g. a segmentation or report, or a compression Orthanc cannot decode).');
  }
  return response.body;
}

