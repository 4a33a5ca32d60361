// `cli.ts render-compose <dir>`: the docker-compose deployment's init step. Renders the
// same templates as the local launcher, with container hostnames and paths, into <dir>.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from './config.js';
import { loadOrCreateSecrets } from './secrets.js';
import { renderNginxConfig } from './services/nginx.js';
import { renderOrthancConfig } from './services/orthanc.js';
import { renderRedisConfig } from './services/redis.js';

/** Paths and ports inside the containers of docker-compose.yml. */
export const composeLayout = {
  orthancPlugin: '/usr/local/share/orthanc/plugins/libOrthancDicomWeb.so',
  orthancStorage: '/var/lib/orthanc/db',
  staticRoot: '/srv',
  backendDataDir: '/data',
  httpPort: 8080,
  backendPort: 8081,
  orthancHttpPort: 8042,
  orthancDicomPort: 4242,
  redisPort: 6379,
} as const;

export function renderComposeConfigs(outDir: string, options: { publicUrl: string; aet: string; maxUploadSize: string; maxApiBodySize: string; logLevel: string; inferenceUrl: string }) {
  mkdirSync(outDir, { recursive: true });
  const secrets = loadOrCreateSecrets(join(outDir, 'secrets.json'));
  const L = composeLayout;
  writeFileSync(
    join(outDir, 'orthanc.json'),
    renderOrthancConfig(
      { dicomwebPlugin: L.orthancPlugin, name: 'Preview-DICOM', aet: options.aet, httpPort: L.orthancHttpPort, dicomPort: L.orthancDicomPort, user: secrets.orthancUser, password: secrets.orthancPassword, remoteAccessAllowed: true },
      { storageDir: L.orthancStorage, indexDir: L.orthancStorage },
    ),
    { mode: 0o644 },
  );
  writeFileSync(join(outDir, 'redis.conf'), renderRedisConfig({ bind: '0.0.0.0', port: L.redisPort, password: secrets.redisPassword, dataDir: '/data' }), { mode: 0o644 });
  copyFileSync(resolve(repoRoot, 'nginx/proxy-headers.conf'), join(outDir, 'proxy-headers.conf'));
  writeFileSync(
    join(outDir, 'nginx.conf'),
    renderNginxConfig({
      bin: 'nginx',
      bindAddress: '0.0.0.0',
      port: L.httpPort,
      backendPort: L.backendPort,
      orthancHttpPort: L.orthancHttpPort,
      backendAddress: `backend:${L.backendPort}`,
      orthancAddress: `orthanc:${L.orthancHttpPort}`,
      userDirective: '',
      orthancUser: secrets.orthancUser,
      orthancPassword: secrets.orthancPassword,
      tls: null,
      maxUploadSize: options.maxUploadSize,
      maxApiBodySize: options.maxApiBodySize,
      dashboardDir: `${L.staticRoot}/dashboard`,
      ohifDir: `${L.staticRoot}/ohif`,
      runtimeDir: '/tmp',
      configDir: outDir,
      logDir: '/var/log/nginx',
      startTimeoutMs: 0,
      snippetsDir: '/config',
    }),
  );
  const backendEnv = {
    PD_BACKEND_HOST: '0.0.0.0',
    PD_BACKEND_PORT: String(L.backendPort),
    PD_PUBLIC_URL: options.publicUrl,
    PD_DATABASE_PATH: `${L.backendDataDir}/preview-dicom.sqlite`,
    PD_REDIS_URL: `redis://:${encodeURIComponent(secrets.redisPassword)}@redis:${L.redisPort}`,
    PD_ORTHANC_URL: `http://orthanc:${L.orthancHttpPort}`,
    PD_ORTHANC_USER: secrets.orthancUser,
    PD_ORTHANC_PASSWORD: secrets.orthancPassword,
    PD_JWT_SECRET: secrets.jwtSecret,
    // Empty: the reference service runs as the compose service "inference".
    PD_INFERENCE_URL: options.inferenceUrl || 'http://inference:8090',
    PD_LOG_LEVEL: options.logLevel,
  };
  writeFileSync(join(outDir, 'backend.env'), Object.entries(backendEnv).map(([k, v]) => `${k}='${v}'`).join('\n') + '\n', { mode: 0o600 });
  return { backendEnv };
}
