import { eq } from 'drizzle-orm';
import { z } from '@hono/zod-openapi';
import { users } from '../db/schema.js';
import { writeAudit } from '../audit/audit.service.js';
import type { RequestCtx, SessionUser } from '../lib/context.js';
import { AppError, unauthorized } from '../lib/errors.js';
import { hashPassword, needsRehash, timingDummyHash, verifyPassword } from './password.js';
import { forgetSessionToken, insertSessionRow, markSessionRevoked, storeSessionToken } from './sessions.js';

export const loginInputSchema = z
  .object({
    email: z.string().trim().max(254).pipe(z.email()),
    password: z.string().min(1).max(1024),
  })
  .openapi('LoginInput');

const actorOf = (ctx: RequestCtx, user: SessionUser | null) => ({
  userId: user?.id ?? null,
  role: user?.role ?? null,
  email: user?.email ?? null,
  ip: ctx.ip,
  requestId: ctx.requestId,
});

const wrongCredentials = () => new AppError(401, 'invalid_credentials', 'E-mail or password is incorrect.');

/** Verifies the password and opens a session. The answer never tells whether the e-mail exists. */
export async function loginUser({ ctx, input }: { ctx: RequestCtx; input: z.infer<typeof loginInputSchema> }) {
  const email = input.email.toLowerCase();
  const user = ctx.db.select().from(users).where(eq(users.email, email)).get();
  const passwordOk = await verifyPassword(user?.passwordHash ?? (await timingDummyHash()), input.password);

  if (!user || !passwordOk || !user.isActive) {
    writeAudit(ctx.db, actorOf(ctx, user ? { ...user } : null), {
      action: 'auth.login',
      outcome: 'failure',
      targetType: 'user',
      ...(user ? { targetId: user.id } : {}),
      details: { email, reason: !user ? 'unknown_email' : !passwordOk ? 'wrong_password' : 'account_disabled' },
    });
    throw wrongCredentials();
  }

  const rehashed = needsRehash(user.passwordHash) ? await hashPassword(input.password) : null;
  const { sessionId, token } = ctx.db.transaction((tx) => {
    if (rehashed) tx.update(users).set({ passwordHash: rehashed, updatedAt: new Date() }).where(eq(users.id, user.id)).run();
    const created = insertSessionRow(tx, { userId: user.id, ip: ctx.ip, userAgent: ctx.userAgent, ttlSeconds: ctx.config.sessionTtlSeconds });
    writeAudit(tx, actorOf(ctx, user), { action: 'auth.login', outcome: 'success', targetType: 'session', targetId: created.sessionId });
    return created;
  });
  try {
    await storeSessionToken(ctx, token, { sessionId, userId: user.id });
  } catch (error) {
    // The session row must not outlive a token nobody holds.
    ctx.db.transaction((tx) => markSessionRevoked(tx, sessionId));
    throw error;
  }
  const sessionUser: SessionUser = { id: user.id, email: user.email, displayName: user.displayName, role: user.role, mustChangePassword: user.mustChangePassword };
  return { token, user: sessionUser };
}

export async function logoutUser({ ctx, input }: { ctx: RequestCtx; input: { token: string } }) {
  if (!ctx.user || !ctx.sessionId) throw unauthorized();
  const sessionId = ctx.sessionId;
  ctx.db.transaction((tx) => {
    markSessionRevoked(tx, sessionId);
    writeAudit(tx, actorOf(ctx, ctx.user), { action: 'auth.logout', outcome: 'success', targetType: 'session', targetId: sessionId });
  });
  await forgetSessionToken(ctx, input.token).catch((error: unknown) => ctx.log.warn({ err: error }, 'could not delete session token from redis; the revoked row still blocks it'));
}
