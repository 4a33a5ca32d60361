import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { apiTokens, groupMembers, groups, shareLinks, users } from '../db/schema.js';
import { canReadStudy } from '../access/policy.js';
import type { AppDeps, Credential, RequestCtx, SessionUser } from '../lib/context.js';
import { AppError } from '../lib/errors.js';
import { ACCESS_COOKIE, isSessionActive, SHARE_COOKIE } from './sessions.js';
import { sha256, verifyAccessToken, verifyShareToken } from './tokens.js';

type Resolution = { user: SessionUser | null; credential: Credential | null; authProblem: RequestCtx['authProblem'] };

const anonymous: Resolution = { user: null, credential: null, authProblem: null };
const problem = (status: 401 | 503, code: string, message: string): Resolution => ({ user: null, credential: null, authProblem: { status, code, message } });

// Every request loads its user: the two queries are prepared once per database, not built each time.
const prepareUser = (db: Db) => db.select().from(users).where(eq(users.id, sql.placeholder('id'))).prepare();
const prepareGroups = (db: Db) =>
  db
    .select({ id: groups.id, name: groups.name })
    .from(groupMembers)
    .innerJoin(groups, eq(groups.id, groupMembers.groupId))
    .where(eq(groupMembers.userId, sql.placeholder('id')))
    .orderBy(groups.name)
    .prepare();
const preparedUserQueries = new WeakMap<Db, { user: ReturnType<typeof prepareUser>; groups: ReturnType<typeof prepareGroups> }>();
function userQueries(db: Db) {
  let queries = preparedUserQueries.get(db);
  if (!queries) {
    queries = { user: prepareUser(db), groups: prepareGroups(db) };
    preparedUserQueries.set(db, queries);
  }
  return queries;
}

/** Loads an active user with their groups, or null. */
export function loadUser(deps: AppDeps, userId: string): SessionUser | null {
  const queries = userQueries(deps.db);
  const user = queries.user.get({ id: userId });
  if (!user || !user.isActive) return null;
  const memberOf = queries.groups.all({ id: userId });
  return { id: user.id, email: user.email, displayName: user.displayName, role: user.role, mustChangePassword: user.mustChangePassword, groups: memberOf };
}

async function fromApiToken(deps: AppDeps, secret: string): Promise<Resolution> {
  const invalid = problem(401, 'invalid_token', 'The API token is not valid (unknown, revoked or expired).');
  if (!/^pdt_[A-Za-z0-9_-]{20,100}$/.test(secret)) return invalid;
  const token = deps.db.select().from(apiTokens).where(and(eq(apiTokens.tokenHash, sha256(secret)), isNull(apiTokens.revokedAt))).get();
  if (!token || token.expiresAt.getTime() <= Date.now()) return invalid;
  const user = loadUser(deps, token.userId);
  if (!user) return invalid;
  // Last use is informational; writing it at most once a minute keeps hot paths cheap.
  if (!token.lastUsedAt || Date.now() - token.lastUsedAt.getTime() > 60_000) {
    deps.db.update(apiTokens).set({ lastUsedAt: new Date() }).where(eq(apiTokens.id, token.id)).run();
  }
  return { user, credential: { via: 'token', tokenId: token.id, scope: token.scope }, authProblem: null };
}

async function fromAccessCookie(deps: AppDeps, token: string): Promise<Resolution> {
  const verified = await verifyAccessToken(deps.config.jwtSecret, token);
  if (!verified.ok) {
    return verified.reason === 'expired'
      ? problem(401, 'access_token_expired', 'Your sign-in has expired; refresh it with POST /api/auth/refresh.')
      : problem(401, 'unauthorized', 'Sign in to continue.');
  }
  // The user is read from SQLite while Redis answers (that round trip is on every request's path);
  // nothing is decided before the session store has said the session is live.
  const active = isSessionActive(deps, verified.claims.sessionId);
  active.catch(() => undefined); // awaited below; keeps the rejection handled if loadUser throws first
  const user = loadUser(deps, verified.claims.userId);
  try {
    if (!(await active)) return problem(401, 'session_ended', 'This session has ended. Sign in again.');
  } catch (error) {
    if (error instanceof AppError) return problem(503, error.code, error.message);
    throw error;
  }
  if (!user) return problem(401, 'session_ended', 'This session has ended. Sign in again.');
  return { user, credential: { via: 'session', sessionId: verified.claims.sessionId }, authProblem: null };
}

async function fromShareCookie(deps: AppDeps, token: string): Promise<Resolution> {
  const verified = await verifyShareToken(deps.config.jwtSecret, token);
  if (!verified.ok) return anonymous;
  const link = deps.db.select().from(shareLinks).where(eq(shareLinks.id, verified.claims.linkId)).get();
  if (!link || link.revokedAt || link.expiresAt.getTime() <= Date.now()) return anonymous;
  // A link lends its creator's sight of the study: it ends when that does (disabled, moved out, unshared).
  const creator = loadUser(deps, link.createdBy);
  if (!creator || !canReadStudy(deps.db, { user: creator, credential: null }, link.studyInstanceUid)) return anonymous;
  return { user: null, credential: { via: 'share', linkId: link.id, studyInstanceUid: link.studyInstanceUid }, authProblem: null };
}

/**
 * Who is calling: an API token (Authorization: Bearer), else the session's access
 * cookie, else a share-link cookie. Presented but unusable credentials are reported
 * in `authProblem` so the answer can say why (expired, revoked, store down).
 */
export async function resolvePrincipal(deps: AppDeps, c: Context): Promise<Resolution> {
  const authorization = c.req.header('authorization');
  if (authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    return match ? fromApiToken(deps, match[1]!) : problem(401, 'invalid_token', 'Send API tokens as "Authorization: Bearer <token>".');
  }
  const access = getCookie(c, ACCESS_COOKIE);
  if (access) {
    const resolved = await fromAccessCookie(deps, access);
    if (resolved.user || resolved.authProblem?.status === 503) return resolved;
    const share = getCookie(c, SHARE_COOKIE);
    return share ? { ...(await fromShareCookie(deps, share)), authProblem: resolved.authProblem } : resolved;
  }
  const share = getCookie(c, SHARE_COOKIE);
  return share ? fromShareCookie(deps, share) : anonymous;
}
