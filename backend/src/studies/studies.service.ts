import { z } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import { and, asc, count, desc, eq, inArray, or } from 'drizzle-orm';
import { accessibleStudies, assertCan, can, canManageStudySharing, canReadStudy } from '../access/policy.js';
import { actorOf, writeAudit } from '../audit/audit.service.js';
import { requireUser } from '../auth/auth.service.js';
import { signShareToken } from '../auth/tokens.js';
import type { Tx } from '../db/client.js';
import { groups, shareLinks, studies, studyShares } from '../db/schema.js';
import type { RequestCtx } from '../lib/context.js';
import { containsText } from '../lib/sql.js';
import { AppError, badRequest, forbidden, notFound } from '../lib/errors.js';

export const studyListQuerySchema = z.object({
  q: z.string().trim().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(25),
  offset: z.coerce.number().int().min(0).default(0),
});

export const studyUidSchema = z.string().regex(/^[0-9]+(\.[0-9]+)*$/, 'a DICOM UID (digits and dots)').max(64);

/** Group id → name for the given ids (duplicates allowed). */
export function groupNames(tx: Pick<Tx, 'select'>, ids: string[]): Map<string, string> {
  ids = [...new Set(ids)];
  if (!ids.length) return new Map();
  return new Map(tx.select({ id: groups.id, name: groups.name }).from(groups).where(inArray(groups.id, ids)).all().map((g) => [g.id, g.name]));
}

export function listStudies({ ctx, input }: { ctx: RequestCtx; input: z.infer<typeof studyListQuerySchema> }) {
  requireUser(ctx);
  assertCan(ctx, 'study.read');
  const access = accessibleStudies(ctx.db, ctx);
  if (!access.all && access.uids.size === 0) return { studies: [], total: 0 };
  const where = and(
    access.all ? undefined : inArray(studies.studyInstanceUid, [...access.uids]),
    input.q
      ? or(containsText(studies.patientName, input.q), containsText(studies.patientId, input.q), containsText(studies.studyDescription, input.q), eq(studies.studyInstanceUid, input.q))
      : undefined,
  );
  const total = ctx.db.select({ n: count() }).from(studies).where(where).get()!.n;
  const rows = ctx.db.select().from(studies).where(where).orderBy(desc(studies.studyDate), asc(studies.studyInstanceUid)).limit(input.limit).offset(input.offset).all();
  const shares = rows.length ? ctx.db.select().from(studyShares).where(inArray(studyShares.studyInstanceUid, rows.map((r) => r.studyInstanceUid))).all() : [];
  const names = groupNames(ctx.db, [...new Set([...rows.map((r) => r.ownerGroupId), ...shares.map((s) => s.groupId)])]);
  return {
    total,
    studies: rows.map((r) => ({
      studyInstanceUid: r.studyInstanceUid,
      patientId: r.patientId,
      patientName: r.patientName,
      studyDate: r.studyDate,
      studyDescription: r.studyDescription,
      modalities: r.modalities,
      ownerGroup: { id: r.ownerGroupId, name: names.get(r.ownerGroupId) ?? '' },
      sharedWith: shares.filter((s) => s.studyInstanceUid === r.studyInstanceUid).map((s) => ({ id: s.groupId, name: names.get(s.groupId) ?? '' })),
    })),
  };
}

/** Not found rather than forbidden: an inaccessible study must not be told apart from a missing one. */
function requireReadableStudy(ctx: RequestCtx, studyInstanceUid: string) {
  if (!canReadStudy(ctx.db, ctx, studyInstanceUid)) throw notFound('No such study.');
}

export function shareStudyWithGroup({ ctx, input }: { ctx: RequestCtx; input: { studyInstanceUid: string; groupId: string } }) {
  const user = requireUser(ctx);
  requireReadableStudy(ctx, input.studyInstanceUid);
  if (!canManageStudySharing(ctx.db, ctx, input.studyInstanceUid)) throw forbidden('Only admins and members of the owning group may share this study.');
  ctx.db.transaction((tx) => {
    if (!tx.select({ id: groups.id }).from(groups).where(eq(groups.id, input.groupId)).get()) throw badRequest('Unknown group.');
    const owner = tx.select({ owner: studies.ownerGroupId }).from(studies).where(eq(studies.studyInstanceUid, input.studyInstanceUid)).get()!;
    if (owner.owner === input.groupId) throw badRequest('This group already owns the study.');
    tx.insert(studyShares).values({ studyInstanceUid: input.studyInstanceUid, groupId: input.groupId, sharedBy: user.id }).onConflictDoNothing().run();
    writeAudit(tx, actorOf(ctx, user), { action: 'study.share', outcome: 'success', targetType: 'study', targetId: input.studyInstanceUid, details: { groupId: input.groupId } });
  });
}

export function unshareStudyWithGroup({ ctx, input }: { ctx: RequestCtx; input: { studyInstanceUid: string; groupId: string } }) {
  const user = requireUser(ctx);
  requireReadableStudy(ctx, input.studyInstanceUid);
  if (!canManageStudySharing(ctx.db, ctx, input.studyInstanceUid)) throw forbidden('Only admins and members of the owning group may change who sees this study.');
  ctx.db.transaction((tx) => {
    const removed = tx.delete(studyShares).where(and(eq(studyShares.studyInstanceUid, input.studyInstanceUid), eq(studyShares.groupId, input.groupId))).run();
    if (removed.changes === 0) throw notFound('The study is not shared with that group.');
    writeAudit(tx, actorOf(ctx, user), { action: 'study.unshare', outcome: 'success', targetType: 'study', targetId: input.studyInstanceUid, details: { groupId: input.groupId } });
  });
}

export const createShareLinkInputSchema = z.object({ expiresInHours: z.number().int().min(1).max(720) }).openapi('CreateShareLinkInput');

type ShareLinkRow = typeof shareLinks.$inferSelect;

async function linkView(ctx: RequestCtx, link: ShareLinkRow) {
  const token = await signShareToken(ctx.config.jwtSecret, { linkId: link.id, studyInstanceUid: link.studyInstanceUid }, link.expiresAt);
  return {
    id: link.id,
    studyInstanceUid: link.studyInstanceUid,
    url: `${ctx.config.publicUrl.origin}/share/${token}`,
    createdAt: link.createdAt.toISOString(),
    expiresAt: link.expiresAt.toISOString(),
    revokedAt: link.revokedAt?.toISOString() ?? null,
    useCount: link.useCount,
    lastUsedAt: link.lastUsedAt?.toISOString() ?? null,
  };
}

export async function createShareLink({ ctx, input }: { ctx: RequestCtx; input: { studyInstanceUid: string } & z.infer<typeof createShareLinkInputSchema> }) {
  const user = requireUser(ctx);
  requireReadableStudy(ctx, input.studyInstanceUid);
  if (!can(ctx, 'study.share')) throw forbidden('Your role may not create share links.');
  const link = ctx.db.transaction((tx) => {
    const id = randomUUID();
    tx.insert(shareLinks).values({ id, studyInstanceUid: input.studyInstanceUid, createdBy: user.id, expiresAt: new Date(Date.now() + input.expiresInHours * 3600_000) }).run();
    writeAudit(tx, actorOf(ctx, user), { action: 'share_link.create', outcome: 'success', targetType: 'study', targetId: input.studyInstanceUid, details: { linkId: id, expiresInHours: input.expiresInHours } });
    return tx.select().from(shareLinks).where(eq(shareLinks.id, id)).get()!;
  });
  return linkView(ctx, link);
}

/** Working URLs are secrets: a caller sees the links they made, or all of them if they manage the study's sharing. */
export async function listShareLinks({ ctx, input }: { ctx: RequestCtx; input: { studyInstanceUid: string } }) {
  const user = requireUser(ctx);
  requireReadableStudy(ctx, input.studyInstanceUid);
  const managesSharing = canManageStudySharing(ctx.db, ctx, input.studyInstanceUid);
  const rows = ctx.db
    .select()
    .from(shareLinks)
    .where(and(eq(shareLinks.studyInstanceUid, input.studyInstanceUid), managesSharing ? undefined : eq(shareLinks.createdBy, user.id)))
    .orderBy(desc(shareLinks.createdAt))
    .all();
  return Promise.all(rows.map((row) => linkView(ctx, row)));
}

export function revokeShareLink({ ctx, input }: { ctx: RequestCtx; input: { linkId: string } }) {
  const user = requireUser(ctx);
  ctx.db.transaction((tx) => {
    const link = tx.select().from(shareLinks).where(eq(shareLinks.id, input.linkId)).get();
    if (!link || link.revokedAt || !canReadStudy(tx, ctx, link.studyInstanceUid)) throw notFound('No such active share link.');
    if (link.createdBy !== user.id && !canManageStudySharing(tx, ctx, link.studyInstanceUid)) throw forbidden('Only its creator, the owning group or an admin may revoke this link.');
    tx.update(shareLinks).set({ revokedAt: new Date() }).where(eq(shareLinks.id, link.id)).run();
    writeAudit(tx, actorOf(ctx, user), { action: 'share_link.revoke', outcome: 'success', targetType: 'study', targetId: link.studyInstanceUid, details: { linkId: link.id } });
  });
}

/** A share link opened: counted and audited; the caller then gets a cookie for that one study. */
export function recordShareLinkUse({ ctx, input }: { ctx: RequestCtx; input: { linkId: string } }): { studyInstanceUid: string; expiresAt: Date } {
  const used = ctx.db.transaction((tx) => {
    const link = tx.select().from(shareLinks).where(eq(shareLinks.id, input.linkId)).get();
    if (!link || link.revokedAt || link.expiresAt.getTime() <= Date.now()) {
      // Committed, not thrown inside the transaction: a refused use must stay on record.
      writeAudit(tx, actorOf(ctx, null), { action: 'share_link.use', outcome: 'denied', targetType: 'share_link', targetId: input.linkId, details: { reason: !link ? 'unknown' : link.revokedAt ? 'revoked' : 'expired' } });
      return null;
    }
    tx.update(shareLinks).set({ useCount: link.useCount + 1, lastUsedAt: new Date() }).where(eq(shareLinks.id, link.id)).run();
    writeAudit(tx, actorOf(ctx, ctx.user), { action: 'share_link.use', outcome: 'success', targetType: 'study', targetId: link.studyInstanceUid, details: { linkId: link.id } });
    return { studyInstanceUid: link.studyInstanceUid, expiresAt: link.expiresAt };
  });
  if (!used) throw new AppError(404, 'share_link_invalid', 'This share link is not valid any more (revoked or expired). Ask the person who sent it for a new one.');
  return used;
}
