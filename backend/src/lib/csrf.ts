import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { ACCESS_COOKIE, REFRESH_COOKIE } from '../auth/sessions.js';
import type { AppEnv } from './context.js';
import { errorBody } from './errors.js';

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isSafeMethod(method: string): boolean {
  return safeMethods.has(method.toUpperCase());
}

/**
 * Cookie-authenticated state changes must come from our own origin. Browsers always
 * send Origin on cross-site POSTs, so a missing Origin with a session cookie is refused too.
 */
export function passesOriginCheck(c: Context, allowedOrigin: string): boolean {
  const origin = c.req.header('origin');
  const forwardedHost = c.req.header('x-forwarded-host') ?? c.req.header('host');
  const forwardedProto = c.req.header('x-forwarded-proto') ?? new URL(c.req.url).protocol.replace(':', '');
  const requestOrigin = forwardedHost ? `${forwardedProto}://${forwardedHost}` : null;
  const hasSessionCookie = Boolean(getCookie(c, ACCESS_COOKIE) ?? getCookie(c, REFRESH_COOKIE));
  const sameOrigin = origin !== undefined && (origin === allowedOrigin || origin === requestOrigin);
  return !(origin === undefined ? hasSessionCookie : !sameOrigin);
}

export function originCheck(allowedOrigin: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (isSafeMethod(c.req.method)) return next();
    if (!passesOriginCheck(c, allowedOrigin)) {
      return c.json(errorBody(c, 'cross_origin_refused', 'This request did not come from the Preview-DICOM page itself (Origin check failed). Reload the page and try again.'), 403);
    }
    return next();
  };
}
