import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../config.js';
import { ManagedProcess, ServiceStartError, waitUntilHealthy } from '../process.js';
import { renderTemplate } from '../templates.js';

const execFileAsync = promisify(execFile);

export type NginxOptions = {
  bin: string;
  bindAddress: string;
  port: number;
  backendPort: number;
  orthancHttpPort: number;
  /** host:port overrides for deployments where the upstreams are not on loopback (docker compose). */
  backendAddress?: string;
  orthancAddress?: string;
  userDirective?: string;
  /** How long nginx reuses a per-study DICOMweb authorization decision. */
  authzCacheSeconds?: number;
  /** Folder holding proxy-headers.conf (the repository's nginx/ unless in a container). */
  snippetsDir?: string;
  orthancUser: string;
  orthancPassword: string;
  tls: { cert: string; key: string } | null;
  maxUploadSize: string;
  maxApiBodySize: string;
  dashboardDir: string;
  ohifDir: string;
  runtimeDir: string;
  configDir: string;
  logDir: string;
  startTimeoutMs: number;
};

function tcpAccepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect({ host, port }, () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.on('error', () => resolvePromise(false));
  });
}

export function renderNginxConfig(options: NginxOptions): string {
  const listen = `${options.bindAddress}:${options.port}`;
  return renderTemplate('nginx/nginx.conf.tmpl', {
    // Workers run as root only when we are root: the static files may live under /root (mode 700).
    USER_DIRECTIVE: options.userDirective ?? (process.getuid?.() === 0 ? 'user root root;' : ''),
    RUNTIME_DIR: options.runtimeDir,
    LOG_DIR: options.logDir,
    BACKEND_ADDRESS: options.backendAddress ?? `127.0.0.1:${options.backendPort}`,
    ORTHANC_ADDRESS: options.orthancAddress ?? `127.0.0.1:${options.orthancHttpPort}`,
    LISTEN_DIRECTIVES: options.tls ? `listen ${listen} ssl http2;` : `listen ${listen};`,
    TLS_DIRECTIVES: options.tls
      ? `ssl_certificate ${options.tls.cert};\n    ssl_certificate_key ${options.tls.key};\n    ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_session_cache shared:preview_tls:10m;`
      : '# TLS is off (set PD_TLS_CERT and PD_TLS_KEY to enable it).',
    HSTS_DIRECTIVE: options.tls ? 'add_header Strict-Transport-Security "max-age=31536000" always;' : '',
    MAX_API_BODY_SIZE: options.maxApiBodySize,
    AUTHZ_CACHE_SECONDS: options.authzCacheSeconds ?? 10,
    MAX_UPLOAD_SIZE: options.maxUploadSize,
    ORTHANC_BASIC_AUTH: Buffer.from(`${options.orthancUser}:${options.orthancPassword}`).toString('base64'),
    NGINX_SNIPPETS_DIR: options.snippetsDir ?? resolve(repoRoot, 'nginx'),
    OHIF_DIR: options.ohifDir,
    DASHBOARD_DIR: options.dashboardDir,
  });
}

export async function startNginx(options: NginxOptions): Promise<ManagedProcess> {
  const nginxRuntime = join(options.runtimeDir);
  for (const dir of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(nginxRuntime, dir), { recursive: true });
  const configFile = join(options.configDir, 'nginx.conf');
  writeFileSync(configFile, renderNginxConfig(options), { mode: 0o600 });

  // `nginx -t` names the bad line of a bad configuration before anything starts.
  try {
    await execFileAsync(options.bin, ['-t', '-q', '-c', configFile, '-e', join(options.logDir, 'nginx-error.log')]);
  } catch (error) {
    throw new ServiceStartError('nginx', `configuration test failed:\n${(error as { stderr?: string }).stderr?.trim() ?? (error as Error).message}`);
  }

  const proc = new ManagedProcess({
    name: 'nginx',
    command: options.bin,
    args: ['-c', configFile, '-e', join(options.logDir, 'nginx-error.log')],
    logFile: join(options.logDir, 'nginx.log'),
    stopSignal: 'SIGQUIT',
  });
  const scheme = options.tls ? 'https' : 'http';
  const probeHost = options.bindAddress === '0.0.0.0' ? '127.0.0.1' : options.bindAddress;
  await waitUntilHealthy(
    proc,
    async () => {
      // A self-signed certificate would fail fetch: with TLS, an accepted connection is enough.
      if (options.tls) return tcpAccepts(probeHost, options.port);
      const response = await fetch(`${scheme}://${probeHost}:${options.port}/api/health/live`, { signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      return response.ok;
    },
    options.startTimeoutMs,
  );
  return proc;
}
