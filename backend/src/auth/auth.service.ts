import { z } from '@hono/zod-openapi';
import { and, desc, eq, gt, isNull } from 'drizzle-orm';
import { writeAudit, actorOf } from '../audit/audit.service.js';
import { sessions, users } from '../db/schema.js';
import type { RequestCtx, SessionUser } from '../lib/context.js';
import { AppError, notFound, unauthorized } from '../lib/errors.js';
import { beginAttempt, clearFailures, isLocked, recordFailure } from './lockout.js';
import { hashPassword, needsRehash, timingDummyHash, verifyPassword } from './password.js';
import { passwordProblem } from './password-policy.js';
import { loadUser } from './principal.js';
import {
  activateSession,
  activeSessionIdsOf,
  deactivateSessions,
  insertSessionRow,
  markSessionRevoked,
  rotateRefreshToken,
  touchSession,
  type IssuedTokens,
} from './sessions.js';

export const loginInputSchema = z
  .object({
    email: z.string().trim().max(254).pipe(z.email()),
    password: z.string().min(1).max(1024),
  })
  .openapi('LoginInput');

export const changePasswordInputSchema = z
  .object({ currentPassword: z.string().min(1).max(1024), newPassword: z.string().min(1).max(1024) })
  .openapi('ChangePasswordInput');

const wrongCredentials = () => new AppError(401, 'invalid_credentials', 'E-mail or password is incorrect.');

export function requireUser(ctx: RequestCtx): SessionUser {
  if (ctx.user) return ctx.user;
  if (ctx.authProblem) throw new AppError(ctx.authProblem.status, ctx.authProblem.code, ctx.authProblem.message);
  throw unauthorized();
}

function requireSessionId(ctx: RequestCtx): string {
  requireUser(ctx);
  if (ctx.credential?.via !== 'session') throw new AppError(400, 'session_required', 'This needs a signed-in browser session, not an API token.');
  return ctx.credential.sessionId;
}

/** Verifies the password and opens a session. Answers never tell whether the e-mail exists. */
export async function loginUser({ ctx, input }: { ctx: RequestCtx; input: z.infer<typeof loginInputSchema> }): Promise<{ tokens: IssuedTokens; user: SessionUser }> {
  const email = input.email.toLowerCase();
  await beginAttempt(ctx, email, ctx.ip);
  const user = ctx.db.select().from(users).where(eq(users.email, email)).get();
  const passwordOk = await verifyPassword(user?.passwordHash ?? (await timingDummyHash()), input.password);

  if (!user || !passwordOk || !user.isActive) {
    await recordFailure(ctx, email, ctx.ip);
    const lockedNow = await isLocked(ctx, email);
    writeAudit(ctx.db, actorOf(ctx, user ?? null), {
      action: lockedNow ? 'auth.lockout' : 'auth.login',
      outcome: 'failure',
      targetType: 'user',
      ...(user ? { targetId: user.id } : {}),
      details: { email, reason: !user ? 'unknown_email' : !passwordOk ? 'wrong_password' : 'account_disabled' },
    });
    throw wrongCredentials();
  }

  await clearFailures(ctx, email);
  const rehashed = needsRehash(user.passwordHash) ? await hashPassword(input.password) : null;
  const sessionId = ctx.db.transaction((tx) => {
    if (rehashed) tx.update(users).set({ passwordHash: rehashed, updatedAt: new Date() }).where(eq(users.id, user.id)).run();
    const id = insertSessionRow(tx, { userId: user.id, ip: ctx.ip, userAgent: ctx.userAgent, ttlSeconds: ctx.config.sessionTtlSeconds });
    writeAudit(tx, actorOf(ctx, user), { action: 'auth.login', outcome: 'success', targetType: 'session', targetId: id, ...(rehashed ? { details: { passwordRehashed: true } } : {}) });
    return id;
  });
  try {
    const tokens = await activateSession(ctx, { sessionId, userId: user.id });
    return { tokens, user: loadUser(ctx, user.id)! };
  } catch (error) {
    // The session row must not outlive tokens nobody holds.
    ctx.db.transaction((tx) => markSessionRevoked(tx, sessionId));
    throw error;
  }
}

/** Swaps a refresh token for new tokens; a replayed one ends its whole session family. */
export async function refreshSession({ ctx, input }: { ctx: RequestCtx; input: { refreshToken: string | undefined } }): Promise<{ tokens: IssuedTokens; user: SessionUser }> {
  const expired = () => new AppError(401, 'refresh_invalid', 'Your session has ended. Sign in again.');
  if (!input.refreshToken || input.refreshToken.length > 128) throw expired();
  const outcome = await rotateRefreshToken(ctx, input.refreshToken);
  if (outcome.kind === 'invalid') throw expired();
  if (outcome.kind === 'concurrent') throw new AppError(409, 'refresh_in_progress', 'Another tab just refreshed this session; retry the request.');
  if (outcome.kind === 'reused') {
    ctx.db.transaction((tx) => {
      markSessionRevoked(tx, outcome.sessionId);
      writeAudit(tx, { ...actorOf(ctx, null), userId: outcome.userId }, { action: 'session.revoke', outcome: 'denied', targetType: 'session', targetId: outcome.sessionId, details: { reason: 'refresh_token_reuse' } });
    });
    await deactivateSessions(ctx, [outcome.sessionId]);
    throw new AppError(401, 'refresh_reused', 'This sign-in was used from somewhere else, so it was ended for your safety. Sign in again.');
  }
  const user = loadUser(ctx, outcome.userId);
  if (!user) {
    await deactivateSessions(ctx, [outcome.sessionId]);
    throw expired();
  }
  ctx.db.transaction((tx) => touchSession(tx, outcome.sessionId, ctx.config.sessionTtlSeconds));
  return { tokens: outcome.tokens, user };
}

async function revokeSessions(ctx: RequestCtx, sessionIds: string[], reason: string, targetUserId: string): Promise<void> {
  ctx.db.transaction((tx) => {
    for (const id of sessionIds) markSessionRevoked(tx, id);
    writeAudit(tx, actorOf(ctx, ctx.user), { action: 'session.revoke', outcome: 'success', targetType: 'user', targetId: targetUserId, details: { reason, sessions: sessionIds } });
  });
  await deactivateSessions(ctx, sessionIds);
}

export async function logout({ ctx }: { ctx: RequestCtx }): Promise<void> {
  const sessionId = requireSessionId(ctx);
  ctx.db.transaction((tx) => {
    markSessionRevoked(tx, sessionId);
    writeAudit(tx, actorOf(ctx, ctx.user), { action: 'auth.logout', outcome: 'success', targetType: 'session', targetId: sessionId });
  });
  await deactivateSessions(ctx, [sessionId]);
}

export async function logoutEverywhere({ ctx }: { ctx: RequestCtx }): Promise<void> {
  const user = requireUser(ctx);
  const ids = ctx.db.transaction((tx) => activeSessionIdsOf(tx, user.id));
  await revokeSessions(ctx, ids, 'logout_everywhere', user.id);
}

export async function changePassword({ ctx, input }: { ctx: RequestCtx; input: z.infer<typeof changePasswordInputSchema> }): Promise<void> {
  const sessionUser = requireUser(ctx);
  const user = ctx.db.select().from(users).where(eq(users.id, sessionUser.id)).get()!;
  if (!(await verifyPassword(user.passwordHash, input.currentPassword))) {
    writeAudit(ctx.db, actorOf(ctx, sessionUser), { action: 'user.change_password', outcome: 'failure', targetType: 'user', targetId: user.id, details: { reason: 'wrong_current_password' } });
    throw new AppError(400, 'wrong_current_password', 'The current password is not correct.');
  }
  const problem = passwordProblem(input.newPassword, { minLength: ctx.config.passwordMinLength, email: user.email });
  if (problem) throw new AppError(400, 'weak_password', problem);
  if (await verifyPassword(user.passwordHash, input.newPassword)) throw new AppError(400, 'weak_password', 'The new password must differ from the current one.');
  const passwordHash = await hashPassword(input.newPassword);
  const keep = ctx.credential?.via === 'session' ? ctx.credential.sessionId : null;
  const others = ctx.db.transaction((tx) => {
    tx.update(users).set({ passwordHash, mustChangePassword: false, updatedAt: new Date() }).where(eq(users.id, user.id)).run();
    const ended = activeSessionIdsOf(tx, user.id).filter((id) => id !== keep);
    for (const id of ended) markSessionRevoked(tx, id);
    writeAudit(tx, actorOf(ctx, sessionUser), { action: 'user.change_password', outcome: 'success', targetType: 'user', targetId: user.id, details: { endedSessions: ended.length } });
    return ended;
  });
  await deactivateSessions(ctx, others);
}

export function listMySessions({ ctx }: { ctx: RequestCtx }) {
  const user = requireUser(ctx);
  const current = ctx.credential?.via === 'session' ? ctx.credential.sessionId : null;
  return ctx.db
    .select()
    .from(sessions)
    .where(and(eq(sessions.userId, user.id), isNull(sessions.revokedAt), gt(sessions.expiresAt, new Date())))
    .orderBy(desc(sessions.lastSeenAt))
    .all()
    .map((s) => ({ id: s.id, createdAt: s.createdAt.toISOString(), lastSeenAt: s.lastSeenAt.toISOString(), ip: s.ip, userAgent: s.userAgent, current: s.id === current }));
}

export async function revokeMySession({ ctx, input }: { ctx: RequestCtx; input: { sessionId: string } }): Promise<void> {
  const user = requireUser(ctx);
  const session = ctx.db.select().from(sessions).where(and(eq(sessions.id, input.sessionId), eq(sessions.userId, user.id))).get();
  if (!session || session.revokedAt) throw notFound('No such active session of yours.');
  await revokeSessions(ctx, [session.id], 'revoked_by_owner', user.id);
}
