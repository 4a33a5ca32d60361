import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { setCookie } from 'hono/cookie';
import { groupRefSchema } from '../auth/auth.routes.js';
import { SHARE_COOKIE } from '../auth/sessions.js';
import { verifyShareToken } from '../auth/tokens.js';
import type { AppEnv } from '../lib/context.js';
import { AppError } from '../lib/errors.js';
import { authedErrors, errorResponses, json, jsonBody, noContent } from '../lib/openapi.js';
import {
  createShareLink,
  createShareLinkInputSchema,
  listShareLinks,
  listStudies,
  recordShareLinkUse,
  revokeShareLink,
  shareStudyWithGroup,
  studyListQuerySchema,
  studyUidSchema,
  unshareStudyWithGroup,
} from './studies.service.js';

const studySchema = z
  .object({
    studyInstanceUid: z.string(),
    patientId: z.string(),
    patientName: z.string(),
    studyDate: z.string(),
    studyDescription: z.string(),
    modalities: z.array(z.string()),
    ownerGroup: groupRefSchema,
    sharedWith: z.array(groupRefSchema),
  })
  .openapi('Study');
const shareLinkSchema = z
  .object({ id: z.string(), studyInstanceUid: z.string(), url: z.string(), createdAt: z.string(), expiresAt: z.string(), revokedAt: z.string().nullable(), useCount: z.number(), lastUsedAt: z.string().nullable() })
  .openapi('ShareLink');
const studyParam = z.object({ uid: studyUidSchema });
const tags = ['studies'];
const notFound = { 404: errorResponses[404] };

const routes = {
  list: createRoute({
    method: 'get',
    path: '/studies',
    tags,
    summary: 'Studies I may see (owned by or shared with my groups; all for admins)',
    request: { query: studyListQuerySchema },
    responses: { 200: json(z.object({ studies: z.array(studySchema), total: z.number() }), 'Studies'), ...authedErrors },
  }),
  share: createRoute({
    method: 'post',
    path: '/studies/{uid}/shares',
    tags,
    summary: 'Share a study with another group (admins and members of the owning group)',
    request: { params: studyParam, ...jsonBody(z.object({ groupId: z.uuid() })) },
    responses: { ...noContent, ...authedErrors, ...notFound },
  }),
  unshare: createRoute({
    method: 'delete',
    path: '/studies/{uid}/shares/{groupId}',
    tags,
    summary: 'Stop sharing a study with a group',
    request: { params: z.object({ uid: studyUidSchema, groupId: z.uuid() }) },
    responses: { ...noContent, ...authedErrors, ...notFound },
  }),
  listLinks: createRoute({
    method: 'get',
    path: '/studies/{uid}/share-links',
    tags,
    summary: 'Share links of a study',
    request: { params: studyParam },
    responses: { 200: json(z.object({ links: z.array(shareLinkSchema) }), 'Links'), ...authedErrors, ...notFound },
  }),
  createLink: createRoute({
    method: 'post',
    path: '/studies/{uid}/share-links',
    tags,
    summary: 'Create a signed, expiring, read-only link that opens this study in OHIF without an account',
    request: { params: studyParam, ...jsonBody(createShareLinkInputSchema) },
    responses: { 201: json(z.object({ link: shareLinkSchema }), 'Created'), ...authedErrors, ...notFound },
  }),
  revokeLink: createRoute({ method: 'delete', path: '/share-links/{id}', tags, summary: 'Revoke a share link', request: { params: z.object({ id: z.uuid() }) }, responses: { ...noContent, ...authedErrors, ...notFound } }),
  openLink: createRoute({
    method: 'get',
    path: '/share/{token}',
    tags,
    summary: 'Open a share link: sets a cookie for that one study and redirects to the viewer (served at /share/<token>)',
    request: { params: z.object({ token: z.string().max(2048) }) },
    responses: { 302: { description: 'To the viewer' }, 404: errorResponses[404] },
  }),
};

export const studyRoutes = new OpenAPIHono<AppEnv>()
  .openapi(routes.list, (c) => c.json(listStudies({ ctx: c.get('ctx'), input: c.req.valid('query') }), 200))
  .openapi(routes.share, (c) => {
    shareStudyWithGroup({ ctx: c.get('ctx'), input: { studyInstanceUid: c.req.valid('param').uid, groupId: c.req.valid('json').groupId } });
    return c.body(null, 204);
  })
  .openapi(routes.unshare, (c) => {
    const { uid, groupId } = c.req.valid('param');
    unshareStudyWithGroup({ ctx: c.get('ctx'), input: { studyInstanceUid: uid, groupId } });
    return c.body(null, 204);
  })
  .openapi(routes.listLinks, async (c) => c.json({ links: await listShareLinks({ ctx: c.get('ctx'), input: { studyInstanceUid: c.req.valid('param').uid } }) }, 200))
  .openapi(routes.createLink, async (c) =>
    c.json({ link: await createShareLink({ ctx: c.get('ctx'), input: { studyInstanceUid: c.req.valid('param').uid, ...c.req.valid('json') } }) }, 201),
  )
  .openapi(routes.revokeLink, (c) => {
    revokeShareLink({ ctx: c.get('ctx'), input: { linkId: c.req.valid('param').id } });
    return c.body(null, 204);
  })
  .openapi(routes.openLink, async (c) => {
    const ctx = c.get('ctx');
    const { token } = c.req.valid('param');
    const verified = await verifyShareToken(ctx.config.jwtSecret, token);
    if (!verified.ok) throw new AppError(404, 'share_link_invalid', 'This share link is not valid any more (revoked or expired). Ask the person who sent it for a new one.');
    const { studyInstanceUid, expiresAt } = recordShareLinkUse({ ctx, input: { linkId: verified.claims.linkId } });
    setCookie(c, SHARE_COOKIE, token, { httpOnly: true, secure: ctx.config.secureCookies, sameSite: 'Lax', path: '/', expires: expiresAt });
    c.header('Cache-Control', 'no-store');
    return c.redirect(`/viewer/viewer?StudyInstanceUIDs=${encodeURIComponent(studyInstanceUid)}`, 302) as never;
  });
