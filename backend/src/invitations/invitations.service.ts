import { z } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import { desc, eq } from 'drizzle-orm';
import { assertCan } from '../access/policy.js';
import { assertGroupsExist, setMemberships } from '../admin/users.service.js';
import { actorOf, writeAudit } from '../audit/audit.service.js';
import { hashPassword } from '../auth/password.js';
import { passwordProblem } from '../auth/password-policy.js';
import { activateSession, insertSessionRow } from '../auth/sessions.js';
import { loadUser } from '../auth/principal.js';
import { randomSecret, sha256 } from '../auth/tokens.js';
import { invitations, roles, users } from '../db/schema.js';
import type { RequestCtx } from '../lib/context.js';
import { AppError } from '../lib/errors.js';
import { sendMail } from '../lib/mailer.js';

export const inviteInputSchema = z
  .object({ email: z.string().trim().max(254).pipe(z.email()), role: z.enum(roles), groupIds: z.array(z.uuid()).max(100).default([]) })
  .openapi('InviteInput');
export const acceptInputSchema = z
  .object({ displayName: z.string().trim().min(1).max(200), password: z.string().min(1).max(1024) })
  .openapi('AcceptInvitationInput');

const invalidInvitation = () => new AppError(404, 'invitation_invalid', 'This invitation link is not valid: it was used already, withdrawn or has expired. Ask your administrator for a new one.');

const view = (i: typeof invitations.$inferSelect) => ({
  id: i.id,
  email: i.email,
  role: i.role,
  groupIds: i.groupIds,
  createdAt: i.createdAt.toISOString(),
  expiresAt: i.expiresAt.toISOString(),
  acceptedAt: i.acceptedAt?.toISOString() ?? null,
  revokedAt: i.revokedAt?.toISOString() ?? null,
});

/** A one-time link, e-mailed when SMTP is configured and always returned to the admin. */
export async function inviteUser({ ctx, input }: { ctx: RequestCtx; input: z.infer<typeof inviteInputSchema> }) {
  assertCan(ctx, 'admin.users');
  const email = input.email.toLowerCase();
  const token = randomSecret();
  const invitation = ctx.db.transaction((tx) => {
    if (tx.select({ id: users.id }).from(users).where(eq(users.email, email)).get()) throw new AppError(409, 'email_taken', `An account for ${email} already exists.`);
    assertGroupsExist(tx, input.groupIds);
    const id = randomUUID();
    const expiresAt = new Date(Date.now() + ctx.config.invitationTtlHours * 3600_000);
    tx.insert(invitations).values({ id, email, role: input.role, groupIds: input.groupIds, tokenHash: sha256(token), createdBy: ctx.user?.id ?? null, expiresAt }).run();
    writeAudit(tx, actorOf(ctx, ctx.user), { action: 'invitation.create', outcome: 'success', targetType: 'invitation', targetId: id, details: { email, role: input.role, groupIds: input.groupIds } });
    return tx.select().from(invitations).where(eq(invitations.id, id)).get()!;
  });
  const link = `${ctx.config.publicUrl.origin}/invite/${token}`;
  const emailed = await sendMail(ctx.config, ctx.log, {
    to: email,
    subject: 'You are invited to Preview-DICOM',
    text: `You have been invited to Preview-DICOM as ${input.role}.\n\nSet your password here (the link works once and expires ${invitation.expiresAt.toUTCString()}):\n${link}\n`,
  });
  return { invitation: view(invitation), link, emailed };
}

export function listInvitations({ ctx }: { ctx: RequestCtx }) {
  assertCan(ctx, 'admin.users');
  return ctx.db.select().from(invitations).orderBy(desc(invitations.createdAt)).all().map(view);
}

export function revokeInvitation({ ctx, input }: { ctx: RequestCtx; input: { invitationId: string } }) {
  assertCan(ctx, 'admin.users');
  ctx.db.transaction((tx) => {
    const invitation = tx.select().from(invitations).where(eq(invitations.id, input.invitationId)).get();
    if (!invitation || invitation.revokedAt || invitation.acceptedAt) throw new AppError(404, 'not_found', 'No such open invitation.');
    tx.update(invitations).set({ revokedAt: new Date() }).where(eq(invitations.id, invitation.id)).run();
    writeAudit(tx, actorOf(ctx, ctx.user), { action: 'invitation.revoke', outcome: 'success', targetType: 'invitation', targetId: invitation.id, details: { email: invitation.email } });
  });
}

function openInvitation(ctx: RequestCtx, token: string) {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) throw invalidInvitation();
  const invitation = ctx.db.select().from(invitations).where(eq(invitations.tokenHash, sha256(token))).get();
  if (!invitation || invitation.acceptedAt || invitation.revokedAt || invitation.expiresAt.getTime() <= Date.now()) throw invalidInvitation();
  return invitation;
}

export function describeInvitation({ ctx, input }: { ctx: RequestCtx; input: { token: string } }) {
  const invitation = openInvitation(ctx, input.token);
  return { email: invitation.email, role: invitation.role, expiresAt: invitation.expiresAt.toISOString() };
}

/** Creates the account from the invitation (once) and signs the person in. */
export async function acceptInvitation({ ctx, input }: { ctx: RequestCtx; input: { token: string } & z.infer<typeof acceptInputSchema> }) {
  const pending = openInvitation(ctx, input.token);
  const problem = passwordProblem(input.password, { minLength: ctx.config.passwordMinLength, email: pending.email });
  if (problem) throw new AppError(400, 'weak_password', problem);
  const passwordHash = await hashPassword(input.password);
  const { userId, sessionId } = ctx.db.transaction((tx) => {
    // Re-read inside the transaction: a link double-clicked must create one account.
    const invitation = tx.select().from(invitations).where(eq(invitations.id, pending.id)).get()!;
    if (invitation.acceptedAt || invitation.revokedAt) throw invalidInvitation();
    if (tx.select({ id: users.id }).from(users).where(eq(users.email, invitation.email)).get()) throw new AppError(409, 'email_taken', `An account for ${invitation.email} already exists.`);
    const id = randomUUID();
    tx.insert(users).values({ id, email: invitation.email, displayName: input.displayName, role: invitation.role, passwordHash }).run();
    setMemberships(tx, id, invitation.groupIds);
    tx.update(invitations).set({ acceptedAt: new Date() }).where(eq(invitations.id, invitation.id)).run();
    const session = insertSessionRow(tx, { userId: id, ip: ctx.ip, userAgent: ctx.userAgent, ttlSeconds: ctx.config.sessionTtlSeconds });
    const actor = { userId: id, role: invitation.role, email: invitation.email, ip: ctx.ip, requestId: ctx.requestId };
    writeAudit(tx, actor, { action: 'invitation.accept', outcome: 'success', targetType: 'invitation', targetId: invitation.id });
    writeAudit(tx, actor, { action: 'auth.login', outcome: 'success', targetType: 'session', targetId: session, details: { via: 'invitation' } });
    return { userId: id, sessionId: session };
  });
  const tokens = await activateSession(ctx, { sessionId, userId });
  return { tokens, user: loadUser(ctx, userId)! };
}
