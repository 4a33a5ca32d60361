import { z } from '@hono/zod-openapi';
import { and, count, desc, eq, gte, lte, or, type SQL } from 'drizzle-orm';
import { assertCan } from '../access/policy.js';
import { auditLog } from '../db/schema.js';
import type { RequestCtx } from '../lib/context.js';
import { containsText, startsWithText } from '../lib/sql.js';

export const auditFilterSchema = z.object({
  actor: z.string().trim().max(254).optional().openapi({ description: 'user id, or part of an e-mail' }),
  action: z.string().trim().max(100).optional().openapi({ description: 'exact action (auth.login) or a prefix ending in a dot (auth.)' }),
  target: z.string().trim().max(256).optional().openapi({ description: 'part of a target id or UID' }),
  outcome: z.enum(['success', 'failure', 'denied']).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});
export type AuditFilter = z.infer<typeof auditFilterSchema>;


function whereOf(filter: AuditFilter): SQL | undefined {
  const parts: (SQL | undefined)[] = [];
  if (filter.actor) parts.push(or(eq(auditLog.actorUserId, filter.actor), containsText(auditLog.actorEmail, filter.actor.toLowerCase())));
  if (filter.action) parts.push(filter.action.endsWith('.') ? startsWithText(auditLog.action, filter.action) : eq(auditLog.action, filter.action));
  if (filter.target) parts.push(containsText(auditLog.targetId, filter.target));
  if (filter.outcome) parts.push(eq(auditLog.outcome, filter.outcome));
  if (filter.from) parts.push(gte(auditLog.at, new Date(filter.from)));
  if (filter.to) parts.push(lte(auditLog.at, new Date(filter.to)));
  return parts.length ? and(...parts) : undefined;
}

const view = (row: typeof auditLog.$inferSelect) => ({ ...row, at: row.at.toISOString() });

export function queryAudit({ ctx, input }: { ctx: RequestCtx; input: AuditFilter }) {
  assertCan(ctx, 'audit.read');
  const where = whereOf(input);
  const total = ctx.db.select({ n: count() }).from(auditLog).where(where).get()!.n;
  const entries = ctx.db.select().from(auditLog).where(where).orderBy(desc(auditLog.id)).limit(input.limit).offset(input.offset).all().map(view);
  return { entries, total };
}

const csvColumns = ['id', 'at', 'actorUserId', 'actorEmail', 'actorRole', 'ip', 'action', 'targetType', 'targetId', 'outcome', 'details', 'requestId'] as const;

/** RFC 4180 quoting, and a leading ' before = + - @ so spreadsheets do not run cell formulas. */
export function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Every matching row as CSV, in pages, so a long trail is never held in memory at once. */
export function* auditCsv({ ctx, input }: { ctx: RequestCtx; input: AuditFilter }): Generator<string> {
  assertCan(ctx, 'audit.read');
  const where = whereOf(input);
  yield `${csvColumns.join(',')}\r\n`;
  const pageSize = 1000;
  for (let offset = 0; ; offset += pageSize) {
    const rows = ctx.db.select().from(auditLog).where(where).orderBy(desc(auditLog.id)).limit(pageSize).offset(offset).all().map(view);
    for (const row of rows) yield `${csvColumns.map((column) => csvCell(row[column])).join(',')}\r\n`;
    if (rows.length < pageSize) return;
  }
}
