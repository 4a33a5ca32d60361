import { and, desc, eq, gt, isNull } from 'drizzle-orm';
import { assertCan } from '../access/policy.js';
import { actorOf, writeAudit } from '../audit/audit.service.js';
import { deactivateSessions, markSessionRevoked } from '../auth/sessions.js';
import { sessions, users } from '../db/schema.js';
import type { RequestCtx } from '../lib/context.js';
import { notFound } from '../lib/errors.js';

export function listAllSessions({ ctx, input }: { ctx: RequestCtx; input: { userId?: string } }) {
  assertCan(ctx, 'admin.sessions');
  const active = and(isNull(sessions.revokedAt), gt(sessions.expiresAt, new Date()), input.userId ? eq(sessions.userId, input.userId) : undefined);
  return ctx.db
    .select({ session: sessions, email: users.email })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(active)
    .orderBy(desc(sessions.lastSeenAt))
    .all()
    .map(({ session: s, email }) => ({ id: s.id, user: { id: s.userId, email }, createdAt: s.createdAt.toISOString(), lastSeenAt: s.lastSeenAt.toISOString(), ip: s.ip, userAgent: s.userAgent }));
}

export async function revokeAnySession({ ctx, input }: { ctx: RequestCtx; input: { sessionId: string } }) {
  assertCan(ctx, 'admin.sessions');
  ctx.db.transaction((tx) => {
    const session = tx.select().from(sessions).where(eq(sessions.id, input.sessionId)).get();
    if (!session || session.revokedAt) throw notFound('No such active session.');
    markSessionRevoked(tx, session.id);
    writeAudit(tx, actorOf(ctx, ctx.user), { action: 'session.revoke', outcome: 'success', targetType: 'session', targetId: session.id, details: { reason: 'revoked_by_admin', userId: session.userId } });
  });
  await deactivateSessions(ctx, [input.sessionId]);
}
