// Client for MONAI Label's REST subset: GET /info and POST /infer/{model}?output=image.
// The reference service in infra/inference speaks the same, so a real MONAI Label server
// can take its place by changing PD_INFERENCE_URL.
import { FormData, request } from 'undici';
import type { AppConfig } from '../config.js';

export type ModelInfo = { name: string; labels: Record<string, number>; modality: string | null; description: string; version: string; dimension: number | null };

/** Whether trying again later may help (service down, timeout, 5xx) or not (bad request, unknown model). */
export class InferenceError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

type InfoAnswer = {
  name?: string;
  version?: string;
  models?: Record<string, { labels?: Record<string, number> | string[]; modality?: string; description?: string; version?: string; dimension?: number; type?: string }>;
};

function headers(config: AppConfig['inference']): Record<string, string> {
  return config.authHeader ? { [config.authHeader.name.toLowerCase()]: config.authHeader.value } : {};
}

function describeFailure(config: AppConfig['inference'], error: unknown): InferenceError {
  const code = (error as { code?: string }).code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || (error as Error).name === 'TimeoutError') {
    return new InferenceError(`the inference service at ${config.url} did not answer within ${Math.round(config.timeoutMs / 1000)} s`, true);
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new InferenceError(`the inference service at ${config.url} cannot be reached (${code})`, true);
  }
  return new InferenceError(`the inference service at ${config.url} failed: ${(error as Error).message}`, true);
}

function requireUrl(config: AppConfig['inference']): string {
  if (!config.url) throw new InferenceError('no inference service is configured (PD_INFERENCE_URL)', false);
  return config.url;
}

/** The models the service offers, MONAI Label's /info normalised (labels as name → value). */
export async function fetchModels(config: AppConfig['inference']): Promise<{ service: string; version: string; models: ModelInfo[] }> {
  const url = requireUrl(config);
  let answer: InfoAnswer;
  try {
    const response = await request(`${url}/info`, { headers: headers(config), headersTimeout: 10_000, bodyTimeout: 10_000 });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new InferenceError(`the inference service answered ${response.statusCode} to /info`, response.statusCode >= 500);
    }
    answer = (await response.body.json()) as InfoAnswer;
  } catch (error) {
    if (error instanceof InferenceError) throw error;
    throw describeFailure(config, error);
  }
  const models = Object.entries(answer.models ?? {})
    .filter(([, m]) => !m.type || m.type === 'segmentation')
    .map(([name, m]) => ({
      name,
      labels: Array.isArray(m.labels) ? Object.fromEntries(m.labels.map((label, i) => [label, i + 1])) : (m.labels ?? {}),
      modality: m.modality ?? null,
      description: m.description ?? '',
      version: m.version ?? answer.version ?? '',
      dimension: m.dimension ?? null,
    }));
  return { service: answer.name ?? 'inference service', version: answer.version ?? '', models };
}

/** Sends a NIfTI volume, returns the label map (a NIfTI file) as bytes. */
export async function infer(config: AppConfig['inference'], input: { model: string; volume: Buffer; params: Record<string, unknown>; signal?: AbortSignal }): Promise<Buffer> {
  const url = requireUrl(config);
  const form = new FormData();
  form.append('params', JSON.stringify(input.params));
  form.append('file', new Blob([input.volume as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }), 'image.nii');
  let response;
  try {
    response = await request(`${url}/infer/${encodeURIComponent(input.model)}?output=image`, {
      method: 'POST',
      body: form,
      headers: headers(config),
      headersTimeout: config.timeoutMs,
      bodyTimeout: config.timeoutMs,
      signal: input.signal,
    });
  } catch (error) {
    throw describeFailure(config, error);
  }
  const body = Buffer.from(await response.body.arrayBuffer());
  if (response.statusCode !== 200) {
    let detail = body.subarray(0, 300).toString('utf8');
    try {
      detail = String((JSON.parse(body.toString('utf8')) as { detail?: unknown }).detail ?? detail);
    } catch {
      // not JSON: keep the text
    }
    throw new InferenceError(`the inference service refused the request (${response.statusCode}: ${detail})`, response.statusCode >= 500 || response.statusCode === 429);
  }
  return body;
}
