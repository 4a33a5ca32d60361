import { accessSync, constants, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StackConfig } from './config.js';
import { prepareOhif } from './ohif.js';
import { isPortFree } from './ports.js';
import { ManagedProcess, ServiceStartError } from './process.js';
import { loadOrCreateSecrets, type StackSecrets } from './secrets.js';
import { runBackendCli, startBackend } from './services/backend.js';
import { startNginx } from './services/nginx.js';
import { startOrthanc } from './services/orthanc.js';
import { startRedis } from './services/redis.js';

export type AdminCredentials = { created: true; email: string; password: string } | { created: false; email: string | null };

export type RunningStack = {
  url: string;
  admin: AdminCredentials;
  secrets: StackSecrets;
  processes: ManagedProcess[];
  /** Resolves when a service exits on its own (a crash): the stack is then stopped. */
  crashed: Promise<ManagedProcess>;
  stop: () => Promise<void>;
};

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

const portLabels: Record<keyof StackConfig['ports'], string> = {
  http: 'gateway HTTP (PD_HTTP_PORT)',
  backend: 'backend (PD_BACKEND_PORT)',
  orthancHttp: 'Orthanc HTTP (PD_ORTHANC_HTTP_PORT)',
  orthancDicom: 'Orthanc DICOM (PD_ORTHANC_DICOM_PORT)',
  redis: 'Redis (PD_REDIS_PORT)',
};

export async function checkPorts(config: StackConfig): Promise<void> {
  for (const [name, port] of Object.entries(config.ports) as [keyof StackConfig['ports'], number][]) {
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
    PD_INFERENCE_URL: config.inferenceUrl,
    PD_LOG_LEVEL: config.logLevel,
  };
}

/**
 * Starts Redis, Orthanc, the backend and nginx in that order, each only once the one
 * before answers. On any failure everything already started is stopped again.
 */
export async function startStack(config: StackConfig, log: (line: string) => void = console.log): Promise<RunningStack> {
  checkPrerequisites(config);
  for (const dir of Object.values(config.paths).filter((p) => !p.endsWith('.json') && p !== config.paths.dashboard && p !== config.paths.ohif)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  await checkPorts(config);
  const secrets = loadOrCreateSecrets(config.paths.secretsFile);
  await prepareOhif({ version: config.ohifVersion, ohifDir: config.paths.ohif, cacheDir: config.paths.cache, tmpDir: config.paths.tmp, log });

  const processes: ManagedProcess[] = [];
  const stopAll = async () => {
    for (const proc of [...processes].reverse()) await proc.stop();
    rmSync(config.paths.stateFile, { force: true });
  };
  try {
    const timeout = config.startTimeoutMs;
    log('Starting Redis...');
    processes.push(
      await startRedis({ bin: config.binaries.redis, port: config.ports.redis, password: secrets.redisPassword, dataDir: join(config.paths.data, 'redis'), configDir: config.paths.config, logDir: config.paths.logs, startTimeoutMs: timeout }),
    );
    log('Starting Orthanc...');
    processes.push(
      await startOrthanc({
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
    );
    const env = backendEnv(config, secrets);
    const admin = await runBackendCli<AdminCredentials>(env, ['bootstrap-admin', config.adminEmail]);
    log('Starting the backend...');
    processes.push(await startBackend({ port: config.ports.backend, env, logDir: config.paths.logs, startTimeoutMs: timeout }));
    log('Starting the nginx gateway...');
    processes.push(
      await startNginx({
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
        dashboardDir: config.paths.dashboard,
        ohifDir: config.paths.ohif,
        runtimeDir: join(config.paths.tmp, 'nginx'),
        configDir: config.paths.config,
        logDir: config.paths.logs,
        startTimeoutMs: timeout,
      }),
    );
    writeFileSync(
      config.paths.stateFile,
      JSON.stringify({ launcherPid: process.pid, url: config.publicUrl, services: Object.fromEntries(processes.map((p) => [p.options.name, p.pid])) }, null, 2),
    );
    const crashed = Promise.race(processes.map((proc) => proc.exited.then(() => proc))).then(async (proc) => proc);
    return { url: config.publicUrl, admin, secrets, processes, crashed, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
