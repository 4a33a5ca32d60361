import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AppEnv } from '../lib/context.js';
import { isSafeMethod, passesOriginCheck } from '../lib/csrf.js';
import { errorBodySchema, unauthorized } from '../lib/errors.js';
import { loginInputSchema, loginUser, logoutUser } from './auth.service.js';
import { SESSION_COOKIE } from './sessions.js';

const sessionUserSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    displayName: z.string(),
    role: z.enum(['admin', 'researcher', 'radiologist']),
    mustChangePassword: z.boolean(),
  })
  .openapi('SessionUser');

const errors = {
  400: { description: 'Malformed input', content: { 'application/json': { schema: errorBodySchema } } },
  401: { description: 'Not signed in or wrong credentials', content: { 'application/json': { schema: errorBodySchema } } },
  403: { description: 'Cross-origin request refused', content: { 'application/json': { schema: errorBodySchema } } },
  503: { description: 'Session store unreachable', content: { 'application/json': { schema: errorBodySchema } } },
};

const loginRoute = createRoute({
  method: 'post',
  path: '/auth/login',
  tags: ['auth'],
  summary: 'Sign in with e-mail and password; sets an HttpOnly session cookie',
  request: { body: { required: true, content: { 'application/json': { schema: loginInputSchema } } } },
  responses: { 200: { description: 'Signed in', content: { 'application/json': { schema: z.object({ user: sessionUserSchema }) } } }, ...errors },
});

const logoutRoute = createRoute({
  method: 'post',
  path: '/auth/logout',
  tags: ['auth'],
  summary: 'End this session',
  responses: { 204: { description: 'Signed out' }, ...errors },
});

const sessionRoute = createRoute({
  method: 'get',
  path: '/auth/session',
  tags: ['auth'],
  summary: 'Who is signed in',
  responses: { 200: { description: 'The signed-in user', content: { 'application/json': { schema: z.object({ user: sessionUserSchema }) } } }, 401: errors[401] },
});

const checkRoute = createRoute({
  method: 'get',
  path: '/auth/check',
  tags: ['auth'],
  summary: 'Session check used by the gateway (nginx auth_request) before proxying /dicom-web',
  description:
    'nginx passes the original method in X-Original-Method; a state-changing DICOMweb call (STOW) must also pass the same-origin check, or it is refused with 403.',
  request: { headers: z.object({ 'x-original-method': z.string().max(16).optional() }) },
  responses: { 204: { description: 'Signed in' }, 401: { description: 'Not signed in' }, 403: { description: 'Cross-origin state-changing request' } },
});

export const authRoutes = new OpenAPIHono<AppEnv>()
  .openapi(loginRoute, async (c) => {
    const ctx = c.get('ctx');
    const { token, user } = await loginUser({ ctx, input: c.req.valid('json') });
    setCookie(c, SESSION_COOKIE, token, {
      httpOnly: true,
      secure: ctx.config.secureCookies,
      sameSite: 'Lax',
      path: '/',
      maxAge: ctx.config.sessionTtlSeconds,
    });
    c.header('Cache-Control', 'no-store');
    return c.json({ user }, 200);
  })
  .openapi(logoutRoute, async (c) => {
    const ctx = c.get('ctx');
    const token = getCookie(c, SESSION_COOKIE);
    if (!token) throw unauthorized();
    await logoutUser({ ctx, input: { token } });
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: ctx.config.secureCookies });
    return c.body(null, 204);
  })
  .openapi(sessionRoute, (c) => {
    const { user } = c.get('ctx');
    if (!user) throw unauthorized();
    c.header('Cache-Control', 'no-store');
    return c.json({ user }, 200);
  })
  .openapi(checkRoute, (c) => {
    c.header('Cache-Control', 'no-store');
    const ctx = c.get('ctx');
    if (!ctx.user) return c.body(null, 401);
    const originalMethod = c.req.valid('header')['x-original-method'] ?? 'GET';
    if (!isSafeMethod(originalMethod) && !passesOriginCheck(c, ctx.config.publicUrl.origin)) return c.body(null, 403);
    return c.body(null, 204);
  });
