import { z } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import { asc, eq, inArray } from 'drizzle-orm';
import { assertCan } from '../access/policy.js';
import { actorOf, writeAudit } from '../audit/audit.service.js';
import { requireUser } from '../auth/auth.service.js';
import { generatePassword, hashPassword } from '../auth/password.js';
import { activeSessionIdsOf, deactivateSessions, markSessionRevoked } from '../auth/sessions.js';
import type { Tx } from '../db/client.js';
import { groupMembers, groups, roles, users, type Role } from '../db/schema.js';
import type { RequestCtx } from '../lib/context.js';
import { AppError, badRequest, notFound } from '../lib/errors.js';

export const createUserInputSchema = z
  .object({
    email: z.string().trim().max(254).pipe(z.email()),
    displayName: z.string().trim().min(1).max(200),
    role: z.enum(roles),
    groupIds: z.array(z.uuid()).max(100).default([]),
  })
  .openapi('CreateUserInput');

export const updateUserInputSchema = z
  .object({
    displayName: z.string().trim().min(1).max(200).optional(),
    role: z.enum(roles).optional(),
    isActive: z.boolean().optional(),
    groupIds: z.array(z.uuid()).max(100).optional(),
  })
  .refine((v) => Object.keys(v).length > 0, 'Give at least one of displayName, role, isActive, groupIds.')
  .openapi('UpdateUserInput');

export type AdminUserView = { id: string; email: string; displayName: string; role: Role; isActive: boolean; mustChangePassword: boolean; createdAt: string; groups: { id: string; name: string }[] };

export function viewUsers(tx: Pick<Tx, 'select'>, userIds?: string[]): AdminUserView[] {
  const rows = (userIds ? tx.select().from(users).where(inArray(users.id, userIds)) : tx.select().from(users)).orderBy(asc(users.email)).all();
  const memberships = tx.select({ userId: groupMembers.userId, id: groups.id, name: groups.name }).from(groupMembers).innerJoin(groups, eq(groups.id, groupMembers.groupId)).all();
  return rows.map((u) => ({
    id: u.id,
    email: u.email,
    displayName: u.displayName,
    role: u.role,
    isActive: u.isActive,
    mustChangePassword: u.mustChangePassword,
    createdAt: u.createdAt.toISOString(),
    groups: memberships.filter((m) => m.userId === u.id).map(({ id, name }) => ({ id, name })),
  }));
}

export function assertGroupsExist(tx: Pick<Tx, 'select'>, groupIds: string[]): void {
  if (!groupIds.length) return;
  const found = tx.select({ id: groups.id, kind: groups.kind, name: groups.name }).from(groups).where(inArray(groups.id, groupIds)).all();
  const missing = groupIds.filter((id) => !found.some((g) => g.id === id));
  if (missing.length) throw badRequest(`Unknown group id(s): ${missing.join(', ')}.`);
  // The inbox stays without members, so what lands there is seen by admins only.
  const inbox = found.find((g) => g.kind === 'inbox');
  if (inbox) throw badRequest(`Nobody can be a member of ${inbox.name}: it collects unclaimed studies for admins to assign.`);
}

export function setMemberships(tx: Tx, userId: string, groupIds: string[]): void {
  tx.delete(groupMembers).where(eq(groupMembers.userId, userId)).run();
  for (const groupId of new Set(groupIds)) tx.insert(groupMembers).values({ groupId, userId }).run();
}

export function listUsers({ ctx }: { ctx: RequestCtx }): AdminUserView[] {
  assertCan(ctx, 'admin.users');
  return viewUsers(ctx.db);
}

/** Creates an account with a generated password, shown once; it must be changed at first sign-in. */
export async function createUser({ ctx, input }: { ctx: RequestCtx; input: z.infer<typeof createUserInputSchema> }) {
  assertCan(ctx, 'admin.users');
  const email = input.email.toLowerCase();
  const password = generatePassword();
  const passwordHash = await hashPassword(password);
  const user = ctx.db.transaction((tx) => {
    if (tx.select({ id: users.id }).from(users).where(eq(users.email, email)).get()) throw new AppError(409, 'email_taken', `An account for ${email} already exists.`);
    assertGroupsExist(tx, input.groupIds);
    const id = randomUUID();
    tx.insert(users).values({ id, email, displayName: input.displayName, role: input.role, passwordHash, mustChangePassword: true }).run();
    setMemberships(tx, id, input.groupIds);
    writeAudit(tx, actorOf(ctx, ctx.user), { action: 'user.create', outcome: 'success', targetType: 'user', targetId: id, details: { email, role: input.role, groupIds: input.groupIds } });
    return viewUsers(tx, [id])[0]!;
  });
  return { user, password };
}

export async function updateUser({ ctx, input }: { ctx: RequestCtx; input: { userId: string; changes: z.infer<typeof updateUserInputSchema> } }) {
  assertCan(ctx, 'admin.users');
  const actor = requireUser(ctx);
  const { changes } = input;
  if (input.userId === actor.id && (changes.isActive === false || (changes.role && changes.role !== 'admin'))) {
    throw new AppError(409, 'cannot_demote_self', 'You cannot disable your own account or remove your own admin role; ask another admin.');
  }
  const { view, endedSessions } = ctx.db.transaction((tx) => {
    const existing = tx.select().from(users).where(eq(users.id, input.userId)).get();
    if (!existing) throw notFound('No such user.');
    if (changes.groupIds) assertGroupsExist(tx, changes.groupIds);
    const { groupIds, ...fields } = changes;
    if (Object.keys(fields).length) tx.update(users).set({ ...fields, updatedAt: new Date() }).where(eq(users.id, input.userId)).run();
    if (groupIds) setMemberships(tx, input.userId, groupIds);
    // Disabling ends every session at once, not when access tokens would expire.
    const ended = changes.isActive === false ? activeSessionIdsOf(tx, input.userId) : [];
    for (const id of ended) markSessionRevoked(tx, id);
    writeAudit(tx, actorOf(ctx, actor), { action: 'user.update', outcome: 'success', targetType: 'user', targetId: input.userId, details: { changes, endedSessions: ended.length } });
    return { view: viewUsers(tx, [input.userId])[0]!, endedSessions: ended };
  });
  await deactivateSessions(ctx, endedSessions);
  return view;
}
