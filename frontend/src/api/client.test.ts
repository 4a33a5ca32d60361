import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, apiFetch, apiFetchWithStatus, messageOf, onSessionEvent } from './client';

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

  it('tells which success status answered, for calls where 200 and 202 differ', async () => {
    vi.stubGlobal('fetch', respond(202, { job: { id: 'j1' } }));
    await expect(apiFetchWithStatus('/api/inference/jobs', { method: 'POST', body: {} })).resolves.toEqual({ status: 202, body: { job: { id: 'j1' } } });
    vi.stubGlobal('fetch', respond(200, { job: { id: 'j1' } }));
    await expect(apiFetchWithStatus('/api/inference/jobs', { method: 'POST', body: {} })).resolves.toMatchObject({ status: 200 });
  });

  it('lets the caller accept a non-2xx status (health answers 503 with a report) and 204 as no body', async () => {
    vi.stubGlobal('fetch', respond(503, { status: 'unavailable' }));
    await expect(apiFetch('/api/health', { acceptStatuses: [503] })).resolves.toEqual({ status: 'unavailable' });
    vi.stubGlobal('fetch', respond(204, undefined));
    await expect(apiFetch('/api/auth/logout', { method: 'POST' })).resolves.toBeUndefined();
  });
});

/** A fake backend: each path answers from its own queue of [status, body] (the last answer repeats). */
function fakeBackend(answers: Record<string, [number, unknown][]>) {
  const calls: { path: string; method: string; body?: string }[] = [];
  const fetchMock = vi.fn(async (path: string, init: RequestInit = {}) => {
    calls.push({ path, method: init.method ?? 'GET', body: init.body as string | undefined });
    const queue = answers[path];
    if (!queue?.length) throw new Error(`unexpected call to ${path}`);
    const [status, body] = queue.length > 1 ? queue.shift()! : queue[0]!;
    // Let concurrent callers interleave the way real network answers do.
    await new Promise((resolve) => setTimeout(resolve, 1));
    return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  });
  vi.stubGlobal('fetch', fetchMock);
  return { calls };
}

const expired = [401, { error: { code: 'access_token_expired', message: 'Your sign-in has expired.' } }] as [number, unknown];
const refused = [401, { error: { code: 'unauthorized', message: 'Sign in to continue.' } }] as [number, unknown];

describe('apiFetch renewing an expired sign-in', () => {
  const events: string[] = [];
  let unsubscribe: () => void = () => undefined;

  beforeEach(() => {
    events.length = 0;
    unsubscribe = onSessionEvent((event) => events.push(event));
  });
  afterEach(() => {
    unsubscribe();
    vi.unstubAllGlobals();
  });

  it('refreshes once on access_token_expired and repeats the original call with its body', async () => {
    const { calls } = fakeBackend({ '/api/tokens': [expired, [201, { secret: 'pdt_x' }]], '/api/auth/refresh': [[200, { user: {} }]] });
    await expect(apiFetch('/api/tokens', { method: 'POST', body: { name: 'ci' } })).resolves.toEqual({ secret: 'pdt_x' });
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /api/tokens', 'POST /api/auth/refresh', 'POST /api/tokens']);
    expect(calls[1]!.body).toBeUndefined();
    expect(calls[2]!.body).toBe('{"name":"ci"}');
    expect(events).toEqual([]);
  });

  it('makes concurrent callers share one refresh', async () => {
    const { calls } = fakeBackend({
      '/api/studies': [expired, expired, [200, { studies: [] }]],
      '/api/tokens': [expired, [200, { tokens: [] }]],
      '/api/auth/refresh': [[200, { user: {} }]],
    });
    const results = await Promise.all([apiFetch('/api/studies'), apiFetch('/api/tokens'), apiFetch('/api/studies')]);
    expect(results).toEqual([{ studies: [] }, { tokens: [] }, { studies: [] }]);
    expect(calls.filter((c) => c.path === '/api/auth/refresh')).toHaveLength(1);
  });

  it('ends the session when the refresh is refused, without repeating the call', async () => {
    const { calls } = fakeBackend({ '/api/studies': [expired], '/api/auth/refresh': [refused] });
    await expect(apiFetch('/api/studies')).rejects.toMatchObject({ status: 401, code: 'session_ended' });
    expect(calls.map((c) => c.path)).toEqual(['/api/studies', '/api/auth/refresh']);
    expect(events).toEqual(['ended']);
  });

  it('announces the end once even when several callers were waiting for the refresh', async () => {
    fakeBackend({ '/api/studies': [expired], '/api/auth/refresh': [refused] });
    const outcomes = await Promise.allSettled([apiFetch('/api/studies'), apiFetch('/api/studies')]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(events).toEqual(['ended']);
  });

  it('refreshes at most once per call: still expired after renewing means the session is over', async () => {
    const { calls } = fakeBackend({ '/api/studies': [expired], '/api/auth/refresh': [[200, { user: {} }]] });
    await expect(apiFetch('/api/studies')).rejects.toMatchObject({ status: 401, code: 'access_token_expired' });
    expect(calls.map((c) => c.path)).toEqual(['/api/studies', '/api/auth/refresh', '/api/studies']);
    expect(events).toEqual(['ended']);
  });

  it('never refreshes for the login and refresh calls themselves', async () => {
    const { calls } = fakeBackend({ '/api/auth/login': [expired], '/api/auth/refresh': [expired] });
    await expect(apiFetch('/api/auth/login', { method: 'POST', body: {} })).rejects.toMatchObject({ code: 'access_token_expired' });
    await expect(apiFetch('/api/auth/refresh', { method: 'POST' })).rejects.toMatchObject({ code: 'access_token_expired' });
    expect(calls.map((c) => c.path)).toEqual(['/api/auth/login', '/api/auth/refresh']);
    expect(events).toEqual([]);
  });

  it('leaves a wrong password on the login page alone', async () => {
    fakeBackend({ '/api/auth/login': [[401, { error: { code: 'invalid_credentials', message: 'E-mail or password is incorrect.' } }]] });
    await expect(apiFetch('/api/auth/login', { method: 'POST', body: {} })).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(events).toEqual([]);
  });

  it('ends the session on other 401s (revoked elsewhere) without trying a refresh', async () => {
    const { calls } = fakeBackend({ '/api/studies': [[401, { error: { code: 'session_ended', message: 'This session has ended.' } }]] });
    await expect(apiFetch('/api/studies')).rejects.toMatchObject({ code: 'session_ended', message: 'This session has ended.' });
    expect(calls).toHaveLength(1);
    expect(events).toEqual(['ended']);
  });

  it('keeps the session when the server cannot be reached or is unavailable during the refresh', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async (path: string) => {
        if (path === '/api/auth/refresh') throw new TypeError('fetch failed');
        return new Response(JSON.stringify({ error: { code: 'access_token_expired', message: 'expired' } }), { status: 401 });
      }),
    );
    await expect(apiFetch('/api/studies')).rejects.toMatchObject({ status: 0, code: 'network_error' });
    fakeBackend({ '/api/studies': [expired], '/api/auth/refresh': [[503, { error: { code: 'session_store_unavailable', message: 'Sessions are unavailable.' } }]] });
    await expect(apiFetch('/api/studies')).rejects.toMatchObject({ status: 503, message: 'Sessions are unavailable.' });
    expect(events).toEqual([]);
  });

  it('announces password_change_required so the app can send the user to the password page', async () => {
    fakeBackend({ '/api/studies': [[403, { error: { code: 'password_change_required', message: 'Change your password first.' } }]] });
    await expect(apiFetch('/api/studies')).rejects.toMatchObject({ status: 403, code: 'password_change_required' });
    expect(events).toEqual(['password_change_required']);
  });

  it('stops announcing to a listener that unsubscribed', async () => {
    unsubscribe();
    fakeBackend({ '/api/studies': [[401, { error: { code: 'session_ended', message: 'ended' } }]] });
    await expect(apiFetch('/api/studies')).rejects.toBeInstanceOf(ApiError);
    expect(events).toEqual([]);
  });
});

describe('messageOf', () => {
  it("shows the server's message, or the fallback for anything else", () => {
    expect(messageOf(new ApiError(409, 'group_in_use', 'The group still owns 3 studies.'), 'x')).toBe('The group still owns 3 studies.');
    expect(messageOf(new Error('boom'), 'Could not load.')).toBe('Could not load.');
  });
});
