// The reference inference service: a small HTTP server speaking MONAI Label's REST subset
//   GET  /info                          → service, labels and models (MONAI Label's shape)
//   POST /infer/{model}?output=image    → multipart `file` (NIfTI-1, .nii or .nii.gz) + `params` (JSON)
//                                         → the label map as an uncompressed NIfTI-1 file
// so the backend calls it exactly as it would call a real MONAI Label server. The models are
// classical, deterministic algorithms (see README.md). Run standalone:
//   node --import tsx infra/inference/server.ts      (PD_INFERENCE_HOST, PD_INFERENCE_PORT)
import { realpathSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import busboy from 'busboy';
import { z } from 'zod';
import { labelStatistics, models } from './models.js';
import { allocateLabelFile, NiftiError, readNifti, VolumeTooLargeError, writeLabelHeader } from './nifti.js';

export const SERVICE_NAME = 'Preview-DICOM reference segmentation';
export const SERVICE_VERSION = '1.0.0';
const GiB = 1024 ** 3;
/** Room for the multipart boundaries, part headers and the params field beyond the file itself. */
const MULTIPART_OVERHEAD_BYTES = 2 * 1024 ** 2;

export type InferenceServerOptions = {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Largest accepted `file` part, as uploaded (compressed or not). Default 1 GiB. */
  maxUploadBytes?: number;
  /** Largest volume after gunzip. Default 4 GiB (capped by Node's largest Buffer). */
  maxVolumeBytes?: number;
  /** One line per request; default stdout. */
  log?: (line: string) => void;
};

export type InferenceServer = { port: number; close(): Promise<void> };

/** An answer other than 200, with MONAI Label's (FastAPI's) error body `{"detail": "..."}`. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function serviceInfo() {
  return {
    name: SERVICE_NAME,
    description: 'Classical, deterministic reference models (thresholds, connected components, hole filling) behind MONAI Label\'s REST shape. Replace with a real MONAI Label server by setting PD_INFERENCE_URL.',
    version: SERVICE_VERSION,
    labels: [...new Set(Object.values(models).flatMap((m) => Object.keys(m.labels)))],
    models: Object.fromEntries(
      Object.values(models).map((m) => [m.name, { type: 'segmentation', labels: m.labels, dimension: 3, description: m.description, modality: m.modality, version: SERVICE_VERSION }]),
    ),
    trainers: {},
    strategies: {},
    scoring: {},
    train_stats: {},
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

type Upload = { file: Buffer | null; params: string | null };

/**
 * Reads the multipart body with busboy: the `file` part into memory (at most maxFileBytes, else
 * 413), the `params` field as text. Other parts are skipped; a second `file` part is ignored.
 * With a Content-Length the file is written into one buffer of that size as it arrives (no
 * second copy of a large volume); without one, chunks are joined at the end.
 */
function readUpload(req: IncomingMessage, maxFileBytes: number): Promise<Upload> {
  return new Promise((resolvePromise, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { files: 5, fileSize: maxFileBytes, fields: 20, fieldSize: 1024 ** 2, parts: 40 } });
    } catch {
      reject(new HttpError(400, 'expected a multipart/form-data body with a "file" part (the NIfTI volume) and an optional "params" part (JSON)'));
      return;
    }
    let settled = false;
    const fail = (error: HttpError) => {
      if (settled) return;
      settled = true;
      req.unpipe(parser);
      req.resume(); // discard the rest of the body; the answer is sent meanwhile
      reject(error);
    };
    const upload: Upload = { file: null, params: null };
    let fileSeen = false;
    parser.on('file', (name, stream) => {
      if (name !== 'file' || fileSeen) {
        stream.resume();
        return;
      }
      fileSeen = true;
      const declared = Number(req.headers['content-length']);
      let target = Number.isSafeInteger(declared) && declared > 0 ? Buffer.allocUnsafe(Math.min(declared, maxFileBytes)) : null;
      const chunks: Buffer[] = [];
      let received = 0;
      stream.on('data', (chunk: Buffer) => {
        if (target && received + chunk.length <= target.length) {
          chunk.copy(target, received);
        } else {
          // Cannot happen for a well-formed body (the file is inside it); fall back to chunks anyway.
          if (target) chunks.push(target.subarray(0, received));
          target = null;
          chunks.push(chunk);
        }
        received += chunk.length;
      });
      stream.on('limit', () => fail(new HttpError(413, `the file is larger than the limit of ${maxFileBytes} bytes`)));
      stream.on('end', () => {
        if (settled) return;
        upload.file = target ? target.subarray(0, received) : Buffer.concat(chunks, received);
      });
    });
    parser.on('field', (name, value, info) => {
      if (name === 'params') {
        if (info.valueTruncated) fail(new HttpError(400, 'the "params" part is longer than 1 MiB'));
        upload.params = value;
      } else if (name === 'file') {
        fail(new HttpError(400, 'the "file" part was sent as a text field; send it as a file (with a filename)'));
      }
    });
    parser.on('error', (error: Error) => fail(new HttpError(400, `malformed multipart body: ${error.message}`)));
    parser.on('close', () => {
      if (settled) return;
      settled = true;
      resolvePromise(upload);
    });
    req.on('error', (error) => fail(new HttpError(400, `the request failed while being read: ${error.message}`)));
    req.pipe(parser);
  });
}

function parseParams(text: string | null): Record<string, unknown> {
  if (text === null || text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the "params" part is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'the "params" part must be a JSON object');
  return value as Record<string, unknown>;
}

async function infer(req: IncomingMessage, res: ServerResponse, modelName: string, output: string, limits: { maxUploadBytes: number; maxVolumeBytes: number }, note: (text: string) => void) {
  const model = Object.hasOwn(models, modelName) ? models[modelName] : undefined;
  if (!model) throw new HttpError(404, `model "${modelName}" not found; available: ${Object.keys(models).join(', ')}`);
  if (output !== 'image' && output !== 'json') throw new HttpError(400, `output=${output} is not supported by the reference service; use output=image (or json)`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxUploadBytes + MULTIPART_OVERHEAD_BYTES) {
    throw new HttpError(413, `the request body (${declared} bytes) is larger than the limit of ${limits.maxUploadBytes} bytes`);
  }

  const started = performance.now();
  const upload = await readUpload(req, limits.maxUploadBytes);
  if (!upload.file) throw new HttpError(400, 'no "file" part: send the NIfTI volume as the multipart "file" part');
  if (upload.file.length === 0) throw new HttpError(400, 'the "file" part is empty');
  parseParams(upload.params); // accepted and validated as JSON; the reference models take no parameters

  let volume;
  try {
    volume = await readNifti(upload.file, limits.maxVolumeBytes);
  } catch (error) {
    if (error instanceof NiftiError) throw new HttpError(400, `the file is not a usable NIfTI-1 volume: ${error.message}`);
    if (error instanceof VolumeTooLargeError) throw new HttpError(413, error.message);
    throw error;
  }
  upload.file = null;
  const loaded = performance.now();
  const { file, labels } = allocateLabelFile(volume);
  const details = model.run(volume, labels);
  const inferred = performance.now();
  const stats = labelStatistics(model, labels, volume);
  note(`${volume.nx}×${volume.ny}×${volume.nz} ${Object.entries(stats).map(([name, s]) => `${name} ${s.cm3} cm³`).join(', ')}`);

  if (output === 'json') {
    const seconds = (ms: number) => Math.round(ms) / 1000;
    sendJson(res, 200, {
      label_names: model.labels,
      statistics: stats,
      details,
      latencies: { pre: seconds(loaded - started), infer: seconds(inferred - loaded), post: 0, total: seconds(performance.now() - started) },
    });
    return;
  }
  writeLabelHeader(file, volume, `${SERVICE_NAME} ${model.name}`);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename="label.nii"', 'content-length': file.length });
  res.end(file);
}

export function startInferenceServer(options: InferenceServerOptions): Promise<InferenceServer> {
  const host = options.host ?? '127.0.0.1';
  const limits = {
    maxUploadBytes: options.maxUploadBytes ?? GiB,
    maxVolumeBytes: Math.min(options.maxVolumeBytes ?? 4 * GiB, bufferConstants.MAX_LENGTH),
  };
  const log = options.log ?? ((line: string) => console.log(line));

  const server = createServer((req, res) => {
    const started = performance.now();
    let extra = '';
    res.on('finish', () => log(`${new Date().toISOString()} ${req.method} ${req.url} ${res.statusCode} ${Math.round(performance.now() - started)} ms${extra ? ` ${extra}` : ''}`));
    const url = new URL(req.url ?? '/', 'http://inference.invalid');
    const inferMatch = /^\/infer\/([^/]+)\/?$/.exec(url.pathname);
    const handle = async () => {
      if (url.pathname === '/info' || url.pathname === '/info/') {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'Method Not Allowed');
        sendJson(res, 200, serviceInfo());
      } else if (inferMatch) {
        if (req.method !== 'POST') throw new HttpError(405, 'Method Not Allowed');
        await infer(req, res, decodeURIComponent(inferMatch[1]!), url.searchParams.get('output') ?? 'image', limits, (text) => (extra = text));
      } else {
        throw new HttpError(404, 'Not Found');
      }
    };
    handle().catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      const detail = error instanceof HttpError ? error.message : `internal error: ${error instanceof Error ? error.message : String(error)}`;
      if (status === 500) console.error(error);
      extra = detail;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // A refused upload may still be arriving: close the connection after answering rather than read it all.
      sendJson(res, status, { detail }, status === 413 ? { connection: 'close' } : {});
    });
  });

  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolvePromise({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

const isMain = (() => {
  try {
    return process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
})();

if (isMain) {
  const env = z
    .object({
      PD_INFERENCE_HOST: z.string().min(1).default('127.0.0.1'),
      PD_INFERENCE_PORT: z.coerce.number().int().min(0).max(65535).default(8090),
      PD_INFERENCE_MAX_UPLOAD_BYTES: z.coerce.number().int().min(1).default(GiB),
      PD_INFERENCE_MAX_VOLUME_BYTES: z.coerce.number().int().min(1).default(4 * GiB),
    })
    .safeParse(process.env);
  if (!env.success) {
    console.error(`Invalid inference service configuration:\n${env.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
    process.exit(1);
  }
  const e = env.data;
  const running = await startInferenceServer({ host: e.PD_INFERENCE_HOST, port: e.PD_INFERENCE_PORT, maxUploadBytes: e.PD_INFERENCE_MAX_UPLOAD_BYTES, maxVolumeBytes: e.PD_INFERENCE_MAX_VOLUME_BYTES });
  console.log(`${SERVICE_NAME} ${SERVICE_VERSION} listening on http://${e.PD_INFERENCE_HOST}:${running.port} (models: ${Object.keys(models).join(', ')})`);
  const stop = () => void running.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
