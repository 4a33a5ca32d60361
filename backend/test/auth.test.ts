import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desc, eq } from 'drizzle-orm';
import { bootstrapFirstAdmin } from '../src/admin/bootstrap.js';
import { auditLog, sessions, users } from '../src/db/schema.js';
import { cookieFrom, createTestBackend, sameOrigin, startTestServices, type TestBackend, type TestServices } from './harness.js';

describe('sign-in, session cookie and the gateway session check (real Redis)', () => {
  let services: TestServices;
  let backend: TestBackend;
  let admin: { email: string; password: string };

  beforeAll(async () => {
    services = await startTestServices();
    backend = createTestBackend(services);
    const created = await bootstrapFirstAdmin({ db: backend.deps.db, input: { email: 'Admin@Example.org' } });
    if (!created.created) throw new Error('expected a new admin');
    admin = created;
  });
  afterAll(async () => {
    await backend?.close();
    await services?.stop();
  });

  const login = (body: unknown, headers: Record<string, string> = sameOrigin) =>
    backend.app.request('/api/auth/login', { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('creates the first admin once, lower-cased, with a must-change-password flag', async () => {
    expect(admin.email).toBe('admin@example.org');
    expect(admin.password).toHaveLength(24);
    const again = await bootstrapFirstAdmin({ db: backend.deps.db, input: { email: 'other@example.org' } });
    expect(again).toEqual({ created: false, email: 'admin@example.org' });
    const row = backend.deps.db.select().from(users).where(eq(users.email, 'admin@example.org')).get()!;
    expect(row.role).toBe('admin');
    expect(row.mustChangePassword).toBe(true);
    expect(row.passwordHash).not.toContain(admin.password);
  });

  it('signs in (e-mail case-insensitive) and sets an HttpOnly SameSite session cookie', async () => {
    const response = await login({ email: 'ADMIN@example.org', password: admin.password });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { user: { email: string; role: string; mustChangePassword: boolean } };
    expect(body.user).toMatchObject({ email: 'admin@example.org', role: 'admin', mustChangePassword: true });
    const [access, refresh] = ['pd_access', 'pd_refresh'].map((name) => response.headers.getSetCookie().find((c) => c.startsWith(`${name}=`))!);
    expect(access).toMatch(/^pd_access=[\w-]+\.[\w-]+\.[\w-]+;/);
    expect(access).toContain('HttpOnly');
    expect(access).toContain('SameSite=Lax');
    expect(access).toContain('Path=/;');
    expect(access).not.toContain('Secure'); // PD_PUBLIC_URL is http in this test
    expect(refresh).toMatch(/^pd_refresh=[A-Za-z0-9_-]{43};/);
    expect(refresh).toContain('HttpOnly');
    expect(refresh).toContain('SameSite=Strict');
    expect(refresh).toContain('Path=/api/auth');

    const cookie = cookieFrom(response);
    const session = await backend.app.request('/api/auth/session', { headers: { cookie } });
    expect(session.status).toBe(200);
    expect(((await session.json()) as { user: { email: string } }).user.email).toBe('admin@example.org');
    const check = await backend.app.request('/api/auth/check', { headers: { cookie } });
    expect(check.status).toBe(204);
  });

  it('marks the cookie Secure when the public URL is https', async () => {
    const tls = createTestBackend(services, { PD_PUBLIC_URL: 'https://gateway.test' });
    try {
      await bootstrapFirstAdmin({ db: tls.deps.db, input: { email: 'a@example.org' } }).then(async (created) => {
        if (!created.created) throw new Error('expected admin');
        const response = await tls.app.request('/api/auth/login', {
          method: 'POST',
          headers: { origin: 'https://gateway.test', 'content-type': 'application/json' },
          body: JSON.stringify({ email: created.email, password: created.password }),
        });
        expect(response.status).toBe(200);
        for (const cookie of response.headers.getSetCookie()) expect(cookie).toContain('Secure');
      });
    } finally {
      await tls.close();
    }
  });

  it('gives the same answer for a wrong password and an unknown e-mail, and audits both', async () => {
    const wrong = await login({ email: admin.email, password: 'not-the-password' });
    const unknown = await login({ email: 'nobody@example.org', password: 'whatever' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const wrongBody = (await wrong.json()) as { error: { code: string; message: string } };
    const unknownBody = (await unknown.json()) as { error: { code: string; message: string } };
    expect(wrongBody.error.message).toBe('E-mail or password is incorrect.');
    expect(unknownBody.error.message).toBe(wrongBody.error.message);
    expect(unknownBody.error.code).toBe(wrongBody.error.code);
    const failures = backend.deps.db.select().from(auditLog).where(eq(auditLog.outcome, 'failure')).all();
    expect(failures.map((row) => (row.details as { reason: string }).reason).sort()).toEqual(['unknown_email', 'wrong_password']);
    expect(JSON.stringify(failures)).not.toContain('not-the-password');
  });

  it('answers malformed and hostile bodies with 400 and a message naming the problem', async () => {
    const notJson = await login('{"email": ');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { message: string } }).error.message).toMatch(/JSON/i);

    const missing = await login({ email: 'not-an-email' });
    expect(missing.status).toBe(400);
    const missingBody = (await missing.json()) as { error: { code: string; message: string } };
    expect(missingBody.error.code).toBe('validation_failed');
    expect(missingBody.error.message).toContain('email');
    expect(missingBody.error.message).toContain('password');

    const huge = await login({ email: `${'a'.repeat(300)}@example.org`, password: 'x'.repeat(5000) });
    expect(huge.status).toBe(400);

    const array = await login([1, 2, 3]);
    expect(array.status).toBe(400);

    const oversized = await login({ email: admin.email, password: 'x'.repeat(100_000) });
    expect(oversized.status).toBe(413);
    expect(((await oversized.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');

    const wrongType = await backend.app.request('/api/auth/login', { method: 'POST', headers: { origin: 'http://gateway.test', 'content-type': 'text/plain' }, body: 'email=a' });
    expect(wrongType.status).toBe(415);
    expect(((await wrongType.json()) as { error: { message: string } }).error.message).toContain('Content-Type: application/json');
  });

  it('refuses a cross-origin sign-in and a cookie-carrying POST without Origin (CSRF)', async () => {
    const crossSite = await login({ email: admin.email, password: admin.password }, { origin: 'https://evil.example', 'content-type': 'application/json' });
    expect(crossSite.status).toBe(403);
    expect(((await crossSite.json()) as { error: { code: string } }).error.code).toBe('cross_origin_refused');

    const ok = await login({ email: admin.email, password: admin.password });
    const cookie = cookieFrom(ok);
    const noOrigin = await backend.app.request('/api/auth/logout', { method: 'POST', headers: { cookie } });
    expect(noOrigin.status).toBe(403);
    const stillValid = await backend.app.request('/api/auth/session', { headers: { cookie } });
    expect(stillValid.status).toBe(200);
  });

  it('keeps CORS closed: no Access-Control headers, even for a preflight from another origin', async () => {
    const preflight = await backend.app.request('/api/auth/login', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
    const simple = await backend.app.request('/api/health', { headers: { origin: 'https://evil.example' } });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses unauthenticated and forged sessions', async () => {
    expect((await backend.app.request('/api/auth/session')).status).toBe(401);
    expect((await backend.app.request('/api/auth/check')).status).toBe(401);
    const forged = await backend.app.request('/api/auth/check', { headers: { cookie: 'pd_access=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA' } });
    expect(forged.status).toBe(401);
    const absurd = await backend.app.request('/api/auth/session', { headers: { cookie: `pd_access=${'x'.repeat(5000)}` } });
    expect(absurd.status).toBe(401);
    const badBearer = await backend.app.request('/api/auth/session', { headers: { authorization: 'Bearer nope' } });
    expect(badBearer.status).toBe(401);
    expect(((await badBearer.json()) as { error: { code: string } }).error.code).toBe('invalid_token');
  });

  it('logs out: the session row is revoked, the token no longer works, and both are audited', async () => {
    const response = await login({ email: admin.email, password: admin.password });
    const cookie = cookieFrom(response);
    const out = await backend.app.request('/api/auth/logout', { method: 'POST', headers: { ...sameOrigin, cookie } });
    expect(out.status).toBe(204);
    expect((await backend.app.request('/api/auth/check', { headers: { cookie } })).status).toBe(401);
    const lastSession = backend.deps.db.select().from(sessions).orderBy(desc(sessions.createdAt)).get()!;
    expect(lastSession.revokedAt).not.toBeNull();
    const lastAudit = backend.deps.db.select().from(auditLog).orderBy(desc(auditLog.id)).get()!;
    expect(lastAudit.action).toBe('auth.logout');
    expect(lastAudit.targetId).toBe(lastSession.id);
  });

  it('fails closed with 503 when Redis is unreachable, leaving no usable session behind', async () => {
    await services.redis.stop();
    try {
      const response = await login({ email: admin.email, password: admin.password });
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/unavailable/i);
      const newest = backend.deps.db.select().from(sessions).orderBy(desc(sessions.createdAt)).get()!;
      expect(newest.revokedAt).not.toBeNull();
    } finally {
      await services.redis.restart();
    }
    const afterRestart = await login({ email: admin.email, password: admin.password });
    expect(afterRestart.status).toBe(200);
  });

  it('keeps the audit trail append-only at the database level', () => {
    const sqlite = backend.deps.db.$client;
    expect(() => sqlite.prepare('UPDATE audit_log SET outcome = ?').run('success')).toThrow(/append-only/);
    expect(() => sqlite.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
  });

  it('answers unknown routes with the common JSON error shape', async () => {
    const response = await backend.app.request('/api/nope');
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error.code).toBe('not_found');
    expect(body.error.requestId).toBeTruthy();
    expect(response.headers.get('x-request-id')).toBe(body.error.requestId);
  });

  it('keeps a request id given by the gateway and refuses to echo a forged one', async () => {
    const kept = await backend.app.request('/api/health/live', { headers: { 'x-request-id': 'abc123def456' } });
    expect(kept.headers.get('x-request-id')).toBe('abc123def456');
    const forged = await backend.app.request('/api/health/live', { headers: { 'x-request-id': 'bad id <script>' } });
    // A fresh UUID instead (hex digits can spell 'bad' by chance, so match the shape, not a word).
    expect(forged.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('serves the OpenAPI document and the browsable docs page', async () => {
    const doc = await backend.app.request('/api/openapi.json');
    expect(doc.status).toBe(200);
    const body = (await doc.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(body.openapi).toBe('3.1.0');
    expect(Object.keys(body.paths)).toEqual(expect.arrayContaining(['/api/health', '/api/auth/login', '/api/auth/refresh', '/api/auth/logout', '/api/auth/session', '/api/auth/check']));
    const page = await backend.app.request('/api/docs');
    expect(await page.text()).toContain('swagger-ui');
    const bundle = await backend.app.request('/api/docs/assets/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect((await backend.app.request('/api/docs/assets/..%2f..%2fpackage.json')).status).toBe(404);
  });
});
