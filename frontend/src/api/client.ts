/** Error answers from the backend all share this shape. */
type ErrorBody = { error?: { code?: string; message?: string; requestId?: string } };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

export async function errorFromResponse(response: Response): Promise<ApiError> {
  let body: ErrorBody | null = null;
  try {
    body = (await response.json()) as ErrorBody;
  } catch {
    body = null;
  }
  const message = body?.error?.message ?? `The server answered ${response.status} ${response.statusText || ''}`.trim();
  return new ApiError(response.status, body?.error?.code ?? 'http_error', message, body?.error?.requestId);
}

export async function apiFetch<T>(path: string, init: { method?: string; body?: unknown; acceptStatuses?: number[] } = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: init.method ?? 'GET',
      credentials: 'same-origin',
      headers: init.body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  } catch {
    throw new ApiError(0, 'network_error', 'The server could not be reached. Check your connection and try again.');
  }
  if (!response.ok && !init.acceptStatuses?.includes(response.status)) throw await errorFromResponse(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}
