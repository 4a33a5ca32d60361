import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, errors, request, type Dispatcher } from 'undici';
import { AppError } from '../lib/errors.js';

export type OrthancClientOptions = { url: string; user: string; password: string; timeoutMs: number };

export class OrthancError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN']);

/** The archive could not be talked to at all (down, frozen, unreachable): 503 naming it, not a 500. */
export class OrthancUnavailableError extends AppError {
  constructor(cause: string) {
    super(503, 'orthanc_unavailable', `The image archive (Orthanc) cannot be reached right now (${cause}). Try again in a moment.`);
  }
}

/** Connection-level failures of a request to Orthanc, told apart from the caller's own abort. */
export function isOrthancConnectionError(error: unknown): boolean {
  if (error instanceof OrthancUnavailableError) return true;
  if (error instanceof errors.ConnectTimeoutError || error instanceof errors.HeadersTimeoutError || error instanceof errors.SocketError || error instanceof errors.BodyTimeoutError) return true;
  const code = (error as { code?: string } | null)?.code ?? (error as { cause?: { code?: string } } | null)?.cause?.code;
  return typeof code === 'string' && CONNECTION_ERROR_CODES.has(code);
}

function isStaleConnection(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code ?? (error as { cause?: { code?: string } } | null)?.cause?.code;
  return error instanceof errors.SocketError || code === 'ECONNRESET' || code === 'EPIPE';
}

function describeConnectionError(error: unknown): string {
  if (error instanceof errors.ConnectTimeoutError) return 'connection timed out';
  if (error instanceof errors.HeadersTimeoutError || error instanceof errors.BodyTimeoutError) return 'it did not answer in time';
  if (error instanceof errors.SocketError) return 'the connection broke off';
  const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  return code === 'ECONNREFUSED' ? 'connection refused' : code ? code : (error as Error).message;
}

/** What a store sends: bytes, or a function opening a fresh stream per attempt; a bare stream can be sent only once. */
export type StoreBody = Buffer | Buffer[] | Readable | (() => Readable);

// Each try lands in a new random folder, so tries fail independently: with a neighbour removing
// folders non-stop (the integration test) ~2 % of first tries fail; five leave ~1e-8.
export const STORE_ATTEMPTS = 5;
// Orthanc's ErrorCode_FileStorageCannotWrite (create_directories lost the race) and
// ErrorCode_CannotWriteFile (the directory went away before the file was written).
const STORAGE_RACE_STATUSES = new Set([2001, 14]);
// The third shape: the top folder was removed while create_directories made its subfolder;
// boost's filesystem_error comes back as an internal error (-1) naming the folder.
const FILESYSTEM_ERROR = 'Error while accessing the filesystem';

export function isStorageRace(statusCode: number, text: string): boolean {
  if (statusCode !== 500) return false;
  try {
    const answer = JSON.parse(text) as { OrthancStatus?: number; Details?: unknown };
    if (answer.OrthancStatus === -1) return typeof answer.Details === 'string' && answer.Details.startsWith(FILESYSTEM_ERROR);
    return STORAGE_RACE_STATUSES.has(answer.OrthancStatus ?? -1);
  } catch {
    return false;
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
      // Orthanc answers "Keep-Alive: timeout=1"; undici's default 2 s safety margin turned that
      // into closing every connection after one request (a new TCP connection per instance stored).
      keepAliveTimeoutThreshold: 100,
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
    init: { headers?: Record<string, string>; body?: Dispatcher.DispatchOptions['body'] | Buffer[] | (() => Readable); signal?: AbortSignal } = {},
  ): Promise<Dispatcher.ResponseData> {
    const send = () =>
      request(`${this.baseUrl}${path}`, {
        method,
        dispatcher: this.agent,
        headers: { authorization: this.authorization, ...init.headers },
        // undici writes an iterable body piece by piece; its types leave iterables out.
        body: (typeof init.body === 'function' ? init.body() : init.body) as Dispatcher.DispatchOptions['body'],
        signal: init.signal,
      });
    try {
      try {
        return await send();
      } catch (error) {
        // A kept-alive connection Orthanc closed just as this request went out: send it once
        // more on a fresh one, when the body can be sent again (every store is idempotent).
        const replayable = init.body === undefined || init.body === null || typeof init.body === 'string' || typeof init.body === 'function' || Buffer.isBuffer(init.body) || init.body instanceof Uint8Array || Array.isArray(init.body);
        if (!replayable || init.signal?.aborted || !isStaleConnection(error)) throw error;
        return await send();
      }
    } catch (error) {
      if (!init.signal?.aborted && isOrthancConnectionError(error)) throw new OrthancUnavailableError(describeConnectionError(error));
      throw error;
    }
  }

  /**
   * POST /instances, answered as text. Orthanc 1.10 (Debian 12's) fails a store with 500 when two
   * stores create the same new storage directory at once, or a delete (a duplicate's too: 1.10
   * writes it, then removes it) removes a folder another store needs (see isStorageRace); later
   * Orthanc versions retry that themselves, a few ms apart. The same is done here when the body
   * can be sent again (bytes, or a stream factory such as a spooled file's).
   */
  async storeInstance(body: StoreBody, headers: Record<string, string>, signal?: AbortSignal): Promise<{ statusCode: number; text: string }> {
    const replayable = !(body instanceof Readable);
    for (let attempt = 1; ; attempt++) {
      const response = await this.raw('POST', '/instances', { headers, body, signal });
      const text = await response.body.text();
      if (!replayable || attempt >= STORE_ATTEMPTS || !isStorageRace(response.statusCode, text) || signal?.aborted) return { statusCode: response.statusCode, text };
      await sleep(2 * attempt + Math.random() * 10);
    }
  }

  async json<T>(method: Dispatcher.HttpMethod, path: string, init: { body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
    const response = await this.raw(method, path, {
      headers: init.body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    });
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      if (!init.signal?.aborted && isOrthancConnectionError(error)) throw new OrthancUnavailableError(describeConnectionError(error));
      throw error;
    }
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
