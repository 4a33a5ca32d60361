// HTTP for the benchmark: undici clients, timed requests that read every byte, and a signed-in
// session (cookie jar with paths, Origin on every non-GET, token refresh before it expires).
import { performance } from 'node:perf_hooks';
import { Agent, type Dispatcher } from 'undici';

export type Headers = Record<string, string>;

export type TimedResponse = {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Bytes of the body as sent (compressed bodies are not decompressed). */
  bytes: number;
  /** From sending the request to the first body byte (or the end, for an empty body). */
  ttfbMs: number;
  /** From sending the request to the last body byte. */
  totalMs: number;
  startedAt: number;
  body?: Buffer;
};

export type RequestSpec = {
  method?: Dispatcher.HttpMethod;
  path: string;
  headers?: Headers;
  body?: Dispatcher.DispatchOptions['body'];
  /** Keep the body (for JSON answers); otherwise only counted. */
  keepBody?: boolean;
  timeoutMs?: number;
};

/** One request, timed to the last byte of the answer, with the body counted (and kept if asked). */
export async function timed(dispatcher: Dispatcher, origin: string, spec: RequestSpec): Promise<TimedResponse> {
  const startedAt = performance.now();
  const timeout = spec.timeoutMs ?? 600_000;
  const response = await dispatcher.request({
    origin,
    path: spec.path,
    method: spec.method ?? 'GET',
    headers: spec.headers,
    body: spec.body,
    headersTimeout: timeout,
    bodyTimeout: timeout,
  });
  let bytes = 0;
  let first = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of response.body) {
    if (!first) first = performance.now();
    bytes += (chunk as Buffer).length;
    if (spec.keepBody) chunks.push(chunk as Buffer);
  }
  const end = performance.now();
  return {
    status: response.statusCode,
    headers: response.headers,
    bytes,
    ttfbMs: (first || end) - startedAt,
    totalMs: end - startedAt,
    startedAt,
    body: spec.keepBody ? Buffer.concat(chunks) : undefined,
  };
}

export function jsonOf<T>(response: TimedResponse): T {
  const text = response.body?.toString('utf8') ?? '';
  return (text ? JSON.parse(text) : null) as T;
}

export class HttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${message}: HTTP ${status} ${body.slice(0, 400)}`);
  }
}

/** Fails with the answer's text unless the status is one of `ok`. */
export function expectStatus(response: TimedResponse, ok: number[], what: string): TimedResponse {
  if (!ok.includes(response.status)) throw new HttpError(what, response.status, response.body?.toString('utf8') ?? '');
  return response;
}

type Cookie = { value: string; path: string };

/** A browser-like signed-in user of the gateway. */
export class GatewaySession {
  private readonly jar = new Map<string, Cookie>();
  private issuedAt = 0;
  readonly agent: Agent;

  /**
   * @param origin where to connect (http://127.0.0.1:port)
   * @param publicUrl the stack's public URL, sent as Origin on every non-GET (CSRF check)
   */
  constructor(
    readonly origin: string,
    readonly publicUrl: string,
    readonly label: string,
  ) {
    this.agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
  }

  cookieHeader(path: string): string {
    return [...this.jar.entries()]
      .filter(([, c]) => path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
  }

  private absorb(headers: TimedResponse['headers']): void {
    const raw = headers['set-cookie'];
    for (const line of Array.isArray(raw) ? raw : raw ? [raw] : []) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const attr = (key: string) => attributes.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith(`${key}=`))?.split('=')[1];
      const path = attr('path') ?? '/';
      if (!value || attr('max-age') === '0') this.jar.delete(name);
      else this.jar.set(name, { value, path });
    }
  }

  /** Headers a browser would send for this path (cookies, and Origin when the method is not safe). */
  headersFor(path: string, method = 'GET', extra: Headers = {}): Headers {
    const headers: Headers = { ...extra };
    const cookie = this.cookieHeader(path.split('?')[0]!);
    if (cookie) headers.cookie = cookie;
    if (!['GET', 'HEAD'].includes(method)) headers.origin = this.publicUrl;
    return headers;
  }

  /** A request as this user; JSON in and out when `json` is given / the answer is JSON. */
  async call(method: Dispatcher.HttpMethod, path: string, options: { json?: unknown; headers?: Headers; body?: RequestSpec['body']; timeoutMs?: number } = {}): Promise<TimedResponse> {
    const headers = this.headersFor(path, method, options.headers);
    let body = options.body;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const response = await timed(this.agent, this.origin, { method, path, headers, body, keepBody: true, timeoutMs: options.timeoutMs });
    this.absorb(response.headers);
    return response;
  }

  async json<T>(method: Dispatcher.HttpMethod, path: string, ok: number[], options: Parameters<GatewaySession['call']>[2] = {}): Promise<T> {
    return jsonOf<T>(expectStatus(await this.call(method, path, options), ok, `${this.label} ${method} ${path}`));
  }

  async login(email: string, password: string): Promise<void> {
    await this.json('POST', '/api/auth/login', [200, 204], { json: { email, password } });
    this.issuedAt = Date.now();
  }

  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await this.json('POST', '/api/auth/change-password', [200, 204], { json: { currentPassword, newPassword } });
    this.issuedAt = Date.now();
  }

  /** Access cookies live 10 minutes: renew them (refresh rotation) when older than `maxAgeMs`. */
  async ensureFresh(maxAgeMs = 4 * 60_000): Promise<void> {
    if (Date.now() - this.issuedAt < maxAgeMs) return;
    await this.json('POST', '/api/auth/refresh', [200, 204]);
    this.issuedAt = Date.now();
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
