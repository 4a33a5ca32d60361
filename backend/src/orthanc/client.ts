import { Agent, request, type Dispatcher } from 'undici';

export type OrthancClientOptions = { url: string; user: string; password: string; timeoutMs: number };

export class OrthancError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Thin Orthanc REST client. One keep-alive agent per client so every call reuses
 * connections; timeouts bound how long a stuck Orthanc can hold a request.
 */
export class OrthancClient {
  private readonly agent: Agent;
  private readonly authorization: string;
  readonly baseUrl: string;

  constructor(private readonly options: OrthancClientOptions) {
    this.baseUrl = options.url.replace(/\/+$/, '');
    this.authorization = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 120_000,
      connections: 64,
      connectTimeout: Math.min(options.timeoutMs, 5_000),
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  /** Raw request; the caller owns the body stream. */
  async raw(
    method: Dispatcher.HttpMethod,
    path: string,
    init: { headers?: Record<string, string>; body?: Dispatcher.DispatchOptions['body']; signal?: AbortSignal } = {},
  ): Promise<Dispatcher.ResponseData> {
    return request(`${this.baseUrl}${path}`, {
      method,
      dispatcher: this.agent,
      headers: { authorization: this.authorization, ...init.headers },
      body: init.body,
      signal: init.signal,
    });
  }

  async json<T>(method: Dispatcher.HttpMethod, path: string, init: { body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
    const response = await this.raw(method, path, {
      headers: init.body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    });
    const text = await response.body.text();
    if (response.statusCode >= 400) throw new OrthancError(response.statusCode, `Orthanc answered ${response.statusCode} to ${method} ${path}: ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : null) as T;
  }

  /** GET /system: cheap, authenticated, proves Orthanc is serving. */
  async system(signal?: AbortSignal): Promise<{ Version: string; Name: string; ApiVersion: number }> {
    return this.json('GET', '/system', { signal });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
