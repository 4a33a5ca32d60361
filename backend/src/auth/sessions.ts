import { randomUUID } from 'node:crypto';
import { and, eq, gt, isNull } from 'drizzle-orm';
import type { Tx } from '../db/client.js';
import { sessions } from '../db/schema.js';
import type { AppDeps } from '../lib/context.js';
import { AppError, serviceUnavailable } from '../lib/errors.js';
import { randomSecret, sha256, signAccessToken } from './tokens.js';

export const ACCESS_COOKIE = 'pd_access';
export const REFRESH_COOKIE = 'pd_refresh';
export const SHARE_COOKIE = 'pd_share';

/** Two tabs may refresh with the same token at once; within this window that is not theft. */
const CONCURRENT_REFRESH_GRACE_MS = 10_000;

const activeKey = (sessionId: string) => `pd:sess:${sessionId}`;
const refreshKey = (token: string) => `pd:refresh:${sha256(token)}`;
const refreshUsedKey = (token: string) => `pd:refresh-used:${sha256(token)}`;

type RefreshState = { sessionId: string; userId: string };
export type IssuedTokens = { accessToken: string; refreshToken: string };

const storeDown = (error: unknown, deps: AppDeps): never => {
  deps.log.error({ err: error }, 'session store (redis) unavailable');
  throw serviceUnavailable('Sign-in is unavailable right now (session store unreachable). Try again shortly.');
};

/** Inserts the session row (the refresh-token family) inside the caller's transaction. */
export function insertSessionRow(tx: Tx, input: { userId: string; ip: string | null; userAgent: string | null; ttlSeconds: number }): string {
  const now = Date.now();
  const sessionId = randomUUID();
  tx.insert(sessions)
    .values({ id: sessionId, userId: input.userId, lastSeenAt: new Date(now), expiresAt: new Date(now + input.ttlSeconds * 1000), ip: input.ip, userAgent: input.userAgent?.slice(0, 512) ?? null })
    .run();
  return sessionId;
}

/** Activates a session in Redis and issues its first access and refresh tokens. */
export async function activateSession(deps: AppDeps, session: { sessionId: string; userId: string }): Promise<IssuedTokens> {
  const refreshToken = randomSecret();
  const ttl = deps.config.sessionTtlSeconds;
  try {
    await deps.redis
      .multi()
      .set(activeKey(session.sessionId), session.userId, 'EX', ttl)
      .set(refreshKey(refreshToken), JSON.stringify(session satisfies RefreshState), 'EX', ttl)
      .exec();
  } catch (error) {
    storeDown(error, deps);
  }
  return { refreshToken, accessToken: await signAccessToken(deps.config.jwtSecret, session, deps.config.accessTokenTtlSeconds) };
}

export type RefreshOutcome =
  | { kind: 'rotated'; sessionId: string; userId: string; tokens: IssuedTokens }
  | { kind: 'invalid' }
  | { kind: 'concurrent' }
  | { kind: 'reused'; sessionId: string; userId: string };

/**
 * Rotates a refresh token: each one works once. Presenting a spent token again (outside
 * a short window for two tabs refreshing together) means it was copied: the caller
 * revokes the whole session family.
 */
export async function rotateRefreshToken(deps: AppDeps, refreshToken: string): Promise<RefreshOutcome> {
  let raw: string | null;
  let firstUse: string | null;
  try {
    raw = await deps.redis.get(refreshKey(refreshToken));
    if (!raw) return { kind: 'invalid' };
    const ttl = Math.max(await deps.redis.ttl(refreshKey(refreshToken)), 1);
    // SET NX: exactly one caller ever wins a given refresh token.
    firstUse = await deps.redis.set(refreshUsedKey(refreshToken), String(Date.now()), 'EX', ttl, 'NX');
  } catch (error) {
    return storeDown(error, deps);
  }
  const state = JSON.parse(raw) as RefreshState;
  if (firstUse !== 'OK') {
    const usedAt = Number(await deps.redis.get(refreshUsedKey(refreshToken)).catch(() => '0'));
    if (Date.now() - usedAt < CONCURRENT_REFRESH_GRACE_MS) return { kind: 'concurrent' };
    return { kind: 'reused', ...state };
  }
  if (!(await isSessionActive(deps, state.sessionId))) return { kind: 'invalid' };
  const tokens = await activateSession(deps, state);
  return { kind: 'rotated', ...state, tokens };
}

/** Whether a session is still live. Throws 503 when Redis cannot say: never assume yes. */
export async function isSessionActive(deps: AppDeps, sessionId: string): Promise<boolean> {
  try {
    return (await deps.redis.exists(activeKey(sessionId))) === 1;
  } catch (error) {
    deps.log.warn({ err: error }, 'redis unavailable while checking a session');
    throw new AppError(503, 'session_store_unavailable', 'Sessions cannot be checked right now (session store unreachable). Try again shortly.');
  }
}

export function markSessionRevoked(tx: Tx, sessionId: string): void {
  tx.update(sessions).set({ revokedAt: new Date() }).where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt))).run();
}

/** Ends sessions in Redis at once; their access tokens stop working on the next request. */
export async function deactivateSessions(deps: AppDeps, sessionIds: string[]): Promise<void> {
  if (!sessionIds.length) return;
  await deps.redis.del(...sessionIds.map(activeKey));
}

export function activeSessionIdsOf(tx: Tx, userId: string): string[] {
  return tx
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, new Date())))
    .all()
    .map((row) => row.id);
}

export function touchSession(tx: Tx, sessionId: string, ttlSeconds: number): void {
  const now = Date.now();
  tx.update(sessions).set({ lastSeenAt: new Date(now), expiresAt: new Date(now + ttlSeconds * 1000) }).where(eq(sessions.id, sessionId)).run();
}
