// Durable notes of studies an import is bringing into Orthanc for the first time (see the
// pendingClaims table). They close the window between Orthanc storing a new study's first
// instance and the registry claiming it: a backend killed inside it leaves the note, and the
// note, not the inbox, decides the owner afterwards.
import { and, eq, inArray, lt, notInArray, or } from 'drizzle-orm';
import { importJobs, pendingClaims, studies } from '../db/schema.js';
import type { Db } from '../db/client.js';

const PENDING_CLAIM_DAYS = 30;

export function notePendingClaim(db: Db, input: { studyInstanceUid: string; ownerGroupId: string; importJobId: string; createdBy: string | null }): void {
  db.insert(pendingClaims).values(input).onConflictDoNothing().run();
}

/**
 * A claim left by an import that is no longer running (its process died, or it failed),
 * for this study and group; the running import itself never counts, so a live upload
 * cannot use its own note to take over instances someone else stored.
 */
export function claimLeftByEndedImport(db: Db, studyInstanceUid: string, ownerGroupId?: string): { ownerGroupId: string; importJobId: string; createdBy: string | null } | undefined {
  return db
    .select({ ownerGroupId: pendingClaims.ownerGroupId, importJobId: pendingClaims.importJobId, createdBy: pendingClaims.createdBy })
    .from(pendingClaims)
    .innerJoin(importJobs, eq(importJobs.id, pendingClaims.importJobId))
    .where(
      and(
        eq(pendingClaims.studyInstanceUid, studyInstanceUid),
        ownerGroupId ? eq(pendingClaims.ownerGroupId, ownerGroupId) : undefined,
        notInArray(importJobs.status, ['open', 'processing']),
      ),
    )
    .orderBy(pendingClaims.createdAt)
    .get();
}

export function dropPendingClaims(db: Db, studyInstanceUid: string, only?: { ownerGroupId: string; importJobId: string }): void {
  db.delete(pendingClaims)
    .where(
      and(
        eq(pendingClaims.studyInstanceUid, studyInstanceUid),
        only ? and(eq(pendingClaims.ownerGroupId, only.ownerGroupId), eq(pendingClaims.importJobId, only.importJobId)) : undefined,
      ),
    )
    .run();
}

/** Notes whose study got registered anyway, or that are too old to mean anything. */
export function prunePendingClaims(db: Db): number {
  const cutoff = new Date(Date.now() - PENDING_CLAIM_DAYS * 86_400_000);
  return db
    .delete(pendingClaims)
    .where(or(inArray(pendingClaims.studyInstanceUid, db.select({ uid: studies.studyInstanceUid }).from(studies)), lt(pendingClaims.createdAt, cutoff)))
    .run().changes;
}

