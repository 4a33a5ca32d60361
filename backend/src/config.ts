import { z } from 'zod';

// The only module that reads process.env. Every setting has a default that works for
// a local stack except the secrets, which the stack launcher generates and passes in.
const booleanish = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => ['true', '1', 'yes'].includes(value));

const configSchema = z.object({
  PD_BACKEND_HOST: z.string().default('127.0.0.1'),
  PD_BACKEND_PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  PD_PUBLIC_URL: z.url().default('http://localhost:8080'),
  PD_DATABASE_PATH: z.string().min(1).default('runtime/data/preview-dicom.sqlite'),
  PD_REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').default('redis://127.0.0.1:6380'),
  PD_ORTHANC_URL: z.url().default('http://127.0.0.1:8042'),
  PD_ORTHANC_USER: z.string().min(1).default('preview'),
  PD_ORTHANC_PASSWORD: z.string().default(''),
  PD_INFERENCE_URL: z.union([z.url(), z.literal('')]).default(''),
  PD_INFERENCE_REQUIRED: booleanish.default(false),
  PD_SESSION_TTL_SECONDS: z.coerce.number().int().min(60).default(12 * 60 * 60),
  PD_ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(10).max(3600).default(600),
  PD_JWT_SECRET: z
    .string({ error: 'is required (a random string of at least 32 characters; the stack launcher generates one)' })
    .min(32, 'must be at least 32 characters (the stack launcher generates one)'),
  PD_PASSWORD_MIN_LENGTH: z.coerce.number().int().min(8).max(128).default(12),
  PD_LOCKOUT_THRESHOLD: z.coerce.number().int().min(1).default(5),
  PD_LOCKOUT_WINDOW_SECONDS: z.coerce.number().int().min(10).default(15 * 60),
  PD_IP_FAILURE_LIMIT: z.coerce.number().int().min(1).default(30),
  PD_INVITATION_TTL_HOURS: z.coerce.number().int().min(1).max(24 * 30).default(72),
  PD_SMTP_URL: z.union([z.string().regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://'), z.literal('')]).default(''),
  PD_SMTP_FROM: z.string().default('Preview-DICOM <no-reply@preview-dicom.local>'),
  PD_HEALTH_TIMEOUT_MS: z.coerce.number().int().min(100).default(2000),
  PD_UPSTREAM_TIMEOUT_MS: z.coerce.number().int().min(1000).default(60_000),
  PD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PD_TRUST_PROXY: booleanish.default(true),
  PD_TMP_DIR: z.string().min(1).default('runtime/tmp'),
  PD_IMPORT_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(4),
  PD_IMPORT_STORE_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  PD_IMPORT_MAX_REQUEST_BYTES: z.coerce.number().int().min(1024).default(4 * 1024 ** 3),
  PD_IMPORT_MAX_FILE_BYTES: z.coerce.number().int().min(1024).default(2 * 1024 ** 3),
  PD_IMPORT_ZIP_MAX_ENTRIES: z.coerce.number().int().min(1).default(100_000),
  PD_IMPORT_ZIP_MAX_TOTAL_BYTES: z.coerce.number().int().min(1024).default(16 * 1024 ** 3),
  PD_IMPORT_ZIP_MAX_ENTRY_BYTES: z.coerce.number().int().min(1024).default(2 * 1024 ** 3),
  PD_IMPORT_ZIP_MAX_RATIO: z.coerce.number().min(2).default(200),
  PD_IMPORT_IDLE_MINUTES: z.coerce.number().int().min(1).default(60),
  PD_NIFTI_MAX_BYTES: z.coerce.number().int().min(1024).default(1024 ** 3),
  PD_DICOM_AE_GROUPS: z
    .string()
    .regex(/^\s*([^=,;\s][^=,;]*=[^=,;]+([,;]\s*[^=,;\s][^=,;]*=[^=,;]+)*)?\s*[,;]?\s*$/, 'must look like CT_SCANNER=Radiology,MRI3T=Neuro (calling AE title = group name)')
    .default(''),
  PD_REGISTRY_POLL_MS: z.coerce.number().int().min(50).default(1000),
  PD_REGISTRY_RECONCILE_SECONDS: z.coerce.number().int().min(5).default(300),
  PD_INFERENCE_TIMEOUT_MS: z.coerce.number().int().min(1000).default(300_000),
  PD_INFERENCE_AUTH_HEADER: z
    .string()
    .regex(/^([A-Za-z0-9-]+:\s*\S.*)?$/, 'must look like "Authorization: Bearer <token>"')
    .default(''),
  PD_INFERENCE_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
  PD_INFERENCE_BACKOFF_MS: z.coerce.number().int().min(100).default(5_000),
  PD_INFERENCE_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(1),
  PD_INFERENCE_LOCK_MS: z.coerce.number().int().min(1000).default(60_000),
  PD_EXPORT_TTL_HOURS: z.coerce.number().int().min(1).max(24 * 30).default(24),
});

/** "CT1=Radiology, MRI=Neuro" → { CT1: 'Radiology', MRI: 'Neuro' } (AE titles compared trimmed, case-sensitive as DICOM does). */
function parseAeGroups(value: string): Record<string, string> {
  const pairs = value
    .split(/[,;]/)
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => pair.split('=').map((part) => part.trim()) as [string, string]);
  return Object.fromEntries(pairs);
}

export type AppConfig = {
  host: string;
  port: number;
  publicUrl: URL;
  secureCookies: boolean;
  databasePath: string;
  redisUrl: string;
  orthanc: { url: string; user: string; password: string; timeoutMs: number };
  inference: {
    url: string | null;
    required: boolean;
    timeoutMs: number;
    /** One extra header sent with every call, e.g. a MONAI Label server's bearer token. */
    authHeader: { name: string; value: string } | null;
    attempts: number;
    backoffMs: number;
    concurrency: number;
    /** How long a job may run without its worker renewing the lock before another worker takes it over. */
    lockMs: number;
  };
  sessionTtlSeconds: number;
  accessTokenTtlSeconds: number;
  jwtSecret: Uint8Array;
  passwordMinLength: number;
  lockout: { threshold: number; windowSeconds: number; ipFailureLimit: number };
  invitationTtlHours: number;
  smtp: { url: string; from: string } | null;
  healthTimeoutMs: number;
  logLevel: z.infer<typeof configSchema>['PD_LOG_LEVEL'];
  trustProxy: boolean;
  tmpDir: string;
  imports: {
    concurrency: number;
    /** Stores in flight to Orthanc across all imports at once, so viewers keep their share of it. */
    storeConcurrency: number;
    maxRequestBytes: number;
    maxFileBytes: number;
    zip: { maxEntries: number; maxTotalBytes: number; maxEntryBytes: number; maxRatio: number };
    idleMinutes: number;
    niftiMaxBytes: number;
  };
  /** Calling AE title → group name: who owns what a modality sends to Orthanc's DICOM port. */
  dicomAeGroups: Record<string, string>;
  registryPollMs: number;
  registryReconcileSeconds: number;
  /** How long a finished export's ZIP may be downloaded before it is deleted. */
  exportTtlHours: number;
};

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n');
    throw new ConfigError(`Invalid configuration:\n${problems}`);
  }
  const c = parsed.data;
  const publicUrl = new URL(c.PD_PUBLIC_URL);
  return {
    host: c.PD_BACKEND_HOST,
    port: c.PD_BACKEND_PORT,
    publicUrl,
    secureCookies: publicUrl.protocol === 'https:',
    databasePath: c.PD_DATABASE_PATH,
    redisUrl: c.PD_REDIS_URL,
    orthanc: {
      url: c.PD_ORTHANC_URL.replace(/\/+$/, ''),
      user: c.PD_ORTHANC_USER,
      password: c.PD_ORTHANC_PASSWORD,
      timeoutMs: c.PD_UPSTREAM_TIMEOUT_MS,
    },
    inference: {
      url: c.PD_INFERENCE_URL ? c.PD_INFERENCE_URL.replace(/\/+$/, '') : null,
      required: c.PD_INFERENCE_REQUIRED,
      timeoutMs: c.PD_INFERENCE_TIMEOUT_MS,
      authHeader: c.PD_INFERENCE_AUTH_HEADER ? { name: c.PD_INFERENCE_AUTH_HEADER.split(':')[0]!.trim(), value: c.PD_INFERENCE_AUTH_HEADER.slice(c.PD_INFERENCE_AUTH_HEADER.indexOf(':') + 1).trim() } : null,
      attempts: c.PD_INFERENCE_ATTEMPTS,
      backoffMs: c.PD_INFERENCE_BACKOFF_MS,
      concurrency: c.PD_INFERENCE_CONCURRENCY,
      lockMs: c.PD_INFERENCE_LOCK_MS,
    },
    sessionTtlSeconds: c.PD_SESSION_TTL_SECONDS,
    accessTokenTtlSeconds: c.PD_ACCESS_TOKEN_TTL_SECONDS,
    jwtSecret: new TextEncoder().encode(c.PD_JWT_SECRET),
    passwordMinLength: c.PD_PASSWORD_MIN_LENGTH,
    lockout: { threshold: c.PD_LOCKOUT_THRESHOLD, windowSeconds: c.PD_LOCKOUT_WINDOW_SECONDS, ipFailureLimit: c.PD_IP_FAILURE_LIMIT },
    invitationTtlHours: c.PD_INVITATION_TTL_HOURS,
    smtp: c.PD_SMTP_URL ? { url: c.PD_SMTP_URL, from: c.PD_SMTP_FROM } : null,
    healthTimeoutMs: c.PD_HEALTH_TIMEOUT_MS,
    logLevel: c.PD_LOG_LEVEL,
    trustProxy: c.PD_TRUST_PROXY,
    tmpDir: c.PD_TMP_DIR,
    imports: {
      concurrency: c.PD_IMPORT_CONCURRENCY,
      storeConcurrency: c.PD_IMPORT_STORE_CONCURRENCY,
      maxRequestBytes: c.PD_IMPORT_MAX_REQUEST_BYTES,
      maxFileBytes: c.PD_IMPORT_MAX_FILE_BYTES,
      zip: { maxEntries: c.PD_IMPORT_ZIP_MAX_ENTRIES, maxTotalBytes: c.PD_IMPORT_ZIP_MAX_TOTAL_BYTES, maxEntryBytes: c.PD_IMPORT_ZIP_MAX_ENTRY_BYTES, maxRatio: c.PD_IMPORT_ZIP_MAX_RATIO },
      idleMinutes: c.PD_IMPORT_IDLE_MINUTES,
      niftiMaxBytes: c.PD_NIFTI_MAX_BYTES,
    },
    dicomAeGroups: parseAeGroups(c.PD_DICOM_AE_GROUPS),
    registryPollMs: c.PD_REGISTRY_POLL_MS,
    registryReconcileSeconds: c.PD_REGISTRY_RECONCILE_SECONDS,
    exportTtlHours: c.PD_EXPORT_TTL_HOURS,
  };
}
