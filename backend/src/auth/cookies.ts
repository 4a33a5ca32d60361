import type { Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import type { AppConfig } from '../config.js';
import { ACCESS_COOKIE, REFRESH_COOKIE } from './sessions.js';
import type { IssuedTokens } from './sessions.js';

// The refresh cookie travels only to /api/auth, and only same-site: it is the long-lived one.
const REFRESH_PATH = '/api/auth';

export function setSessionCookies(c: Context, config: AppConfig, tokens: IssuedTokens): void {
  setCookie(c, ACCESS_COOKIE, tokens.accessToken, { httpOnly: true, secure: config.secureCookies, sameSite: 'Lax', path: '/', maxAge: config.sessionTtlSeconds });
  setCookie(c, REFRESH_COOKIE, tokens.refreshToken, { httpOnly: true, secure: config.secureCookies, sameSite: 'Strict', path: REFRESH_PATH, maxAge: config.sessionTtlSeconds });
}

export function clearSessionCookies(c: Context, config: AppConfig): void {
  deleteCookie(c, ACCESS_COOKIE, { path: '/', secure: config.secureCookies });
  deleteCookie(c, REFRESH_COOKIE, { path: REFRESH_PATH, secure: config.secureCookies });
}
