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

export async function apiFetch<T>(path: string, request: ApiRequest = {}): Promise<T> {
  const hasBody = request.body !== undefined;
  let response: Response;
  try {
    response = await fetch(path, {
      method: request.method ?? 'GET',
      credentials: 'same-origin',
      headers: hasBody ? { accept: 'application/json', 'content-type': 'application/json' } : { accept: 'application/json' },
      body: hasBody ? JSON.stringify(request.body) : undefined,
      signal: request.signal,
    });
  } catch (error) {
    // A cancelled request is the caller's own doing, not a connection problem to report.
    if (request.signal?.aborted) throw error;
    throw new ApiError(0, 'network_error', 'The server could not be reached. Check your connection and try again.');
  }
  if (!response.ok && !request.acceptStatuses?.includes(response.status)) throw await errorFromResponse(response);
  if (response.status === 204) return undefined as T;
  try {
    return (await response.json()) as T;
  } catch (error) {
    if (request.signal?.aborted) throw error;
    throw new ApiError(response.status, 'invalid_response', `The server answered ${response.status} without the expected JSON.`);
  }
}
