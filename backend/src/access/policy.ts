// The one access policy. Every path (dashboard API, DICOMweb, exports, inference)
// asks these functions; nothing else decides who may see or do what.
import { eq, inArray, or, sql } from 'drizzle-orm';
import type { DbReader } from '../db/client.js';
import { studies, studyShares, type Role } from '../db/schema.js';
import type { Credential, SessionUser } from '../lib/context.js';
import { AppError, forbidden, unauthorized } from '../lib/errors.js';

export const actions = [
  'study.read',
  'study.import',
  'study.share',
  'inference.run',
  'segmentation.validate',
  'export.create',
  'admin.users',
  'admin.groups',
  'admin.sessions',
  'audit.read',
] as const;
export type Action = (typeof actions)[number];

/** Role × action: the table in the README is generated from the same facts (see policy.test.ts). */
export const roleActions: Record<Role, ReadonlySet<Action>> = {
  admin: new Set(actions),
  researcher: new Set<Action>(['study.read', 'study.import', 'study.share', 'inference.run', 'export.create']),
  radiologist: new Set<Action>(['study.read', 'study.share', 'segmentation.validate']),
};

/** A read-only API token can only read, whatever its owner's role allows. */
const readOnlyActions: ReadonlySet<Action> = new Set<Action>(['study.read']);

export type Caller = { user: SessionUser | null; credential: Credential | null; authProblem?: { status: 401 | 503; code: string; message: string } | null };

export function can(caller: Caller, action: Action): boolean {
  if (!caller.user) return caller.credential?.via === 'share' && action === 'study.read';
  if (!roleActions[caller.user.role].has(action)) return false;
  if (caller.credential?.via === 'token' && caller.credential.scope === 'read' && !readOnlyActions.has(action)) return false;
  return true;
}

/** 401 for a caller who is not signed in (saying why, e.g. expired), 403 for one whose role may not. */
export function assertCan(caller: Caller, action: Action, message?: string): void {
  if (can(caller, action)) return;
  if (!caller.user) {
    if (caller.authProblem) throw new AppError(caller.authProblem.status, caller.authProblem.code, caller.authProblem.message);
    throw unauthorized();
  }
  throw forbidden(message ?? `Your role may not do this (${action}).`);
}

/**
 * Which studies the caller may see: `all` for admins, otherwise the explicit set of
 * study UIDs owned by or shared with one of the caller's groups (a share link: its one study).
 */
export function accessibleStudies(db: DbReader, caller: Caller): { all: true } | { all: false; uids: Set<string> } {
  if (caller.credential?.via === 'share' && !caller.user) return { all: false, uids: new Set([caller.credential.studyInstanceUid]) };
  if (!caller.user) return { all: false, uids: new Set() };
  if (caller.user.role === 'admin') return { all: true };
  const groupIds = caller.user.groups.map((g) => g.id);
  if (!groupIds.length) return { all: false, uids: new Set() };
  const rows = accessQueries(db).visibleUids.all({ groups: JSON.stringify(groupIds) });
  return { all: false, uids: new Set(rows.map((r) => r.uid)) };
}

/** Whether the caller may read this study. Derived objects (SEG, SR) share its StudyInstanceUID. */
export function canReadStudy(db: DbReader, caller: Caller, studyInstanceUid: string): boolean {
  if (!can(caller, 'study.read')) return false;
  if (caller.credential?.via === 'share' && !caller.user) return caller.credential.studyInstanceUid === studyInstanceUid;
  if (caller.user?.role === 'admin') return true;
  const groupIds = caller.user?.groups.map((g) => g.id) ?? [];
  if (!groupIds.length) return false;
  const queries = accessQueries(db);
  const study = queries.owner.get({ uid: studyInstanceUid });
  if (!study) return false;
  if (groupIds.includes(study.owner)) return true;
  return queries.sharedWith.all({ uid: studyInstanceUid }).some((row) => groupIds.includes(row.g));
}

// A group list of any length as one bound parameter, so these statements are prepared once.
const groupsParameter = sql`(select value from json_each(${sql.placeholder('groups')}))`;

// Asked on every DICOMweb search and every authorization check: prepared once per database
// handle (a transaction's handle gets its own, which lives as long as the transaction).
const prepareAccessQueries = (db: DbReader) => ({
  visibleUids: db
    .selectDistinct({ uid: studies.studyInstanceUid })
    .from(studies)
    .leftJoin(studyShares, eq(studyShares.studyInstanceUid, studies.studyInstanceUid))
    .where(or(inArray(studies.ownerGroupId, groupsParameter), inArray(studyShares.groupId, groupsParameter)))
    .prepare(),
  owner: db.select({ owner: studies.ownerGroupId }).from(studies).where(eq(studies.studyInstanceUid, sql.placeholder('uid'))).prepare(),
  sharedWith: db.select({ g: studyShares.groupId }).from(studyShares).where(eq(studyShares.studyInstanceUid, sql.placeholder('uid'))).prepare(),
});
const preparedAccessQueries = new WeakMap<DbReader, ReturnType<typeof prepareAccessQueries>>();
function accessQueries(db: DbReader) {
  let queries = preparedAccessQueries.get(db);
  if (!queries) {
    queries = prepareAccessQueries(db);
    preparedAccessQueries.set(db, queries);
  }
  return queries;
}

/** Sharing a study with another group: admins, or members of the owning group whose role may share. */
export function canManageStudySharing(db: DbReader, caller: Caller, studyInstanceUid: string): boolean {
  if (!can(caller, 'study.share') || !caller.user) return false;
  if (caller.user.role === 'admin') return true;
  const study = db.select({ owner: studies.ownerGroupId }).from(studies).where(eq(studies.studyInstanceUid, studyInstanceUid)).get();
  return Boolean(study && caller.user.groups.some((g) => g.id === study.owner));
}
