import { z } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import { asc, count, eq } from 'drizzle-orm';
import { assertCan } from '../access/policy.js';
import { actorOf, writeAudit } from '../audit/audit.service.js';
import { groupMembers, groups, studies } from '../db/schema.js';
import type { RequestCtx } from '../lib/context.js';
import { AppError, notFound } from '../lib/errors.js';

export const groupInputSchema = z
  .object({ name: z.string().trim().min(1).max(100), description: z.string().trim().max(1000).default('') })
  .openapi('GroupInput');
export const groupUpdateSchema = z
  .object({ name: z.string().trim().min(1).max(100).optional(), description: z.string().trim().max(1000).optional() })
  .openapi('GroupUpdate');

export function listGroups({ ctx }: { ctx: RequestCtx }) {
  assertCan(ctx, 'admin.groups');
  const members = new Map(ctx.db.select({ id: groupMembers.groupId, n: count() }).from(groupMembers).groupBy(groupMembers.groupId).all().map((r) => [r.id, r.n]));
  const owned = new Map(ctx.db.select({ id: studies.ownerGroupId, n: count() }).from(studies).groupBy(studies.ownerGroupId).all().map((r) => [r.id, r.n]));
  return ctx.db
    .select()
    .from(groups)
    .orderBy(asc(groups.nameKey))
    .all()
    .map((g) => ({ id: g.id, name: g.name, description: g.description, createdAt: g.createdAt.toISOString(), memberCount: members.get(g.id) ?? 0, studyCount: owned.get(g.id) ?? 0 }));
}

const nameTaken = (name: string) => new AppError(409, 'group_name_taken', `A group named "${name}" already exists.`);

export function createGroup({ ctx, input }: { ctx: RequestCtx; input: z.infer<typeof groupInputSchema> }) {
  assertCan(ctx, 'admin.groups');
  return ctx.db.transaction((tx) => {
    if (tx.select({ id: groups.id }).from(groups).where(eq(groups.nameKey, input.name.toLowerCase())).get()) throw nameTaken(input.name);
    const id = randomUUID();
    tx.insert(groups).values({ id, name: input.name, nameKey: input.name.toLowerCase(), description: input.description }).run();
    writeAudit(tx, actorOf(ctx, ctx.user), { action: 'group.create', outcome: 'success', targetType: 'group', targetId: id, details: { name: input.name } });
    return { id, name: input.name, description: input.description };
  });
}

export function updateGroup({ ctx, input }: { ctx: RequestCtx; input: { groupId: string; changes: z.infer<typeof groupUpdateSchema> } }) {
  assertCan(ctx, 'admin.groups');
  return ctx.db.transaction((tx) => {
    const group = tx.select().from(groups).where(eq(groups.id, input.groupId)).get();
    if (!group) throw notFound('No such group.');
    const { name, description } = input.changes;
    if (name && name.toLowerCase() !== group.nameKey && tx.select({ id: groups.id }).from(groups).where(eq(groups.nameKey, name.toLowerCase())).get()) throw nameTaken(name);
    const next = { name: name ?? group.name, description: description ?? group.description };
    tx.update(groups).set({ ...next, nameKey: next.name.toLowerCase() }).where(eq(groups.id, group.id)).run();
    writeAudit(tx, actorOf(ctx, ctx.user), { action: 'group.update', outcome: 'success', targetType: 'group', targetId: group.id, details: input.changes });
    return { id: group.id, ...next };
  });
}

/** A group that still owns studies cannot go: its studies would have no tenant. */
export function deleteGroup({ ctx, input }: { ctx: RequestCtx; input: { groupId: string } }) {
  assertCan(ctx, 'admin.groups');
  ctx.db.transaction((tx) => {
    const group = tx.select().from(groups).where(eq(groups.id, input.groupId)).get();
    if (!group) throw notFound('No such group.');
    const owned = tx.select({ n: count() }).from(studies).where(eq(studies.ownerGroupId, group.id)).get()!.n;
    if (owned > 0) throw new AppError(409, 'group_in_use', `"${group.name}" owns ${owned} stud${owned === 1 ? 'y' : 'ies'}; move or delete them before deleting the group.`);
    tx.delete(groups).where(eq(groups.id, group.id)).run();
    writeAudit(tx, actorOf(ctx, ctx.user), { action: 'group.delete', outcome: 'success', targetType: 'group', targetId: group.id, details: { name: group.name } });
  });
}
