import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadStackConfig } from './config.js';
import { findFreePort, findFreePorts } from './ports.js';
import { ServiceStartError } from './process.js';
import { renderNginxConfig, type NginxOptions } from './services/nginx.js';
import { startOrthanc, type OrthancOptions } from './services/orthanc.js';
import { checkPorts, checkPrerequisites } from './stack.js';

function tempDirs() {
  const dir = mkdtempSync(join(tmpdir(), 'pd-stack-'));
  for (const sub of ['config', 'logs', 'data', 'nginx']) mkdirSync(join(dir, sub));
  return dir;
}

describe('the launcher says which part failed and why', () => {
  it('names a missing Debian package and the command that installs it', () => {
    const config = loadStackConfig({ PD_ORTHANC_DICOMWEB_PLUGIN: '/nonexistent/libOrthancDicomWeb.so' });
    expect(() => checkPrerequisites(config)).toThrow(ServiceStartError);
    expect(() => checkPrerequisites(config)).toThrow(/dicomwebPlugin \(\/nonexistent\/libOrthancDicomWeb.so\).*apt-get install -y orthanc-dicomweb/);
  });

  it('names a port that is taken and the variable that moves it', async () => {
    const taken = await findFreePort();
    const blocker = createServer().listen(taken, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    try {
      const [a, b, c, d] = await findFreePorts(4);
      const config = loadStackConfig({ PD_REDIS_PORT: String(taken), PD_HTTP_PORT: String(a), PD_BACKEND_PORT: String(b), PD_ORTHANC_HTTP_PORT: String(c), PD_ORTHANC_DICOM_PORT: String(d) });
      await expect(checkPorts(config)).rejects.toThrow(`port ${taken} for Redis (PD_REDIS_PORT) is already in use`);
    } finally {
      blocker.close();
    }
  });

  const orthancOptions = async (dir: string, overrides: Partial<OrthancOptions> = {}): Promise<OrthancOptions> => {
    const [httpPort, dicomPort] = await findFreePorts(2);
    const defaults = loadStackConfig({});
    return {
      bin: defaults.binaries.orthanc,
      dicomwebPlugin: defaults.binaries.dicomwebPlugin,
      name: 'test',
      aet: 'TEST',
      httpPort: httpPort!,
      dicomPort: dicomPort!,
      user: 'u',
      password: 'p-0123456789abcdef',
      dataDir: join(dir, 'data'),
      configDir: join(dir, 'config'),
      logDir: join(dir, 'logs'),
      startTimeoutMs: 20_000,
      ...overrides,
    };
  };

  it('reports a service that dies at start with the tail of its log', async () => {
    const options = await orthancOptions(tempDirs());
    // Orthanc exits when its DICOM port cannot be bound.
    const blocker = createServer().listen(options.dicomPort, '0.0.0.0');
    await new Promise((r) => blocker.once('listening', r));
    try {
      await expect(startOrthanc(options)).rejects.toThrow(/^orthanc: exited during start .*Last lines of .*orthanc\.log/s);
    } finally {
      blocker.close();
    }
  });

  it('stops and explains an Orthanc that came up without the DICOMweb plugin', async () => {
    const options = await orthancOptions(tempDirs(), { dicomwebPlugin: '/nonexistent/plugin.so' });
    await expect(startOrthanc(options)).rejects.toThrow(/orthanc: Orthanc started without its DICOMweb plugin.*PD_ORTHANC_DICOMWEB_PLUGIN/);
    await expect(fetch(`http://127.0.0.1:${options.httpPort}/system`)).rejects.toThrow();
  });
});

describe('the rendered nginx configuration', () => {
  const options = (dir: string, overrides: Partial<NginxOptions> = {}): NginxOptions => ({
    bin: '/usr/sbin/nginx',
    bindAddress: '127.0.0.1',
    port: 18080,
    backendPort: 18081,
    orthancHttpPort: 18042,
    orthancUser: 'preview',
    orthancPassword: 'secret',
    tls: null,
    maxUploadSize: '20g',
    maxApiBodySize: '25m',
    dashboardDir: join(dir, 'dashboard'),
    ohifDir: join(dir, 'ohif'),
    runtimeDir: join(dir, 'nginx'),
    configDir: join(dir, 'config'),
    logDir: join(dir, 'logs'),
    startTimeoutMs: 1000,
    ...overrides,
  });

  const nginxTest = (dir: string, config: string) => {
    const file = join(dir, 'config', 'nginx.conf');
    writeFileSync(file, config);
    execFileSync('/usr/sbin/nginx', ['-t', '-q', '-c', file, '-e', join(dir, 'logs', 'error.log')], { stdio: 'pipe' });
  };

  it('passes `nginx -t`, routes the four prefixes and keeps Orthanc credentials server-side', () => {
    const dir = tempDirs();
    const config = renderNginxConfig(options(dir));
    nginxTest(dir, config);
    for (const location of ['location /api/', 'location /dicom-web/', 'location /viewer/', 'location / ']) expect(config).toContain(location);
    expect(config).toContain(`Basic ${Buffer.from('preview:secret').toString('base64')}`);
    expect(config).toContain('auth_request /_gateway/auth-check;');
    expect(config).toContain('client_max_body_size 20g;');
    expect(config).toContain('proxy_request_buffering off;');
    // Unbuffered answers go on in 64 KiB pieces, not nginx's 4 KiB default (frames ~1.2× faster).
    expect(config).toMatch(/^    proxy_buffer_size 64k;$/m);
  });

  it('with TLS, listens with ssl, sends HSTS, and still passes `nginx -t`', () => {
    const dir = tempDirs();
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert], { stdio: 'pipe' });
    const config = renderNginxConfig(options(dir, { tls: { cert, key } }));
    nginxTest(dir, config);
    expect(config).toContain('listen 127.0.0.1:18080 ssl http2;');
    expect(config).toContain('Strict-Transport-Security');
    expect(readFileSync(cert, 'utf8')).toContain('BEGIN CERTIFICATE');
  });
});
