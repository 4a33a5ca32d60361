import { resolve } from 'node:path';
import { z } from 'zod';

// The launcher's only reader of the environment. Every variable is listed in the README.
const port = z.coerce.number().int().min(1).max(65535);

const stackEnvSchema = z.object({
  PD_RUNTIME_DIR: z.string().min(1).default('runtime'),
  PD_CACHE_DIR: z.string().default(''),
  PD_BIND_ADDRESS: z.string().min(1).default('127.0.0.1'),
  PD_HTTP_PORT: port.default(8080),
  PD_PUBLIC_URL: z.url().optional(),
  PD_BACKEND_PORT: port.default(8081),
  PD_ORTHANC_HTTP_PORT: port.default(8042),
  PD_ORTHANC_DICOM_PORT: port.default(4242),
  PD_ORTHANC_AET: z.string().regex(/^[A-Z0-9_ ]{1,16}$/, 'AE titles are 1-16 upper-case letters, digits, _ or space').default('PREVIEWDICOM'),
  PD_REDIS_PORT: port.default(6380),
  PD_INFERENCE_URL: z.union([z.url(), z.literal('')]).default(''),
  PD_INFERENCE_PORT: port.default(8090),
  PD_ADMIN_EMAIL: z.email().default('admin@preview-dicom.local'),
  PD_TLS_CERT: z.string().default(''),
  PD_TLS_KEY: z.string().default(''),
  PD_MAX_UPLOAD_SIZE: z.string().regex(/^\d+[kKmMgG]?$/, 'an nginx size such as 20g, 512m or 0 (no limit)').default('20g'),
  PD_MAX_API_BODY_SIZE: z.string().regex(/^\d+[kKmMgG]?$/, 'an nginx size such as 25m').default('25m'),
  PD_OHIF_VERSION: z.string().regex(/^\d+\.\d+\.\d+$/).default('3.12.10'),
  PD_ORTHANC_BIN: z.string().default('/usr/sbin/Orthanc'),
  PD_ORTHANC_DICOMWEB_PLUGIN: z.string().default('/usr/share/orthanc/plugins/libOrthancDicomWeb.so'),
  PD_REDIS_BIN: z.string().default('/usr/bin/redis-server'),
  PD_NGINX_BIN: z.string().default('/usr/sbin/nginx'),
  PD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  PD_START_TIMEOUT_MS: z.coerce.number().int().min(1000).default(60_000),
  PD_DICOMWEB_AUTHZ_CACHE_SECONDS: z.coerce.number().int().min(1).max(300).default(10),
});

/** Backend-only settings the launcher hands through unchanged (validated by the backend's own config). */
const backendPassthroughKeys = [
  'PD_SESSION_TTL_SECONDS',
  'PD_HEALTH_TIMEOUT_MS',
  'PD_UPSTREAM_TIMEOUT_MS',
  'PD_INFERENCE_REQUIRED',
  'PD_TRUST_PROXY',
  'PD_ACCESS_TOKEN_TTL_SECONDS',
  'PD_PASSWORD_MIN_LENGTH',
  'PD_LOCKOUT_THRESHOLD',
  'PD_LOCKOUT_WINDOW_SECONDS',
  'PD_IP_FAILURE_LIMIT',
  'PD_INVITATION_TTL_HOURS',
  'PD_SMTP_URL',
  'PD_IMPORT_CONCURRENCY',
  'PD_IMPORT_STORE_CONCURRENCY',
  'PD_IMPORT_MAX_FILE_BYTES',
  'PD_IMPORT_ZIP_MAX_ENTRIES',
  'PD_IMPORT_ZIP_MAX_TOTAL_BYTES',
  'PD_IMPORT_ZIP_MAX_ENTRY_BYTES',
  'PD_IMPORT_ZIP_MAX_RATIO',
  'PD_IMPORT_IDLE_MINUTES',
  'PD_NIFTI_MAX_BYTES',
  'PD_DICOM_AE_GROUPS',
  'PD_REGISTRY_POLL_MS',
  'PD_REGISTRY_RECONCILE_SECONDS',
  'PD_INFERENCE_TIMEOUT_MS',
  'PD_INFERENCE_AUTH_HEADER',
  'PD_INFERENCE_ATTEMPTS',
  'PD_INFERENCE_BACKOFF_MS',
  'PD_INFERENCE_CONCURRENCY',
  'PD_INFERENCE_LOCK_MS',
  'PD_EXPORT_TTL_HOURS',
  'PD_SMTP_FROM',
] as const;

/** nginx's "20g" / "512m" / "0" (unlimited) as bytes, for the backend to enforce the same limit. */
export function nginxSizeToBytes(size: string): number {
  const match = /^(\d+)([kKmMgG]?)$/.exec(size)!;
  const units: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
  const bytes = Number(match[1]) * units[match[2]!.toLowerCase()]!;
  return bytes === 0 ? Number.MAX_SAFE_INTEGER : bytes;
}

export type StackConfig = ReturnType<typeof loadStackConfig>;

export class StackConfigError extends Error {}

/** The repository root (infra/src/ → ../..). */
export const repoRoot = resolve(import.meta.dirname, '../..');

export function loadStackConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Record<keyof z.infer<typeof stackEnvSchema>, string>> = {}) {
  const parsed = stackEnvSchema.safeParse({ ...env, ...overrides });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n');
    throw new StackConfigError(`Invalid stack configuration:\n${problems}`);
  }
  const e = parsed.data;
  if (Boolean(e.PD_TLS_CERT) !== Boolean(e.PD_TLS_KEY)) throw new StackConfigError('Set both PD_TLS_CERT and PD_TLS_KEY to enable TLS, or neither.');
  const tls = e.PD_TLS_CERT ? { cert: resolve(e.PD_TLS_CERT), key: resolve(e.PD_TLS_KEY) } : null;
  const runtimeDir = resolve(repoRoot, e.PD_RUNTIME_DIR);
  const displayHost = e.PD_BIND_ADDRESS === '0.0.0.0' || e.PD_BIND_ADDRESS === '127.0.0.1' ? 'localhost' : e.PD_BIND_ADDRESS;
  const publicUrl = (e.PD_PUBLIC_URL ?? `${tls ? 'https' : 'http'}://${displayHost}:${e.PD_HTTP_PORT}`).replace(/\/+$/, '');
  const ports = { http: e.PD_HTTP_PORT, backend: e.PD_BACKEND_PORT, orthancHttp: e.PD_ORTHANC_HTTP_PORT, orthancDicom: e.PD_ORTHANC_DICOM_PORT, redis: e.PD_REDIS_PORT };
  // The reference inference service (infra/inference) runs only when no PD_INFERENCE_URL is set.
  const referenceInferencePort = e.PD_INFERENCE_URL ? null : e.PD_INFERENCE_PORT;
  const allPorts = { ...ports, ...(referenceInferencePort ? { inference: referenceInferencePort } : {}) };
  const duplicate = Object.entries(allPorts).find(([name, value]) => Object.entries(allPorts).some(([other, v]) => other !== name && v === value));
  if (duplicate) throw new StackConfigError(`Port ${duplicate[1]} is configured for two services; give each its own port.`);
  return {
    runtimeDir,
    paths: {
      config: resolve(runtimeDir, 'config'),
      logs: resolve(runtimeDir, 'logs'),
      data: resolve(runtimeDir, 'data'),
      cache: e.PD_CACHE_DIR ? resolve(repoRoot, e.PD_CACHE_DIR) : resolve(runtimeDir, 'cache'),
      tmp: resolve(runtimeDir, 'tmp'),
      ohif: resolve(runtimeDir, 'ohif'),
      dashboard: resolve(repoRoot, 'frontend/dist'),
      stateFile: resolve(runtimeDir, 'stack.json'),
      secretsFile: resolve(runtimeDir, 'secrets.json'),
    },
    bindAddress: e.PD_BIND_ADDRESS,
    publicUrl,
    ports,
    orthancAet: e.PD_ORTHANC_AET,
    inferenceUrl: e.PD_INFERENCE_URL,
    referenceInferencePort,
    adminEmail: e.PD_ADMIN_EMAIL,
    tls,
    maxUploadSize: e.PD_MAX_UPLOAD_SIZE,
    importMaxRequestBytes: nginxSizeToBytes(e.PD_MAX_UPLOAD_SIZE),
    maxApiBodySize: e.PD_MAX_API_BODY_SIZE,
    ohifVersion: e.PD_OHIF_VERSION,
    binaries: { orthanc: e.PD_ORTHANC_BIN, dicomwebPlugin: e.PD_ORTHANC_DICOMWEB_PLUGIN, redis: e.PD_REDIS_BIN, nginx: e.PD_NGINX_BIN },
    logLevel: e.PD_LOG_LEVEL,
    backendPassthrough: Object.fromEntries(backendPassthroughKeys.filter((key) => env[key] !== undefined).map((key) => [key, env[key]!])),
    startTimeoutMs: e.PD_START_TIMEOUT_MS,
    authzCacheSeconds: e.PD_DICOMWEB_AUTHZ_CACHE_SECONDS,
  };
}
