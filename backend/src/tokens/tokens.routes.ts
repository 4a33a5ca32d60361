import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../lib/context.js';
import { authedErrors, errorResponses, json, jsonBody, noContent } from '../lib/openapi.js';
import { createToken, createTokenInputSchema, listTokens, revokeToken } from './tokens.service.js';

const tokenSchema = z
  .object({ id: z.string(), name: z.string(), scope: z.enum(['read', 'read-write']), prefix: z.string(), createdAt: z.string(), expiresAt: z.string(), lastUsedAt: z.string().nullable(), revokedAt: z.string().nullable() })
  .openapi('ApiToken');
const tags = ['tokens'];

const routes = {
  list: createRoute({ method: 'get', path: '/tokens', tags, summary: 'My API tokens', responses: { 200: json(z.object({ tokens: z.array(tokenSchema) }), 'Tokens'), ...authedErrors } }),
  create: createRoute({
    method: 'post',
    path: '/tokens',
    tags,
    summary: 'Create an API token; the secret is in this answer only. Send it as Authorization: Bearer to /api and /dicom-web',
    request: jsonBody(createTokenInputSchema),
    responses: { 201: json(z.object({ token: tokenSchema, secret: z.string() }), 'Created'), ...authedErrors },
  }),
  revoke: createRoute({ method: 'delete', path: '/tokens/{id}', tags, summary: 'Revoke one of my tokens', request: { params: z.object({ id: z.uuid() }) }, responses: { ...noContent, ...authedErrors, 404: errorResponses[404] } }),
};

export const tokenRoutes = new OpenAPIHono<AppEnv>()
  .openapi(routes.list, (c) => c.json({ tokens: listTokens({ ctx: c.get('ctx') }) }, 200))
  .openapi(routes.create, (c) => c.json(createToken({ ctx: c.get('ctx'), input: c.req.valid('json') }), 201))
  .openapi(routes.revoke, (c) => {
    revokeToken({ ctx: c.get('ctx'), input: { tokenId: c.req.valid('param').id } });
    return c.body(null, 204);
  });
