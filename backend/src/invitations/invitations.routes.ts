import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionUserSchema } from '../auth/auth.routes.js';
import { setSessionCookies } from '../auth/cookies.js';
import type { AppEnv } from '../lib/context.js';
import { errorResponses, json, jsonBody } from '../lib/openapi.js';
import { acceptInputSchema, acceptInvitation, describeInvitation } from './invitations.service.js';

const tokenParam = z.object({ token: z.string().max(200) });
const tags = ['invitations'];

const routes = {
  describe: createRoute({
    method: 'get',
    path: '/invitations/{token}',
    tags,
    summary: 'What an invitation link is for (public)',
    request: { params: tokenParam },
    responses: { 200: json(z.object({ email: z.string(), role: z.string(), expiresAt: z.string() }), 'The invitation'), 404: errorResponses[404] },
  }),
  accept: createRoute({
    method: 'post',
    path: '/invitations/{token}/accept',
    tags,
    summary: 'Set a password for the invited account (once); signs the person in',
    request: { params: tokenParam, ...jsonBody(acceptInputSchema) },
    responses: { 200: json(z.object({ user: sessionUserSchema }), 'Account created'), 400: errorResponses[400], 403: errorResponses[403], 404: errorResponses[404], 409: errorResponses[409] },
  }),
};

export const invitationRoutes = new OpenAPIHono<AppEnv>()
  .openapi(routes.describe, (c) => c.json(describeInvitation({ ctx: c.get('ctx'), input: c.req.valid('param') }), 200))
  .openapi(routes.accept, async (c) => {
    const ctx = c.get('ctx');
    const { tokens, user } = await acceptInvitation({ ctx, input: { ...c.req.valid('param'), ...c.req.valid('json') } });
    setSessionCookies(c, ctx.config, tokens);
    return c.json({ user }, 200);
  });
