import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { stream } from 'hono/streaming';
import { groupRefSchema } from '../auth/auth.routes.js';
import { auditCsv, auditFilterSchema, queryAudit } from '../audit/audit-query.service.js';
import { roles } from '../db/schema.js';
import { inviteInputSchema, inviteUser, listInvitations, revokeInvitation } from '../invitations/invitations.service.js';
import type { AppEnv } from '../lib/context.js';
import { authedErrors, errorResponses, json, jsonBody, noContent } from '../lib/openapi.js';
import { createGroup, deleteGroup, groupInputSchema, groupUpdateSchema, listGroups, updateGroup } from './groups.service.js';
import { listAllSessions, revokeAnySession } from './sessions.service.js';
import { createUser, createUserInputSchema, listUsers, updateUser, updateUserInputSchema } from './users.service.js';

const adminUserSchema = z
  .object({ id: z.string(), email: z.string(), displayName: z.string(), role: z.enum(roles), isActive: z.boolean(), mustChangePassword: z.boolean(), createdAt: z.string(), groups: z.array(groupRefSchema) })
  .openapi('AdminUser');
const groupSchema = z.object({ id: z.string(), name: z.string(), description: z.string(), createdAt: z.string(), memberCount: z.number(), studyCount: z.number() }).openapi('Group');
const invitationSchema = z
  .object({ id: z.string(), email: z.string(), role: z.enum(roles), groupIds: z.array(z.string()), createdAt: z.string(), expiresAt: z.string(), acceptedAt: z.string().nullable(), revokedAt: z.string().nullable() })
  .openapi('Invitation');
const adminSessionSchema = z
  .object({ id: z.string(), user: z.object({ id: z.string(), email: z.string() }), createdAt: z.string(), lastSeenAt: z.string(), ip: z.string().nullable(), userAgent: z.string().nullable() })
  .openapi('AdminSession');
const auditEntrySchema = z
  .object({
    id: z.number(),
    at: z.string(),
    actorUserId: z.string().nullable(),
    actorEmail: z.string().nullable(),
    actorRole: z.string().nullable(),
    ip: z.string().nullable(),
    action: z.string(),
    targetType: z.string().nullable(),
    targetId: z.string().nullable(),
    outcome: z.enum(['success', 'failure', 'denied']),
    details: z.unknown(),
    requestId: z.string().nullable(),
  })
  .openapi('AuditEntry');

const idParam = z.object({ id: z.uuid() });
const tags = ['admin'];
const conflict = { 409: errorResponses[409], 404: errorResponses[404] };

const routes = {
  listUsers: createRoute({ method: 'get', path: '/admin/users', tags, summary: 'All users', responses: { 200: json(z.object({ users: z.array(adminUserSchema) }), 'Users'), ...authedErrors } }),
  createUser: createRoute({
    method: 'post',
    path: '/admin/users',
    tags,
    summary: 'Create a user with a generated password (shown once; must be changed at first sign-in)',
    request: jsonBody(createUserInputSchema),
    responses: { 201: json(z.object({ user: adminUserSchema, password: z.string() }), 'Created'), ...authedErrors, ...conflict },
  }),
  updateUser: createRoute({
    method: 'patch',
    path: '/admin/users/{id}',
    tags,
    summary: 'Change name, role, groups, or disable (ends their sessions at once)',
    request: { params: idParam, ...jsonBody(updateUserInputSchema) },
    responses: { 200: json(z.object({ user: adminUserSchema }), 'Updated'), ...authedErrors, ...conflict },
  }),
  listGroups: createRoute({ method: 'get', path: '/admin/groups', tags, summary: 'All groups', responses: { 200: json(z.object({ groups: z.array(groupSchema) }), 'Groups'), ...authedErrors } }),
  createGroup: createRoute({
    method: 'post',
    path: '/admin/groups',
    tags,
    summary: 'Create a group (an institution, clinic or project)',
    request: jsonBody(groupInputSchema),
    responses: { 201: json(z.object({ group: z.object({ id: z.string(), name: z.string(), description: z.string() }) }), 'Created'), ...authedErrors, ...conflict },
  }),
  updateGroup: createRoute({
    method: 'patch',
    path: '/admin/groups/{id}',
    tags,
    summary: 'Rename a group or change its description',
    request: { params: idParam, ...jsonBody(groupUpdateSchema) },
    responses: { 200: json(z.object({ group: z.object({ id: z.string(), name: z.string(), description: z.string() }) }), 'Updated'), ...authedErrors, ...conflict },
  }),
  deleteGroup: createRoute({ method: 'delete', path: '/admin/groups/{id}', tags, summary: 'Delete a group that owns no studies', request: { params: idParam }, responses: { ...noContent, ...authedErrors, ...conflict } }),
  listSessions: createRoute({
    method: 'get',
    path: '/admin/sessions',
    tags,
    summary: 'Active sessions of everyone (or one user)',
    request: { query: z.object({ userId: z.uuid().optional() }) },
    responses: { 200: json(z.object({ sessions: z.array(adminSessionSchema) }), 'Sessions'), ...authedErrors },
  }),
  revokeSession: createRoute({ method: 'delete', path: '/admin/sessions/{id}', tags, summary: "Revoke anyone's session", request: { params: idParam }, responses: { ...noContent, ...authedErrors, 404: errorResponses[404] } }),
  invite: createRoute({
    method: 'post',
    path: '/admin/invitations',
    tags,
    summary: 'Invite an e-mail to a role and groups: a one-time link valid 72 h (e-mailed when SMTP is set, always returned)',
    request: jsonBody(inviteInputSchema),
    responses: { 201: json(z.object({ invitation: invitationSchema, link: z.string(), emailed: z.boolean() }), 'Invited'), ...authedErrors, ...conflict },
  }),
  listInvitations: createRoute({ method: 'get', path: '/admin/invitations', tags, summary: 'Invitations', responses: { 200: json(z.object({ invitations: z.array(invitationSchema) }), 'Invitations'), ...authedErrors } }),
  revokeInvitation: createRoute({ method: 'delete', path: '/admin/invitations/{id}', tags, summary: 'Withdraw an open invitation', request: { params: idParam }, responses: { ...noContent, ...authedErrors, 404: errorResponses[404] } }),
  audit: createRoute({
    method: 'get',
    path: '/admin/audit',
    tags,
    summary: 'The audit trail, newest first, filtered',
    request: { query: auditFilterSchema },
    responses: { 200: json(z.object({ entries: z.array(auditEntrySchema), total: z.number() }), 'Entries'), ...authedErrors },
  }),
  auditCsv: createRoute({
    method: 'get',
    path: '/admin/audit.csv',
    tags,
    summary: 'The filtered audit trail as CSV (streamed)',
    request: { query: auditFilterSchema.omit({ limit: true, offset: true }) },
    responses: { 200: { description: 'CSV', content: { 'text/csv': { schema: z.string() } } }, ...authedErrors },
  }),
};

export const adminRoutes = new OpenAPIHono<AppEnv>()
  .openapi(routes.listUsers, (c) => c.json({ users: listUsers({ ctx: c.get('ctx') }) }, 200))
  .openapi(routes.createUser, async (c) => c.json(await createUser({ ctx: c.get('ctx'), input: c.req.valid('json') }), 201))
  .openapi(routes.updateUser, async (c) => c.json({ user: await updateUser({ ctx: c.get('ctx'), input: { userId: c.req.valid('param').id, changes: c.req.valid('json') } }) }, 200))
  .openapi(routes.listGroups, (c) => c.json({ groups: listGroups({ ctx: c.get('ctx') }) }, 200))
  .openapi(routes.createGroup, (c) => c.json({ group: createGroup({ ctx: c.get('ctx'), input: c.req.valid('json') }) }, 201))
  .openapi(routes.updateGroup, (c) => c.json({ group: updateGroup({ ctx: c.get('ctx'), input: { groupId: c.req.valid('param').id, changes: c.req.valid('json') } }) }, 200))
  .openapi(routes.deleteGroup, (c) => {
    deleteGroup({ ctx: c.get('ctx'), input: { groupId: c.req.valid('param').id } });
    return c.body(null, 204);
  })
  .openapi(routes.listSessions, (c) => c.json({ sessions: listAllSessions({ ctx: c.get('ctx'), input: c.req.valid('query') }) }, 200))
  .openapi(routes.revokeSession, async (c) => {
    await revokeAnySession({ ctx: c.get('ctx'), input: { sessionId: c.req.valid('param').id } });
    return c.body(null, 204);
  })
  .openapi(routes.invite, async (c) => c.json(await inviteUser({ ctx: c.get('ctx'), input: c.req.valid('json') }), 201))
  .openapi(routes.listInvitations, (c) => c.json({ invitations: listInvitations({ ctx: c.get('ctx') }) }, 200))
  .openapi(routes.revokeInvitation, (c) => {
    revokeInvitation({ ctx: c.get('ctx'), input: { invitationId: c.req.valid('param').id } });
    return c.body(null, 204);
  })
  .openapi(routes.audit, (c) => c.json(queryAudit({ ctx: c.get('ctx'), input: c.req.valid('query') }), 200))
  .openapi(routes.auditCsv, (c) => {
    const rows = auditCsv({ ctx: c.get('ctx'), input: { ...c.req.valid('query'), limit: 1, offset: 0 } });
    // The generator checks rights on its first step: run it before any byte is sent.
    const first = rows.next();
    c.header('Content-Type', 'text/csv; charset=utf-8');
    c.header('Content-Disposition', `attachment; filename="audit-${new Date().toISOString().slice(0, 10)}.csv"`);
    c.header('Cache-Control', 'no-store');
    return stream(c, async (out) => {
      if (!first.done) await out.write(first.value);
      for (const chunk of rows) await out.write(chunk);
    }) as never;
  });
