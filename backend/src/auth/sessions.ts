import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { Tx } from '../db/client.js';
import { sessions, users } from '../db/schema.js';
import type { AppDeps, SessionUser } from '../lib/context.js';
import { serviceUnavailable } from '../lib/errors.js';

export const SESSION_COOKIE = 'pd_session';

type StoredSession = { sessionId: string; userId: string };

// Only a hash of the cookie value is stored, so a Redis dump cannot be replayed as cookies.
const redisKey = (token: string) => `pd:session:${createHash('sha256').update(token).digest('hex')}`;

/** Creates the session row inside the caller's transaction; returns the token to put in the cookie. */
export function insertSessionRow(tx: Tx, input: { userId: string; ip: string | null; userAgent: string | null; ttlSeconds: number }) {
  const now = Date.now();
  const sessionId = randomUUID();
  tx.insert(sessions)
    .values({
      id: sessionId,
      userId: input.userId,
      lastSeenAt: new Date(now),
      expiresAt: new Date(now + input.ttlSeconds * 1000),
      ip: input.ip,
      userAgent: input.userAgent?.slice(0, 512) ?? null,
    })
    .run();
  return { sessionId, token: randomBytes(32).toString('base64url') };
}

export async function storeSessionToken(deps: AppDeps, token: string, session: StoredSession): Promise<void> {
  try {
    await deps.redis.set(redisKey(token), JSON.stringify(session), 'EX', deps.config.sessionTtlSeconds);
  } catch (error) {
    deps.log.error({ err: error }, 'redis unavailable while storing a session');
    throw serviceUnavailable('Sign-in is unavailable right now (session store unreachable). Try again shortly.');
  }
}

/**
 * Resolves a cookie token to its user. Fails closed: when Redis cannot be read the
 * caller is treated as signed out rather than trusted.
 */
export async function resolveSession(deps: AppDeps, token: string | undefined): Promise<{ sessionId: string; user: SessionUser } | null> {
  if (!token || token.length > 128) return null;
  let raw: string | null;
  try {
    raw = await deps.redis.get(redisKey(token));
  } catch (error) {
    deps.log.warn({ err: error }, 'redis unavailable while resolving a session');
    return null;
  }
  if (!raw) return null;
  const stored = JSON.parse(raw) as StoredSession;
  const row = deps.db
    .select({ user: users, revokedAt: sessions.revokedAt, expiresAt: sessions.expiresAt })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(sessions.id, stored.sessionId))
    .get();
  if (!row || row.revokedAt || row.expiresAt.getTime() < Date.now() || !row.user.isActive) return null;
  const { id, email, displayName, role, mustChangePassword } = row.user;
  return { sessionId: stored.sessionId, user: { id, email, displayName, role, mustChangePassword } };
}

export function markSessionRevoked(tx: Tx, sessionId: string): void {
  tx.update(sessions).set({ revokedAt: new Date() }).where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt))).run();
}

export async function forgetSessionToken(deps: AppDeps, token: string): Promise<void> {
  await deps.redis.del(redisKey(token));
}
