import { Readable } from 'node:stream';
import { eq } from 'drizzle-orm';
import { accessibleStudies, assertCan, canReadStudy } from '../access/policy.js';
import { actorOf, writeAudit } from '../audit/audit.service.js';
import { requireUser } from '../auth/auth.service.js';
import { groups, studies } from '../db/schema.js';
import type { RequestCtx } from '../lib/context.js';
import { AppError, forbidden, notFound, unauthorized } from '../lib/errors.js';
import { syncStudy } from '../studies/registry.service.js';
import { StudyClaims } from '../studies/study-claims.js';
import { archiveUnavailable, boundaryOf, isArchiveUnreachable, storeParts, type StoredPart } from './stow.js';

export type QidoLevel = 'studies' | 'series' | 'instances';
type DicomJson = Record<string, { vr?: string; Value?: unknown[] }>;

const STUDY_UID = '0020000D';
// Orthanc accepts a comma-separated UID list; past this many the URI gets too long and
// we filter Orthanc's full answer ourselves instead.
const MAX_UIDS_IN_QUERY = 150;

/** Who may use DICOMweb at all: a signed-in user, an API token, or a share-link holder. */
function requireDicomwebCaller(ctx: RequestCtx): void {
  if (!ctx.user && ctx.credential?.via !== 'share') {
    if (ctx.authProblem) throw new AppError(ctx.authProblem.status, ctx.authProblem.code, ctx.authProblem.message);
    throw unauthorized('Sign in to Preview-DICOM to use DICOMweb.');
  }
  if (ctx.user?.mustChangePassword) throw new AppError(403, 'password_change_required', 'Change your password before doing anything else.');
}

const uidOf = (item: DicomJson): string | undefined => item[STUDY_UID]?.Value?.[0] as string | undefined;

/** Orthanc's answer as JSON text. */
async function orthancQidoText(ctx: RequestCtx, level: QidoLevel, query: URLSearchParams, forwarded: string): Promise<string> {
  const response = await ctx.orthanc.raw('GET', `/dicom-web/${level}?${query}`, { headers: { accept: 'application/dicom+json', forwarded } });
  const text = await response.body.text();
  if (response.statusCode === 400) throw new AppError(400, 'bad_query', `Orthanc refused this search: ${text.slice(0, 200)}`);
  if (response.statusCode >= 400) throw new AppError(502, 'upstream_error', `The archive answered ${response.statusCode} to the search.`);
  return text || '[]';
}

async function orthancQido(ctx: RequestCtx, level: QidoLevel, query: URLSearchParams, forwarded: string): Promise<DicomJson[]> {
  return JSON.parse(await orthancQidoText(ctx, level, query, forwarded)) as DicomJson[];
}

/**
 * A search narrowed to what the caller may see. Admins' queries go to Orthanc unchanged;
 * others' get StudyInstanceUID set to their visible studies (those asked for, if any), so
 * Orthanc applies limit/offset to that set and OHIF's pagination stays right. Past
 * MAX_UIDS_IN_QUERY studies the list would not fit a URI: Orthanc's full answer is filtered here.
 */
type Restriction =
  | { kind: 'query'; query: URLSearchParams; visible: Set<string> | null }
  | { kind: 'nothing-visible' }
  | { kind: 'filter-here'; query: URLSearchParams; allowed: Set<string> };

function restrictSearch(ctx: RequestCtx, query: URLSearchParams): Restriction {
  const access = accessibleStudies(ctx.db, ctx);
  if (access.all) return { kind: 'query', query, visible: null };
  const restricted = new URLSearchParams(query);
  const asked = restricted.get('StudyInstanceUID') ?? restricted.get(STUDY_UID);
  restricted.delete(STUDY_UID);
  let allowed = [...access.uids];
  if (asked) {
    const askedSet = new Set(asked.split(/[,\\]/).map((u) => u.trim()).filter(Boolean));
    allowed = allowed.filter((uid) => askedSet.has(uid));
  }
  if (!allowed.length) return { kind: 'nothing-visible' };
  if (allowed.length > MAX_UIDS_IN_QUERY) {
    restricted.delete('StudyInstanceUID');
    return { kind: 'filter-here', query: restricted, allowed: new Set(allowed) };
  }
  restricted.set('StudyInstanceUID', allowed.join(','));
  return { kind: 'query', query: restricted, visible: access.uids };
}

/** QIDO-RS search limited to what the caller may see, as DICOM JSON text (Orthanc's, unparsed, for admins). */
export async function searchDicomweb({ ctx, input }: { ctx: RequestCtx; input: { level: QidoLevel; query: URLSearchParams; forwarded: string } }): Promise<string> {
  requireDicomwebCaller(ctx);
  assertCan(ctx, 'study.read');
  const plan = restrictSearch(ctx, input.query);
  if (plan.kind === 'nothing-visible') return '[]';
  if (plan.kind === 'query') {
    const text = await orthancQidoText(ctx, input.level, plan.query, input.forwarded);
    const visible = plan.visible;
    return visible ? JSON.stringify((JSON.parse(text) as DicomJson[]).filter((item) => visible.has(uidOf(item) ?? ''))) : text;
  }
  const query = plan.query;
  const limit = Number(query.get('limit') ?? 0);
  const offset = Number(query.get('offset') ?? 0);
  query.delete('limit');
  query.delete('offset');
  const visible = (await orthancQido(ctx, input.level, query, input.forwarded)).filter((item) => plan.allowed.has(uidOf(item) ?? ''));
  return JSON.stringify(visible.slice(offset, limit > 0 ? offset + limit : undefined));
}

export type StudySearchScope = { kind: 'orthanc'; query: string } | { kind: 'nothing-visible' } | { kind: 'filter-here' };

/**
 * nginx asks this before a study search (GET /dicom-web/studies?...): the query Orthanc is to
 * be sent, narrowed to the caller's studies. Orthanc's answer then goes straight back to the
 * caller; the backend only filters answers itself when the list of studies is too long.
 */
export function scopeStudySearch({ ctx, input }: { ctx: RequestCtx; input: { originalUri: string } }): StudySearchScope {
  requireDicomwebCaller(ctx);
  assertCan(ctx, 'study.read');
  const match = /^\/dicom-web\/studies(?:\?(.*))?$/s.exec(input.originalUri);
  if (!match) throw notFound('Only study searches (/dicom-web/studies?...) are scoped here.');
  const plan = restrictSearch(ctx, new URLSearchParams(match[1] ?? ''));
  if (plan.kind === 'query') return { kind: 'orthanc', query: plan.query.toString() };
  return { kind: plan.kind };
}

/** nginx asks this before streaming WADO-RS (metadata, frames, rendered, thumbnails) straight from Orthanc. */
export async function authorizeStudyRequest({ ctx, input }: { ctx: RequestCtx; input: { originalUri: string } }): Promise<void> {
  requireDicomwebCaller(ctx);
  const match = /^\/dicom-web\/studies\/([0-9.]{1,64})(?:[/?]|$)/.exec(input.originalUri);
  // Unknown shapes are refused rather than waved through.
  if (!match) throw notFound('No such study.');
  const studyInstanceUid = match[1]!;
  if (!canReadStudy(ctx.db, ctx, studyInstanceUid)) throw notFound('No such study.');
  await auditFirstView(ctx, studyInstanceUid);
}

/** One audit row per study and session (or token, or share link), not one per frame. */
async function auditFirstView(ctx: RequestCtx, studyInstanceUid: string): Promise<void> {
  const credential = ctx.credential!;
  const who = credential.via === 'session' ? credential.sessionId : credential.via === 'token' ? credential.tokenId : credential.linkId;
  const first = await ctx.redis.set(`pd:viewed:${who}:${studyInstanceUid}`, '1', 'EX', ctx.config.sessionTtlSeconds, 'NX').catch(() => 'OK');
  if (first !== 'OK') return;
  writeAudit(ctx.db, actorOf(ctx, ctx.user), { action: 'study.view', outcome: 'success', targetType: 'study', targetId: studyInstanceUid, details: { via: credential.via, ...(credential.via === 'share' ? { linkId: credential.linkId } : {}) } });
}

function ownerGroupFor(ctx: RequestCtx, requested: string | undefined): string {
  const user = requireUser(ctx);
  if (requested) {
    const member = user.groups.some((g) => g.id === requested);
    const exists = ctx.db.select({ id: groups.id }).from(groups).where(eq(groups.id, requested)).get();
    if (!exists || (!member && user.role !== 'admin')) throw forbidden('You may only store into one of your own groups (X-Owner-Group).');
    return requested;
  }
  const first = user.groups[0];
  if (!first) throw forbidden('You are not in any group, so stored studies would have no owner. Ask an admin to add you to a group.');
  return first.id;
}

type StudyVerdict = { kind: 'ok' } | { kind: 'refused'; reason: string };

const item = (vr: string, value: unknown) => ({ vr, Value: [value] });
const STOW_PROCESSING_FAILURE = 0x0110;
const STOW_CANNOT_UNDERSTAND = 0xc000;

/**
 * STOW-RS: each part streams to Orthanc as its own instance; then every study touched is
 * checked. Instances landing in a study the caller may not write to are removed again
 * (only those this request added) and reported failed; new studies are entered in the
 * registry under the caller's group. The answer is a STOW-RS response (200, 202 or 409);
 * a broken multipart body is 400 bad_multipart (the instances received in full before the
 * break are kept and listed in its details), an unreachable Orthanc 503 orthanc_unavailable.
 */
export async function storeDicomweb({ ctx, input }: { ctx: RequestCtx; input: { body: ReadableStream<Uint8Array> | null; contentType: string; targetStudyUid?: string; ownerGroupId?: string; baseUrl: string } }) {
  requireDicomwebCaller(ctx);
  const user = requireUser(ctx);
  assertCan(ctx, 'study.import', 'Your role may not store studies (STOW-RS).');
  const ownerGroupId = ownerGroupFor(ctx, input.ownerGroupId);
  const boundary = boundaryOf(input.contentType);
  if (!boundary) throw new AppError(400, 'bad_multipart', 'The Content-Type has no boundary: send multipart/related; type="application/dicom"; boundary=...');
  if (!input.body) throw new AppError(400, 'empty_body', 'STOW-RS needs a multipart/related body of DICOM instances.');

  const claims = new StudyClaims(ctx, ctx, { ownerGroupId, source: 'stow', createdBy: user.id, actor: actorOf(ctx, user), via: 'stow-rs' });
  const outcome = await storeParts(ctx.orthanc, Readable.fromWeb(input.body as import('node:stream/web').ReadableStream), boundary, (answer) => claims.noteStored(answer), (post) => claims.track(post));
  if (outcome.unavailable) throw archiveUnavailable();
  let result: StowResult;
  try {
    result = await settleStored(ctx, user, claims, outcome.parts, { ...input, ownerGroupId });
  } catch (error) {
    if (isArchiveUnreachable(error)) throw archiveUnavailable();
    throw error;
  }
  if (outcome.broken) {
    // What was received in full before the break is stored and registered (and listed in
    // details, as a STOW-RS response); the part cut off never reached the archive.
    const report = JSON.parse(result.body) as { '00081199'?: { Value: unknown[] } };
    const kept = report['00081199']?.Value.length ?? 0;
    throw new AppError(
      400,
      'bad_multipart',
      `The multipart/related body is broken: ${outcome.broken}. ${kept ? `The ${kept} instance(s) received in full before that were stored (see details); nothing after them was.` : 'Nothing was stored.'} Send the body again, ending it with its closing boundary (--boundary--).`,
      report,
    );
  }
  return result;
}

type StowResult = { status: number; body: string; warning: string | null };

async function settleStored(
  ctx: RequestCtx,
  user: ReturnType<typeof requireUser>,
  claims: StudyClaims,
  parts: StoredPart[],
  input: { targetStudyUid?: string; ownerGroupId: string; baseUrl: string },
): Promise<StowResult> {
  const ownerGroupId = input.ownerGroupId;
  const stored = parts.filter((p): p is Extract<StoredPart, { ok: true }> => p.ok);
  const verdicts = new Map<string, StudyVerdict>();
  for (const part of stored) {
    if (verdicts.has(part.studyInstanceUid)) continue;
    if (input.targetStudyUid && part.studyInstanceUid !== input.targetStudyUid) {
      verdicts.set(part.studyInstanceUid, { kind: 'refused', reason: 'the instance belongs to another study than the one in the URL' });
      continue;
    }
    const access = await claims.access(part.orthancStudyId);
    verdicts.set(part.studyInstanceUid, access.allowed ? { kind: 'ok' } : { kind: 'refused', reason: access.reason });
  }

  const referenced: Record<string, unknown>[] = [];
  const failed: Record<string, unknown>[] = parts.filter((p) => !p.ok).map(() => ({ '00081197': item('US', STOW_CANNOT_UNDERSTAND) }));
  for (const part of stored) {
    const verdict = verdicts.get(part.studyInstanceUid)!;
    if (verdict.kind === 'refused') {
      if (part.newlyStored) await ctx.orthanc.raw('DELETE', `/instances/${part.orthancId}`).then((r) => r.body.dump());
      failed.push({ '00081150': item('UI', part.sopClassUid), '00081155': item('UI', part.sopInstanceUid), '00081197': item('US', STOW_PROCESSING_FAILURE) });
    } else {
      referenced.push({
        '00081150': item('UI', part.sopClassUid),
        '00081155': item('UI', part.sopInstanceUid),
        '00081190': item('UR', `${input.baseUrl}/dicom-web/studies/${part.studyInstanceUid}/series/${part.seriesInstanceUid}/instances/${part.sopInstanceUid}`),
      });
    }
  }

  // Counts in the registry follow what this request added (or removed again).
  for (const orthancStudyId of new Set(stored.map((p) => p.orthancStudyId))) await syncStudy(ctx, orthancStudyId);
  ctx.db.transaction((tx) => {
    for (const [uid, verdict] of verdicts) {
      writeAudit(tx, actorOf(ctx, user), {
        action: 'study.import',
        outcome: verdict.kind === 'refused' ? 'denied' : 'success',
        targetType: 'study',
        targetId: uid,
        details: { via: 'stow-rs', instances: stored.filter((p) => p.studyInstanceUid === uid).length, ownerGroupId, ...(verdict.kind === 'refused' ? { reason: verdict.reason } : {}) },
      });
    }
  });

  const answer: Record<string, unknown> = {};
  const storedStudies = [...verdicts].filter(([, v]) => v.kind !== 'refused').map(([uid]) => uid);
  if (storedStudies.length === 1) answer['00081190'] = item('UR', `${input.baseUrl}/dicom-web/studies/${storedStudies[0]}`);
  if (referenced.length) answer['00081199'] = { vr: 'SQ', Value: referenced };
  if (failed.length) answer['00081198'] = { vr: 'SQ', Value: failed };
  const status = failed.length === 0 ? 200 : referenced.length ? 202 : 409;
  const refusals = [...verdicts.values()].filter((v): v is Extract<StudyVerdict, { kind: 'refused' }> => v.kind === 'refused').map((v) => v.reason);
  const partFailures = parts.filter((p): p is Extract<StoredPart, { ok: false }> => !p.ok).map((p) => p.reason);
  const reasons = [...new Set([...partFailures, ...refusals])];
  return { status, body: JSON.stringify(answer), warning: reasons.length ? truncate(reasons.join('; '), 2000) : null };
}

const truncate = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 3)}...` : text);
