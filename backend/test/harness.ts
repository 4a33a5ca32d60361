// Integration harness: real Orthanc and Redis from Debian's packages, on free loopback
// ports in a temporary folder, started by the same code as the stack launcher.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStackConfig } from '../../infra/src/config.js';
import { findFreePorts } from '../../infra/src/ports.js';
import type { ManagedProcess } from '../../infra/src/process.js';
import { startOrthanc, type OrthancOptions } from '../../infra/src/services/orthanc.js';
import { startRedis, type RedisOptions } from '../../infra/src/services/redis.js';
import { eq } from 'drizzle-orm';
import { hashPassword } from '../src/auth/password.js';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig, type AppConfig } from '../src/config.js';
import { groupMembers, groups, users, type Role } from '../src/db/schema.js';
import type { AppDeps } from '../src/lib/context.js';
import { createApp } from '../src/lib/create-app.js';
import { closeDeps, createDeps } from '../src/lib/deps.js';
import { createLogger } from '../src/lib/logger.js';
import { startWorkers, type Workers } from '../src/lib/workers.js';

export type TestServices = {
  dir: string;
  orthanc: { url: string; user: string; password: string; dicomPort: number; proc: ManagedProcess; restart: () => Promise<void>; stop: () => Promise<void> };
  redis: { url: string; port: number; password: string; proc: ManagedProcess; restart: () => Promise<void>; stop: () => Promise<void> };
  stop: () => Promise<void>;
};

export async function startTestServices(): Promise<TestServices> {
  const dir = mkdtempSync(join(tmpdir(), 'preview-dicom-it-'));
  for (const sub of ['config', 'logs', 'data']) mkdirSync(join(dir, sub));
  const stackDefaults = loadStackConfig({});
  const [orthancHttp, orthancDicom, redisPort] = await findFreePorts(3);
  const orthancOptions: OrthancOptions = {
    bin: stackDefaults.binaries.orthanc,
    dicomwebPlugin: stackDefaults.binaries.dicomwebPlugin,
    name: 'preview-dicom-test',
    aet: 'PDTEST',
    httpPort: orthancHttp!,
    dicomPort: orthancDicom!,
    user: 'test',
    password: 'test-password-0123456789',
    dataDir: join(dir, 'data/orthanc'),
    configDir: join(dir, 'config'),
    logDir: join(dir, 'logs'),
    startTimeoutMs: 30_000,
  };
  const redisOptions: RedisOptions = {
    bin: stackDefaults.binaries.redis,
    port: redisPort!,
    password: 'redis-test-password-0123456789',
    dataDir: join(dir, 'data/redis'),
    configDir: join(dir, 'config'),
    logDir: join(dir, 'logs'),
    startTimeoutMs: 30_000,
  };
  const services: TestServices = {
    dir,
    orthanc: {
      url: `http://127.0.0.1:${orthancHttp}`,
      user: orthancOptions.user,
      password: orthancOptions.password,
      dicomPort: orthancDicom!,
      proc: await startOrthanc(orthancOptions),
      restart: async () => {
        services.orthanc.proc = await startOrthanc(orthancOptions);
      },
      stop: () => services.orthanc.proc.stop(),
    },
    redis: {
      url: `redis://:${redisOptions.password}@127.0.0.1:${redisPort}`,
      port: redisPort!,
      password: redisOptions.password,
      proc: await startRedis(redisOptions),
      restart: async () => {
        services.redis.proc = await startRedis(redisOptions);
      },
      stop: () => services.redis.proc.stop(),
    },
    stop: async () => {
      await Promise.all([services.orthanc.proc.stop(), services.redis.proc.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return services;
}

export function testConfig(services: TestServices, overrides: Record<string, string> = {}): AppConfig {
  return loadConfig({
    PD_DATABASE_PATH: join(services.dir, 'data', `backend-${Math.random().toString(36).slice(2)}.sqlite`),
    PD_REDIS_URL: services.redis.url,
    PD_ORTHANC_URL: services.orthanc.url,
    PD_ORTHANC_USER: services.orthanc.user,
    PD_ORTHANC_PASSWORD: services.orthanc.password,
    PD_PUBLIC_URL: 'http://gateway.test',
    PD_JWT_SECRET: 'integration-test-jwt-secret-0123456789abcdef',
    PD_HEALTH_TIMEOUT_MS: '1500',
    PD_LOG_LEVEL: 'silent',
    ...overrides,
  });
}

export type TestBackend = { app: ReturnType<typeof createApp>; deps: AppDeps; workers: Workers; close: () => Promise<void> };

export function createTestBackend(services: TestServices, overrides: Record<string, string> = {}): TestBackend {
  const config = testConfig(services, { PD_TMP_DIR: join(services.dir, 'tmp'), PD_REGISTRY_POLL_MS: '200', ...overrides });
  const deps = createDeps(config, createLogger(config.logLevel));
  const workers = startWorkers(deps);
  return {
    app: createApp(deps),
    deps,
    workers,
    close: async () => {
      await workers.stop();
      await closeDeps(deps);
    },
  };
}

/** Headers a browser on the gateway's own page would send. */
export const sameOrigin = { origin: 'http://gateway.test', 'content-type': 'application/json' };

export function cookieFrom(response: Response, name = 'pd_access'): string {
  const header = response.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  if (!header) throw new Error(`no ${name} cookie in response`);
  return header.split(';')[0]!;
}

/** Both session cookies as one Cookie header, as a browser on /api/auth would send them. */
export function sessionCookies(response: Response): string {
  return `${cookieFrom(response, 'pd_access')}; ${cookieFrom(response, 'pd_refresh')}`;
}

/** A user straight in the database (a fixture), optionally in groups created on the fly. */
export async function createUser(
  deps: AppDeps,
  input: { email: string; role: Role; password?: string; groups?: string[]; mustChangePassword?: boolean; isActive?: boolean },
): Promise<{ id: string; email: string; password: string; groupIds: string[] }> {
  const password = input.password ?? 'a-long-test-password-42';
  const id = randomUUID();
  deps.db.insert(users).values({ id, email: input.email.toLowerCase(), displayName: input.email.split('@')[0]!, role: input.role, passwordHash: await hashPassword(password), mustChangePassword: input.mustChangePassword ?? false, isActive: input.isActive ?? true }).run();
  const groupIds = (input.groups ?? []).map((name) => ensureGroup(deps, name));
  for (const groupId of groupIds) deps.db.insert(groupMembers).values({ groupId, userId: id }).run();
  return { id, email: input.email.toLowerCase(), password, groupIds };
}

export function ensureGroup(deps: AppDeps, name: string): string {
  const existing = deps.db.select().from(groups).where(eq(groups.nameKey, name.toLowerCase())).get();
  if (existing) return existing.id;
  const id = randomUUID();
  deps.db.insert(groups).values({ id, name, nameKey: name.toLowerCase() }).run();
  return id;
}

/** Signs in through the API and returns the Cookie header a browser would then send. */
export async function signIn(backend: TestBackend, email: string, password: string): Promise<{ cookie: string; response: Response }> {
  const response = await backend.app.request('/api/auth/login', { method: 'POST', headers: sameOrigin, body: JSON.stringify({ email, password }) });
  if (response.status !== 200) throw new Error(`sign-in of ${email} failed: ${response.status} ${await response.text()}`);
  return { cookie: sessionCookies(response), response };
}

/**
 * Starts Orthanc, Redis and a backend for the enclosing describe block and stops them
 * after it. Read `env.services` / `env.backend` inside tests (they exist once beforeAll ran).
 */
export function useTestBackend(overrides: Record<string, string> = {}): { services: TestServices; backend: TestBackend } {
  const env = {} as { services: TestServices; backend: TestBackend };
  beforeAll(async () => {
    env.services = await startTestServices();
    env.backend = createTestBackend(env.services, overrides);
  });
  afterAll(async () => {
    await env.backend?.close();
    await env.services?.stop();
  });
  return env;
}
