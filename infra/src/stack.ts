import { accessSync, constants, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StackConfig } from './config.js';
import { prepareOhif } from './ohif.js';
import { isPortFree } from './ports.js';
import { ManagedProcess, ServiceStartError } from './process.js';
import { loadOrCreateSecrets, type StackSecrets } from './secrets.js';
import { runBackendCli, startBackend } from './services/backend.js';
import { startInference } from './services/inference.js';
import { startNginx } from './services/nginx.js';
import { startOrthanc } from './services/orthanc.js';
import { startRedis } from './services/redis.js';

export type AdminCredentials = { created: true; email: string; password: string } | { created: false; email: string | null };

export type RunningStack = {
  url: string;
  admin: AdminCredentials;
  secrets: StackSecrets;
  /** The current process of each service (a restarted service gets a new one). */
  processes: () => ManagedProcess[];
  /** Resolves when a service keeps dying and supervision gives up; the stack is then to be stopped. */
  failed: Promise<string>;
  stop: () => Promise<void>;
};

type ServiceDefinition = { name: string; start: () => Promise<ManagedProcess> };

/** A service that dies is restarted, unless it died this many times within the window. */
const RESTART_LIMIT = 5;
const RESTART_WINDOW_MS = 60_000;

const debianPackageOf: Record<string, string> = { orthanc: 'orthanc', dicomwebPlugin: 'orthanc-dicomweb', redis: 'redis-server', nginx: 'nginx' };

export function checkPrerequisites(config: StackConfig): void {
  const missing = Object.entries(config.binaries).filter(([, path]) => {
    try {
      accessSync(path, constants.R_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length) {
    const packages = missing.map(([name]) => debianPackageOf[name]).join(' ');
    throw new ServiceStartError('prerequisites', `missing ${missing.map(([name, path]) => `${name} (${path})`).join(', ')}. Install with: apt-get install -y ${packages}   (./stack up does this for you)`);
  }
  if (!existsSync(join(config.paths.dashboard, 'index.html'))) {
    throw new ServiceStartError('prerequisites', `the dashboard is not built (${config.paths.dashboard}/index.html missing). Run: npm run build`);
  }
}

const portLabels: Record<keyof StackConfig['ports'] | 'inference', string> = {
  http: 'gateway HTTP (PD_HTTP_PORT)',
  backend: 'backend (PD_BACKEND_PORT)',
  orthancHttp: 'Orthanc HTTP (PD_ORTHANC_HTTP_PORT)',
  orthancDicom: 'Orthanc DICOM (PD_ORTHANC_DICOM_PORT)',
  redis: 'Redis (PD_REDIS_PORT)',
  inference: 'reference inference service (PD_INFERENCE_PORT)',
};

export async function checkPorts(config: StackConfig): Promise<void> {
  const ports = { ...config.ports, ...(config.referenceInferencePort ? { inference: config.referenceInferencePort } : {}) };
  for (const [name, port] of Object.entries(ports) as [keyof typeof portLabels, number][]) {
    const host = name === 'http' ? config.bindAddress : name === 'orthancDicom' ? '0.0.0.0' : '127.0.0.1';
    if (!(await isPortFree(port, host))) {
      throw new ServiceStartError(
        'ports',
        `port ${port} for ${portLabels[name]} is already in use. Stop what uses it (a stack still running? "./stack down"), or choose another port with ${portLabels[name].match(/\((.*)\)/)?.[1]}.`,
      );
    }
  }
}

/** The backend's environment: everything it needs, derived from the stack settings. */
export function backendEnv(config: StackConfig, secrets: StackSecrets): Record<string, string> {
  return {
    ...config.backendPassthrough,
    PD_BACKEND_HOST: '127.0.0.1',
    PD_BACKEND_PORT: String(config.ports.backend),
    PD_PUBLIC_URL: config.publicUrl,
    PD_DATABASE_PATH: join(config.paths.data, 'preview-dicom.sqlite'),
    PD_REDIS_URL: `redis://:${encodeURIComponent(secrets.redisPassword)}@127.0.0.1:${config.ports.redis}`,
    PD_ORTHANC_URL: `http://127.0.0.1:${config.ports.orthancHttp}`,
    PD_ORTHANC_USER: secrets.orthancUser,
    PD_ORTHANC_PASSWORD: secrets.orthancPassword,
    PD_JWT_SECRET: secrets.jwtSecret,
    // Empty PD_INFERENCE_URL: the reference service the launcher starts (infra/inference).
    PD_INFERENCE_URL: config.inferenceUrl || `http://127.0.0.1:${config.referenceInferencePort}`,
    PD_LOG_LEVEL: config.logLevel,
    PD_TMP_DIR: join(config.paths.tmp, 'backend'),
    // nginx refuses bigger uploads itself (client_max_body_size); the backend checks the same number.
    PD_IMPORT_MAX_REQUEST_BYTES: String(config.importMaxRequestBytes),
  };
}

/**
 * Starts Redis, Orthanc, the reference inference service (unless PD_INFERENCE_URL names
 * another), the backend and nginx in that order, each only once the one before answers.
 * On any failure everything already started is stopped again.
 */
export async function startStack(config: StackConfig, log: (line: string) => void = console.log): Promise<RunningStack> {
  checkPrerequisites(config);
  for (const dir of Object.values(config.paths).filter((p) => !p.endsWith('.json') && p !== config.paths.dashboard && p !== config.paths.ohif)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  await checkPorts(config);
  const secrets = loadOrCreateSecrets(config.paths.secretsFile);
  await prepareOhif({ version: config.ohifVersion, ohifDir: config.paths.ohif, cacheDir: config.paths.cache, tmpDir: config.paths.tmp, log });

  const timeout = config.startTimeoutMs;
  const env = backendEnv(config, secrets);
  const inferencePort = config.referenceInferencePort;
  const services: ServiceDefinition[] = [
    {
      name: 'Redis',
      start: () =>
        startRedis({ bin: config.binaries.redis, port: config.ports.redis, password: secrets.redisPassword, dataDir: join(config.paths.data, 'redis'), configDir: config.paths.config, logDir: config.paths.logs, startTimeoutMs: timeout }),
    },
    {
      name: 'Orthanc',
      start: () =>
        startOrthanc({
          bin: config.binaries.orthanc,
          dicomwebPlugin: config.binaries.dicomwebPlugin,
          name: 'Preview-DICOM',
          aet: config.orthancAet,
          httpPort: config.ports.orthancHttp,
          dicomPort: config.ports.orthancDicom,
          user: secrets.orthancUser,
          password: secrets.orthancPassword,
          dataDir: join(config.paths.data, 'orthanc'),
          configDir: config.paths.config,
          logDir: config.paths.logs,
          startTimeoutMs: timeout,
        }),
    },
    ...(inferencePort !== null ? [{ name: 'the inference service', start: () => startInference({ port: inferencePort, logDir: config.paths.logs, startTimeoutMs: timeout }) }] : []),
    { name: 'the backend', start: () => startBackend({ port: config.ports.backend, env, logDir: config.paths.logs, startTimeoutMs: timeout }) },
    {
      name: 'the nginx gateway',
      start: () =>
        startNginx({
          bin: config.binaries.nginx,
          bindAddress: config.bindAddress,
          port: config.ports.http,
          backendPort: config.ports.backend,
          orthancHttpPort: config.ports.orthancHttp,
          orthancUser: secrets.orthancUser,
          orthancPassword: secrets.orthancPassword,
          tls: config.tls,
          maxUploadSize: config.maxUploadSize,
          maxApiBodySize: config.maxApiBodySize,
          authzCacheSeconds: config.authzCacheSeconds,
          dashboardDir: config.paths.dashboard,
          ohifDir: config.paths.ohif,
          runtimeDir: join(config.paths.tmp, 'nginx'),
          configDir: config.paths.config,
          logDir: config.paths.logs,
          startTimeoutMs: timeout,
        }),
    },
  ];

  const running = new Map<string, ManagedProcess>();
  let stopping = false;
  // Written then renamed, so `./stack down` and tests never read half a file.
  const writeState = () => {
    const state = { launcherPid: process.pid, url: config.publicUrl, services: Object.fromEntries([...running.values()].map((p) => [p.options.name, p.pid])) };
    writeFileSync(`${config.paths.stateFile}.tmp`, JSON.stringify(state, null, 2));
    renameSync(`${config.paths.stateFile}.tmp`, config.paths.stateFile);
  };
  const stopAll = async () => {
    stopping = true;
    for (const proc of [...running.values()].reverse()) await proc.stop();
    rmSync(config.paths.stateFile, { force: true });
  };

  let giveUp: (reason: string) => void = () => {};
  const failed = new Promise<string>((resolvePromise) => (giveUp = resolvePromise));
  const restarts = new Map<string, number[]>();

  /** Restarts a service that died on its own; the others keep running meanwhile. */
  const supervise = (service: ServiceDefinition, proc: ManagedProcess) => {
    void proc.exited.then(async ({ code, signal }) => {
      if (stopping || proc.isStopping) return;
      const now = Date.now();
      const recent = (restarts.get(service.name) ?? []).filter((t) => now - t < RESTART_WINDOW_MS);
      restarts.set(service.name, [...recent, now]);
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (recent.length >= RESTART_LIMIT) {
        giveUp(`${service.name} died ${RESTART_LIMIT + 1} times within ${RESTART_WINDOW_MS / 1000} s (last: ${how}); see ${proc.options.logFile}`);
        return;
      }
      log(`${service.name} exited unexpectedly (${how}); restarting it...`);
      await new Promise((r) => setTimeout(r, 500 * (recent.length + 1)));
      if (stopping) return;
      try {
        const next = await service.start();
        running.set(service.name, next);
        writeState();
        supervise(service, next);
        log(`${service.name} is back.`);
      } catch (error) {
        giveUp(`${service.name} could not be restarted: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  };

  try {
    let admin: AdminCredentials | null = null;
    for (const service of services) {
      if (service.name === 'the backend') admin = await runBackendCli<AdminCredentials>(env, ['bootstrap-admin', config.adminEmail]);
      log(`Starting ${service.name}...`);
      const proc = await service.start();
      running.set(service.name, proc);
      supervise(service, proc);
    }
    writeState();
    return { url: config.publicUrl, admin: admin!, secrets, processes: () => [...running.values()], failed, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
