import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

// nginx passes its $request_id; accept only a conservative shape so logs cannot be forged.
const acceptableRequestId = /^[A-Za-z0-9._-]{8,128}$/;

export function requestIdMiddleware(): MiddlewareHandler {
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && acceptableRequestId.test(incoming) ? incoming : randomUUID();
    c.set('requestId', requestId);
    c.header('X-Request-Id', requestId);
    await next();
  };
}
