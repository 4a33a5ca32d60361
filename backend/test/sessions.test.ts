import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { signAccessToken } from '../src/auth/tokens.js';
import { auditLog, sessions, users } from '../src/db/schema.js';
import { cookieFrom, createTestBackend, createUser, sameOrigin, sessionCookies, signIn, useTestBackend } from './harness.js';

const errorCode = async (response: Response) => ((await response.json()) as { error: { code: string; message: string } }).error;

describe('access tokens, refresh rotation, lockout and passwords (real Redis)', () => {
  const env = useTestBackend();

  const request = (path: string, init: { method?: string; cookie?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    env.backend.app.request(path, {
      method: init.method ?? 'GET',
      headers: { ...(init.method && init.method !== 'GET' ? sameOrigin : {}), ...(init.cookie ? { cookie: init.cookie } : {}), ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });

  it('answers an expired access token with access_token_expired, and refresh renews it', async () => {
    const user = await createUser(env.backend.deps, { email: 'expiry@example.org', role: 'researcher' });
    const { cookie, response } = await signIn(env.backend, user.email, user.password);
    const sessionId = env.backend.deps.db.select().from(sessions).where(eq(sessions.userId, user.id)).get()!.id;
    const expired = await signAccessToken(env.backend.deps.config.jwtSecret, { userId: user.id, sessionId }, -1);
    const answer = await request('/api/auth/session', { cookie: `pd_access=${expired}` });
    expect(answer.status).toBe(401);
    expect((await errorCode(answer)).code).toBe('access_token_expired');

    const refreshed = await request('/api/auth/refresh', { method: 'POST', cookie });
    expect(refreshed.status).toBe(200);
    const rotated = sessionCookies(refreshed);
    expect(cookieFrom(refreshed, 'pd_refresh')).not.toBe(cookieFrom(response, 'pd_refresh'));
    expect((await request('/api/auth/session', { cookie: rotated })).status).toBe(200);
  });

  it('treats a refresh token presented twice at once as two tabs, and a replay later as theft that ends the session', async () => {
    const user = await createUser(env.backend.deps, { email: 'reuse@example.org', role: 'radiologist' });
    const { cookie } = await signIn(env.backend, user.email, user.password);
    const first = await request('/api/auth/refresh', { method: 'POST', cookie });
    expect(first.status).toBe(200);
    const newCookies = sessionCookies(first);

    const concurrent = await request('/api/auth/refresh', { method: 'POST', cookie });
    expect(concurrent.status).toBe(409);
    expect((await request('/api/auth/session', { cookie: newCookies })).status).toBe(200);

    // Age the "used" mark past the grace window, as if the replay came a minute later.
    const oldRefresh = cookieFrom(first, 'pd_refresh') && cookie.match(/pd_refresh=([^;]+)/)![1]!;
    await env.backend.deps.redis.set(`pd:refresh-used:${createHash('sha256').update(oldRefresh).digest('hex')}`, String(Date.now() - 60_000), 'KEEPTTL');
    const replay = await request('/api/auth/refresh', { method: 'POST', cookie });
    expect(replay.status).toBe(401);
    expect((await errorCode(replay)).code).toBe('refresh_reused');

    // The whole family is gone: the legitimate holder's new tokens stop working too.
    const afterTheft = await request('/api/auth/session', { cookie: newCookies });
    expect(afterTheft.status).toBe(401);
    expect((await request('/api/auth/refresh', { method: 'POST', cookie: newCookies })).status).toBe(401);
    const row = env.backend.deps.db.select().from(sessions).where(eq(sessions.userId, user.id)).get()!;
    expect(row.revokedAt).not.toBeNull();
    const audit = env.backend.deps.db.select().from(auditLog).where(and(eq(auditLog.action, 'session.revoke'), eq(auditLog.targetId, row.id))).get()!;
    expect(audit.details).toEqual({ reason: 'refresh_token_reuse' });
  });

  it('locks an account after 5 failures with the same answer for unknown e-mails, and growing delays', async () => {
    const user = await createUser(env.backend.deps, { email: 'locked@example.org', role: 'researcher' });
    const attempt = (email: string, password: string, ip: string) =>
      env.backend.app.request('/api/auth/login', { method: 'POST', headers: { ...sameOrigin, 'x-real-ip': ip }, body: JSON.stringify({ email, password }) });
    for (let i = 0; i < 5; i++) expect((await attempt(user.email, 'wrong-password', `10.0.0.${i}`)).status).toBe(401);
    const locked = await attempt(user.email, user.password, '10.0.0.9');
    expect(locked.status).toBe(429);
    const body = (await locked.json()) as { error: { code: string; message: string; details: { retryAfterSeconds: number } } };
    expect(body.error.code).toBe('too_many_attempts');
    expect(body.error.message).toMatch(/Try again in 1 minute/);
    expect(body.error.details.retryAfterSeconds).toBeGreaterThan(50);

    for (let i = 0; i < 5; i++) await attempt('ghost@example.org', 'whatever', `10.0.1.${i}`);
    const ghost = await attempt('ghost@example.org', 'whatever', '10.0.1.9');
    expect(ghost.status).toBe(429);
    expect(((await ghost.json()) as { error: { message: string } }).error.message).toBe(body.error.message);

    // The second lock lasts twice as long.
    await env.backend.deps.redis.del('pd:lock:acct:locked@example.org');
    for (let i = 0; i < 5; i++) await attempt(user.email, 'wrong-password', `10.0.2.${i}`);
    const second = (await (await attempt(user.email, user.password, '10.0.2.9')).json()) as { error: { details: { retryAfterSeconds: number } } };
    expect(second.error.details.retryAfterSeconds).toBeGreaterThan(110);
    const lockouts = env.backend.deps.db.select().from(auditLog).where(eq(auditLog.action, 'auth.lockout')).all();
    expect(lockouts.length).toBeGreaterThanOrEqual(3);
  });

  it('counts a burst of parallel guesses before checking them: at most 5 are ever verified', async () => {
    const user = await createUser(env.backend.deps, { email: 'burst@example.org', role: 'researcher' });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        env.backend.app.request('/api/auth/login', { method: 'POST', headers: { ...sameOrigin, 'x-real-ip': `10.9.0.${i}` }, body: JSON.stringify({ email: user.email, password: `guess-${i}` }) }),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(15);
  });

  it('locks an address that fails too often across many e-mails', async () => {
    const tight = createTestBackend(env.services, { PD_IP_FAILURE_LIMIT: '3' });
    try {
      const attempt = (email: string) => tight.app.request('/api/auth/login', { method: 'POST', headers: { ...sameOrigin, 'x-real-ip': '192.0.2.77' }, body: JSON.stringify({ email, password: 'x' }) });
      for (const n of [1, 2, 3]) expect((await attempt(`spray${n}@example.org`)).status).toBe(401);
      expect((await attempt('spray4@example.org')).status).toBe(429);
    } finally {
      await tight.close();
    }
  });

  it('holds a must-change-password user to the change, which ends their other sessions', async () => {
    const user = await createUser(env.backend.deps, { email: 'newbie@example.org', role: 'researcher', mustChangePassword: true, password: 'initial-password-1234' });
    const other = await signIn(env.backend, user.email, user.password);
    const { cookie } = await signIn(env.backend, user.email, user.password);
    const blocked = await request('/api/tokens', { cookie });
    expect(blocked.status).toBe(403);
    expect((await errorCode(blocked)).code).toBe('password_change_required');

    const wrong = await request('/api/auth/change-password', { method: 'POST', cookie, body: { currentPassword: 'nope', newPassword: 'a-brand-new-secret-77' } });
    expect(wrong.status).toBe(400);
    expect((await errorCode(wrong)).code).toBe('wrong_current_password');
    const common = await request('/api/auth/change-password', { method: 'POST', cookie, body: { currentPassword: user.password, newPassword: 'password1234' } });
    expect(common.status).toBe(400);
    expect((await errorCode(common)).message).toMatch(/most common/);
    const short = await request('/api/auth/change-password', { method: 'POST', cookie, body: { currentPassword: user.password, newPassword: 'short' } });
    expect((await errorCode(short)).message).toMatch(/at least 12 characters/);

    const ok = await request('/api/auth/change-password', { method: 'POST', cookie, body: { currentPassword: user.password, newPassword: 'a-brand-new-secret-77' } });
    expect(ok.status).toBe(204);
    expect(env.backend.deps.db.select().from(users).where(eq(users.id, user.id)).get()!.mustChangePassword).toBe(false);
    expect((await request('/api/auth/session', { cookie })).status).toBe(200);
    expect((await request('/api/auth/session', { cookie: other.cookie })).status).toBe(401);
    await expect(signIn(env.backend, user.email, user.password)).rejects.toThrow(/401/);
    await signIn(env.backend, user.email, 'a-brand-new-secret-77');
  });

  it('lists my sessions, revokes one, and logs out everywhere', async () => {
    const user = await createUser(env.backend.deps, { email: 'many@example.org', role: 'radiologist' });
    const a = await signIn(env.backend, user.email, user.password);
    const b = await signIn(env.backend, user.email, user.password);
    const listed = (await (await request('/api/auth/sessions', { cookie: a.cookie })).json()) as { sessions: { id: string; current: boolean }[] };
    expect(listed.sessions).toHaveLength(2);
    expect(listed.sessions.filter((s) => s.current)).toHaveLength(1);
    const otherId = listed.sessions.find((s) => !s.current)!.id;
    expect((await request(`/api/auth/sessions/${otherId}`, { method: 'DELETE', cookie: a.cookie })).status).toBe(204);
    expect((await request('/api/auth/session', { cookie: b.cookie })).status).toBe(401);

    const stranger = await createUser(env.backend.deps, { email: 'stranger@example.org', role: 'admin' });
    const s = await signIn(env.backend, stranger.email, stranger.password);
    const mine = (await (await request('/api/auth/sessions', { cookie: a.cookie })).json()) as { sessions: { id: string }[] };
    expect((await request(`/api/auth/sessions/${mine.sessions[0]!.id}`, { method: 'DELETE', cookie: s.cookie })).status).toBe(404);

    const c = await signIn(env.backend, user.email, user.password);
    expect((await request('/api/auth/logout-all', { method: 'POST', cookie: a.cookie })).status).toBe(204);
    expect((await request('/api/auth/session', { cookie: a.cookie })).status).toBe(401);
    expect((await request('/api/auth/session', { cookie: c.cookie })).status).toBe(401);
  });

  it('fails closed when Redis is down: refresh answers 503 and a live access token is not trusted', async () => {
    const user = await createUser(env.backend.deps, { email: 'outage@example.org', role: 'researcher' });
    const { cookie } = await signIn(env.backend, user.email, user.password);
    await env.services.redis.stop();
    try {
      const refresh = await request('/api/auth/refresh', { method: 'POST', cookie });
      expect(refresh.status).toBe(503);
      const session = await request('/api/auth/session', { cookie });
      expect(session.status).toBe(503);
    } finally {
      await env.services.redis.restart();
    }
    expect((await request('/api/auth/session', { cookie })).status).toBe(200);
  });

  it('refuses a disabled user at sign-in and ends their live sessions at once', async () => {
    const user = await createUser(env.backend.deps, { email: 'leaver@example.org', role: 'researcher' });
    const { cookie } = await signIn(env.backend, user.email, user.password);
    env.backend.deps.db.update(users).set({ isActive: false }).where(eq(users.id, user.id)).run();
    expect((await request('/api/auth/session', { cookie })).status).toBe(401);
    expect((await request('/api/auth/refresh', { method: 'POST', cookie })).status).toBe(401);
    await expect(signIn(env.backend, user.email, user.password)).rejects.toThrow(/401/);
  });
});
