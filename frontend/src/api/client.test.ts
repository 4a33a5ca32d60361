import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, apiFetch } from './client';

const respond = (status: number, body: unknown) =>
  vi.fn(async () => new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } }));

const caught = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

describe('apiFetch', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('returns parsed JSON and sends JSON bodies with same-origin credentials', async () => {
    const fetchMock = respond(200, { user: { email: 'a@b.c' } });
    vi.stubGlobal('fetch', fetchMock);
    await expect(apiFetch('/api/auth/login', { method: 'POST', body: { email: 'a@b.c' } })).resolves.toEqual({ user: { email: 'a@b.c' } });
    const [path, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(path).toBe('/api/auth/login');
    expect(init).toMatchObject({ method: 'POST', credentials: 'same-origin', body: '{"email":"a@b.c"}' });
    expect(init.headers).toMatchObject({ 'content-type': 'application/json' });
  });

  it("throws the server's own code, message, request id and details from the common error shape", async () => {
    vi.stubGlobal('fetch', respond(401, { error: { code: 'invalid_credentials', message: 'E-mail or password is incorrect.', requestId: 'r1' } }));
    const error = await caught(apiFetch('/api/auth/login'));
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 401, code: 'invalid_credentials', message: 'E-mail or password is incorrect.', requestId: 'r1' });

    const issues = [{ path: ['email'], message: 'Invalid email address' }];
    vi.stubGlobal('fetch', respond(400, { error: { code: 'validation_failed', message: 'email: Invalid email address', details: issues } }));
    await expect(apiFetch('/api/auth/login')).rejects.toMatchObject({ status: 400, code: 'validation_failed', details: issues });
  });

  it('explains answers without a JSON body and unreachable servers', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' })));
    await expect(apiFetch('/api/x')).rejects.toMatchObject({ status: 502, code: 'http_error', message: 'The server answered 502 Bad Gateway' });
    vi.stubGlobal('fetch', vi.fn(async () => new Response('<html></html>', { status: 200 })));
    await expect(apiFetch('/api/x')).rejects.toMatchObject({ status: 200, code: 'invalid_response' });
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('fetch failed'))));
    await expect(apiFetch('/api/x')).rejects.toMatchObject({ status: 0, code: 'network_error' });
  });

  it('passes a cancellation through unchanged instead of reporting a network error', async () => {
    const controller = new AbortController();
    controller.abort();
    vi.stubGlobal('fetch', vi.fn(async (_path: string, init: RequestInit) => Promise.reject(init.signal!.reason)));
    const error = await caught(apiFetch('/api/health', { signal: controller.signal }));
    expect(error).not.toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ name: 'AbortError' });
  });

  it('lets the caller accept a non-2xx status (health answers 503 with a report) and 204 as no body', async () => {
    vi.stubGlobal('fetch', respond(503, { status: 'unavailable' }));
    await expect(apiFetch('/api/health', { acceptStatuses: [503] })).resolves.toEqual({ status: 'unavailable' });
    vi.stubGlobal('fetch', respond(204, undefined));
    await expect(apiFetch('/api/auth/logout', { method: 'POST' })).resolves.toBeUndefined();
  });
});
