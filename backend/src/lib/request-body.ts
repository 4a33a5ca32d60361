import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { Context } from 'hono';

/**
 * The request body as a Node stream. Under @hono/node-server this is the socket's own
 * IncomingMessage: going through the web ReadableStream that `c.req.raw.body` builds costs
 * several promise hops per (often 16 KiB) chunk, which held a large upload to ~60 MB/s.
 * Elsewhere (app.request in tests) the web body is converted.
 */
export function requestBodyStream(c: Context): Readable | null {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming && typeof incoming.pipe === 'function') return incoming;
  const body = c.req.raw.body;
  return body ? Readable.fromWeb(body as import('node:stream/web').ReadableStream) : null;
}
