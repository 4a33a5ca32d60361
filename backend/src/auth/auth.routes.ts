import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { getCookie } from 'hono/cookie';
import type { AppEnv } from '../lib/context.js';
import { isSafeMethod, passesOriginCheck } from '../lib/csrf.js';
import { errorBodySchema } from '../lib/errors.js';
import { errorResponses, json } from '../lib/openapi.js';
import {
  changePassword,
  changePasswordInputSchema,
  listMySessions,
  loginInputSchema,
  loginUser,
  logout,
  logoutEverywhere,
  refreshSession,
  requireUser,
  revokeMySession,
} from './auth.service.js';
import { clearSessionCookies, setSessionCookies } from './cookies.js';
import { REFRESH_COOKIE } from './sessions.js';

export const groupRefSchema = z.object({ id: z.string(), name: z.string() }).openapi('GroupRef');

export const sessionUserSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    displayName: z.string(),
    role: z.enum(['admin', 'researcher', 'radiologist']),
    mustChangePassword: z.boolean(),
    groups: z.array(groupRefSchema),
  })
  .openapi('SessionUser');

const { 400: e400, 401: e401, 403: e403, 404: e404, 429: e429, 503: e503 } = errorResponses;

const userBody = json(z.object({ user: sessionUserSchema }), 'The signed-in user');
const sessionSchema = z
  .object({ id: z.string(), createdAt: z.string(), lastSeenAt: z.string(), ip: z.string().nullable(), userAgent: z.string().nullable(), current: z.boolean() })
  .openapi('MySession');

const routes = {
  login: createRoute({
    method: 'post',
    path: '/auth/login',
    tags: ['auth'],
    summary: 'Sign in; sets the access cookie (JWT, ~10 min) and the rotating refresh cookie',
    request: { body: { required: true, content: { 'application/json': { schema: loginInputSchema } } } },
    responses: { 200: userBody, 400: e400, 401: e401, 403: e403, 429: e429, 503: e503 },
  }),
  refresh: createRoute({
    method: 'post',
    path: '/auth/refresh',
    tags: ['auth'],
    summary: 'New access and refresh cookies for the refresh cookie; a replayed refresh token ends the session',
    responses: { 200: userBody, 401: e401, 403: e403, 409: json(errorBodySchema, 'Another tab refreshed at the same moment; retry'), 503: e503 },
  }),
  logout: createRoute({ method: 'post', path: '/auth/logout', tags: ['auth'], summary: 'End this session', responses: { 204: { description: 'Signed out' }, 400: e400, 401: e401, 403: e403 } }),
  logoutAll: createRoute({ method: 'post', path: '/auth/logout-all', tags: ['auth'], summary: 'End every session of this user', responses: { 204: { description: 'Signed out everywhere' }, 401: e401, 403: e403 } }),
  session: createRoute({ method: 'get', path: '/auth/session', tags: ['auth'], summary: 'Who is signed in', responses: { 200: userBody, 401: e401, 503: e503 } }),
  changePassword: createRoute({
    method: 'post',
    path: '/auth/change-password',
    tags: ['auth'],
    summary: 'Change my password (needs the current one); ends my other sessions',
    request: { body: { required: true, content: { 'application/json': { schema: changePasswordInputSchema } } } },
    responses: { 204: { description: 'Changed' }, 400: e400, 401: e401, 403: e403 },
  }),
  sessions: createRoute({
    method: 'get',
    path: '/auth/sessions',
    tags: ['auth'],
    summary: 'My active sessions',
    responses: { 200: json(z.object({ sessions: z.array(sessionSchema) }), 'Sessions'), 401: e401 },
  }),
  revokeSession: createRoute({
    method: 'delete',
    path: '/auth/sessions/{id}',
    tags: ['auth'],
    summary: 'Revoke one of my sessions',
    request: { params: z.object({ id: z.uuid() }) },
    responses: { 204: { description: 'Revoked' }, 400: e400, 401: e401, 403: e403, 404: e404 },
  }),
  check: createRoute({
    method: 'get',
    path: '/auth/check',
    tags: ['auth'],
    summary: 'Session check used by the gateway (nginx auth_request) for the viewer page: a signed-in user or a share-link holder',
    description: 'nginx passes the original method in X-Original-Method; a state-changing call must also pass the same-origin check.',
    request: { headers: z.object({ 'x-original-method': z.string().max(16).optional() }) },
    responses: { 204: { description: 'Signed in' }, 401: { description: 'Not signed in' }, 403: { description: 'Cross-origin state-changing request' } },
  }),
};

export const authRoutes = new OpenAPIHono<AppEnv>()
  .openapi(routes.login, async (c) => {
    const ctx = c.get('ctx');
    const { tokens, user } = await loginUser({ ctx, input: c.req.valid('json') });
    setSessionCookies(c, ctx.config, tokens);
    c.header('Cache-Control', 'no-store');
    return c.json({ user }, 200);
  })
  .openapi(routes.refresh, async (c) => {
    const ctx = c.get('ctx');
    try {
      const { tokens, user } = await refreshSession({ ctx, input: { refreshToken: getCookie(c, REFRESH_COOKIE) } });
      setSessionCookies(c, ctx.config, tokens);
      c.header('Cache-Control', 'no-store');
      return c.json({ user }, 200);
    } catch (error) {
      if ((error as { status?: number }).status === 401) clearSessionCookies(c, ctx.config);
      throw error;
    }
  })
  .openapi(routes.logout, async (c) => {
    const ctx = c.get('ctx');
    await logout({ ctx });
    clearSessionCookies(c, ctx.config);
    return c.body(null, 204);
  })
  .openapi(routes.logoutAll, async (c) => {
    const ctx = c.get('ctx');
    await logoutEverywhere({ ctx });
    clearSessionCookies(c, ctx.config);
    return c.body(null, 204);
  })
  .openapi(routes.session, (c) => {
    const user = requireUser(c.get('ctx'));
    c.header('Cache-Control', 'no-store');
    return c.json({ user }, 200);
  })
  .openapi(routes.changePassword, async (c) => {
    await changePassword({ ctx: c.get('ctx'), input: c.req.valid('json') });
    return c.body(null, 204);
  })
  .openapi(routes.sessions, (c) => c.json({ sessions: listMySessions({ ctx: c.get('ctx') }) }, 200))
  .openapi(routes.revokeSession, async (c) => {
    await revokeMySession({ ctx: c.get('ctx'), input: { sessionId: c.req.valid('param').id } });
    return c.body(null, 204);
  })
  .openapi(routes.check, (c) => {
    c.header('Cache-Control', 'no-store');
    const ctx = c.get('ctx');
    // A share-link holder may load the viewer page; DICOMweb then shows them their one study.
    if (!ctx.user && ctx.credential?.via !== 'share') return c.body(null, 401);
    const originalMethod = c.req.valid('header')['x-original-method'] ?? 'GET';
    if (!isSafeMethod(originalMethod) && !passesOriginCheck(c, ctx.config.publicUrl.origin)) return c.body(null, 403);
    return c.body(null, 204);
  });
