import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../lib/context.js';
import { checkHealth } from './health.service.js';

const dependencyCheckSchema = z.object({
  status: z.enum(['up', 'down', 'not_configured']),
  required: z.boolean(),
  latencyMs: z.number().nullable(),
  detail: z.string().optional(),
});

const healthSchema = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    failing: z.array(z.enum(['orthanc', 'redis', 'database', 'inference'])),
    message: z.string().optional(),
    checks: z.object({ orthanc: dependencyCheckSchema, redis: dependencyCheckSchema, database: dependencyCheckSchema, inference: dependencyCheckSchema }),
  })
  .openapi('Health');

const healthRoute = createRoute({
  method: 'get',
  path: '/health',
  tags: ['system'],
  summary: 'Status and latency of each dependency',
  description: 'Public (for load balancers and the status page). 200 when every required dependency is up, 503 naming the failing ones otherwise.',
  responses: {
    200: { description: 'All required dependencies are up', content: { 'application/json': { schema: healthSchema } } },
    503: { description: 'At least one required dependency is down', content: { 'application/json': { schema: healthSchema } } },
  },
});

const liveRoute = createRoute({
  method: 'get',
  path: '/health/live',
  tags: ['system'],
  summary: 'Liveness: the backend process answers',
  responses: { 200: { description: 'Alive', content: { 'application/json': { schema: z.object({ status: z.literal('alive') }) } } } },
});

export const healthRoutes = new OpenAPIHono<AppEnv>()
  .openapi(healthRoute, async (c) => {
    const report = await checkHealth({ ctx: c.get('ctx') });
    c.header('Cache-Control', 'no-store');
    if (report.status === 'ok') return c.json(report, 200);
    return c.json({ ...report, message: `Unavailable: ${report.failing.join(', ')} ${report.failing.length === 1 ? 'is' : 'are'} down` }, 503);
  })
  .openapi(liveRoute, (c) => c.json({ status: 'alive' as const }, 200));
