import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, apiFetch } from './client';

const respond = (status: number, body: unknown) =>
  vi.fn(async () => new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } }));

describe('apiFetch', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('returns parsed JSON and sends JSON bodies with same-origin credentials', async () => {
    const fetchMock = respond(200, { user: { email: 'a@b.c' } });
    vi.stubGlobal('fetch', fetchMock);
    await expect(apiFetch('/api/auth/login', { method: 'POST', body: { email: 'a@b.c' } })).resolves.toEqual({ user: { email: 'a@b.c' } });
    const [, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(init.credentials).toBe('same-origin');
    expect(init.body).toBe('{"email":"a@b.c"}');
  });

  it("throws the server's own message and code from the common error shape", async () => {
    vi.stubGlobal('fetch', respond(401, { error: { code: 'invalid_credentials', message: 'E-mail or password is incorrect.', requestId: 'r1' } }));
    const error = (await apiFetch('/api/auth/login').catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 401, code: 'invalid_credentials', message: 'E-mail or password is incorrect.', requestId: 'r1' });
  });

  it('explains answers without a JSON body and unreachable servers', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' })));
    await expect(apiFetch('/api/x')).rejects.toMatchObject({ status: 502, message: 'The server answered 502 Bad Gateway' });
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('fetch failed'))));
    await expect(apiFetch('/api/x')).rejects.toMatchObject({ status: 0, code: 'network_error' });
  });

  it('lets the caller accept a non-2xx status (health answers 503 with a report)', async () => {
    vi.stubGlobal('fetch', respond(503, { status: 'unavailable' }));
    await expect(apiFetch('/api/health', { acceptStatuses: [503] })).resolves.toEqual({ status: 'unavailable' });
  });
});
