/** Error answers from the backend all share this shape. */
type ErrorBody = { error?: { code?: string; message?: string; requestId?: string; details?: unknown } };

export class ApiError extends Error {
  override name = 'ApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export type ApiRequest = {
  method?: string;
  body?: unknown;
  /** Non-2xx statuses whose body is a normal answer, not an error (health answers 503 with its report). */
  acceptStatuses?: number[];
  signal?: AbortSignal;
};

/**
 * What the client learns about the session while answering calls: `ended` (no way to
 * renew it: show the login page) and `password_change_required` (the server refuses
 * everything until the password is changed).
 */
export type SessionEvent = 'ended' | 'password_change_required';
type SessionListener = (event: SessionEvent) => void;

const sessionListeners = new Set<SessionListener>();

/** Subscribes to session events; returns the unsubscribe function. */
export function onSessionEvent(listener: SessionListener): () => void {
  sessionListeners.add(listener);
  return () => sessionListeners.delete(listener);
}

function announce(event: SessionEvent): void {
  for (const listener of sessionListeners) listener(event);
}

/** The text to show for a failed call: the server's own message when there is one. */
export function messageOf(error: unknown, fallback: string): string {
  return error instanceof ApiError ? error.message : fallback;
}

export async function errorFromResponse(response: Response): Promise<ApiError> {
  let body: ErrorBody | null = null;
  try {
    body = (await response.json()) as ErrorBody;
  } catch {
    body = null;
  }
  const error = body?.error;
  const message = error?.message ?? `The server answered ${response.status} ${response.statusText}`.trim();
  return new ApiError(response.status, error?.code ?? 'http_error', message, error?.requestId, error?.details);
}

const REFRESH_PATH = '/api/auth/refresh';
// These start or renew a session; a 401 from them is their answer, not an expired sign-in.
const sessionEntryPaths = new Set(['/api/auth/login', REFRESH_PATH]);

const networkError = () => new ApiError(0, 'network_error', 'The server could not be reached. Check your connection and try again.');
const sessionEnded = () => new ApiError(401, 'session_ended', 'Your session has ended. Sign in again.');

async function send(path: string, request: ApiRequest): Promise<Response> {
  const hasBody = request.body !== undefined;
  try {
    return await fetch(path, {
      method: request.method ?? 'GET',
      credentials: 'same-origin',
      headers: hasBody ? { accept: 'application/json', 'content-type': 'application/json' } : { accept: 'application/json' },
      body: hasBody ? JSON.stringify(request.body) : undefined,
      signal: request.signal,
    });
  } catch (error) {
    // A cancelled request is the caller's own doing, not a connection problem to report.
    if (request.signal?.aborted) throw error;
    throw networkError();
  }
}

let refreshInFlight: Promise<void> | null = null;

/**
 * Renews the access cookie. Concurrent callers share one request, because the refresh
 * cookie rotates: a second refresh racing the first would present a spent one.
 * Resolves when renewed; a refusal ends the session (announced once, for everyone waiting).
 * An unreachable or unavailable server is reported as such and leaves the session alone,
 * so a later call can still renew it.
 */
function renewSession(): Promise<void> {
  refreshInFlight ??= (async () => {
    let response: Response;
    try {
      response = await fetch(REFRESH_PATH, { method: 'POST', credentials: 'same-origin', headers: { accept: 'application/json' } });
    } catch {
      throw networkError();
    }
    if (response.ok) return;
    if (response.status >= 500) throw await errorFromResponse(response);
    announce('ended');
    throw sessionEnded();
  })().finally(() => {
    refreshInFlight = null;
  });
  return refreshInFlight;
}

function isFailure(response: Response, request: ApiRequest): boolean {
  return !response.ok && !request.acceptStatuses?.includes(response.status);
}

/** Tells the session about errors that change what the app may show, then hands the error back. */
function noticed(error: ApiError, path: string): ApiError {
  if (error.status === 403 && error.code === 'password_change_required') announce('password_change_required');
  // Revoked elsewhere, signed out everywhere, or renewed and still refused: the session is over.
  else if (error.status === 401 && !sessionEntryPaths.has(path)) announce('ended');
  return error;
}

/**
 * Calls the backend and returns its JSON answer. An expired access cookie (401
 * `access_token_expired`) is renewed once with the refresh cookie and the call repeated once.
 */
export async function apiFetch<T>(path: string, request: ApiRequest = {}): Promise<T> {
  return (await apiFetchWithStatus<T>(path, request)).body;
}

/**
 * `apiFetch`, also telling which success status answered: some calls mean different things by
 * 200 and 201/202 (an existing job found again, or a new one made).
 */
export async function apiFetchWithStatus<T>(path: string, request: ApiRequest = {}): Promise<{ status: number; body: T }> {
  let response = await send(path, request);
  if (isFailure(response, request)) {
    const error = await errorFromResponse(response);
    if (error.status !== 401 || error.code !== 'access_token_expired' || sessionEntryPaths.has(path)) throw noticed(error, path);
    await renewSession();
    response = await send(path, request);
    if (isFailure(response, request)) throw noticed(await errorFromResponse(response), path);
  }
  if (response.status === 204) return { status: 204, body: undefined as T };
  try {
    return { status: response.status, body: (await response.json()) as T };
  } catch (error) {
    if (request.signal?.aborted) throw error;
    throw new ApiError(response.status, 'invalid_response', `The server answered ${response.status} without the expected JSON.`);
  }
}

/**
 * Makes sure the access cookie is fresh before a plain navigation (a CSV download, say)
 * that cannot renew it by itself.
 */
export async function ensureFreshSession(): Promise<void> {
  await apiFetch('/api/auth/session');
}
