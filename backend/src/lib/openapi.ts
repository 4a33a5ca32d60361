import { z } from '@hono/zod-openapi';
import { errorBodySchema } from './errors.js';

export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

export const jsonBody = <T extends z.ZodType>(schema: T) => ({ body: { required: true, content: { 'application/json': { schema } } } });

export const errorResponses = {
  400: json(errorBodySchema, 'Malformed input'),
  401: json(errorBodySchema, 'Not signed in, or the sign-in expired'),
  403: json(errorBodySchema, 'Not allowed, cross-origin, or a password change is due first'),
  404: json(errorBodySchema, 'Not found (or not visible to you)'),
  409: json(errorBodySchema, 'Conflicts with the current state'),
  429: json(errorBodySchema, 'Too many failed attempts'),
  503: json(errorBodySchema, 'Session store unreachable'),
};

/** The errors every authenticated route can answer. */
export const authedErrors = { 400: errorResponses[400], 401: errorResponses[401], 403: errorResponses[403], 503: errorResponses[503] };

export const noContent = { 204: { description: 'Done' } };
