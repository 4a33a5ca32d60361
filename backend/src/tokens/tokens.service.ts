import { z } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import { and, desc, eq } from 'drizzle-orm';
import { actorOf, writeAudit } from '../audit/audit.service.js';
import { requireUser } from '../auth/auth.service.js';
import { randomSecret, sha256 } from '../auth/tokens.js';
import { apiTokens, tokenScopes } from '../db/schema.js';
import type { RequestCtx } from '../lib/context.js';
import { AppError, notFound } from '../lib/errors.js';

export const createTokenInputSchema = z
  .object({ name: z.string().trim().min(1).max(100), scope: z.enum(tokenScopes), expiresInDays: z.number().int().min(1).max(365) })
  .openapi('CreateTokenInput');

const view = (t: typeof apiTokens.$inferSelect) => ({
  id: t.id,
  name: t.name,
  scope: t.scope,
  prefix: t.prefix,
  createdAt: t.createdAt.toISOString(),
  expiresAt: t.expiresAt.toISOString(),
  lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
  revokedAt: t.revokedAt?.toISOString() ?? null,
});

/** API tokens act for their owner only through a browser session: a token cannot mint tokens. */
function requireBrowserSession(ctx: RequestCtx) {
  const user = requireUser(ctx);
  if (ctx.credential?.via !== 'session') throw new AppError(403, 'session_required', 'Manage API tokens from a signed-in browser session, not with a token.');
  return user;
}

export function listTokens({ ctx }: { ctx: RequestCtx }) {
  const user = requireUser(ctx);
  return ctx.db.select().from(apiTokens).where(eq(apiTokens.userId, user.id)).orderBy(desc(apiTokens.createdAt)).all().map(view);
}

export function createToken({ ctx, input }: { ctx: RequestCtx; input: z.infer<typeof createTokenInputSchema> }) {
  const user = requireBrowserSession(ctx);
  const secret = `pdt_${randomSecret(30)}`;
  return ctx.db.transaction((tx) => {
    const id = randomUUID();
    tx.insert(apiTokens)
      .values({ id, userId: user.id, name: input.name, scope: input.scope, tokenHash: sha256(secret), prefix: secret.slice(0, 10), expiresAt: new Date(Date.now() + input.expiresInDays * 86_400_000) })
      .run();
    writeAudit(tx, actorOf(ctx, user), { action: 'token.create', outcome: 'success', targetType: 'token', targetId: id, details: { name: input.name, scope: input.scope, expiresInDays: input.expiresInDays } });
    return { token: view(tx.select().from(apiTokens).where(eq(apiTokens.id, id)).get()!), secret };
  });
}

export function revokeToken({ ctx, input }: { ctx: RequestCtx; input: { tokenId: string } }) {
  const user = requireUser(ctx);
  ctx.db.transaction((tx) => {
    const token = tx.select().from(apiTokens).where(and(eq(apiTokens.id, input.tokenId), eq(apiTokens.userId, user.id))).get();
    if (!token || token.revokedAt) throw notFound('No such active token of yours.');
    tx.update(apiTokens).set({ revokedAt: new Date() }).where(eq(apiTokens.id, token.id)).run();
    writeAudit(tx, actorOf(ctx, user), { action: 'token.revoke', outcome: 'success', targetType: 'token', targetId: token.id });
  });
}
