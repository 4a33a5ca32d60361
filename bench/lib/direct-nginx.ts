// The anchor path: an nginx of the benchmark's own, in front of Orthanc only. It mirrors the
// gateway's proxy settings for /dicom-web (nginx/nginx.conf.tmpl: upstream keepalive,
// HTTP/1.1, timeouts, proxy buffer sizes, proxy-headers.conf, Forwarded, unbuffered, gzip,
// access log, security headers) so that the only difference from the gateway is the
// authorization: this one adds Orthanc's basic-auth header to every request without asking
// anybody.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export type DirectNginx = { url: string; port: number; dir: string; child: ChildProcess; stop: () => Promise<void> };

export function renderDirectNginxConfig(options: { dir: string; port: number; orthancPort: number; orthancUser: string; orthancPassword: string; snippetsDir: string }): string {
  const basic = Buffer.from(`${options.orthancUser}:${options.orthancPassword}`).toString('base64');
  const user = process.getuid?.() === 0 ? 'user root root;' : '';
  const proxied = `
      proxy_pass http://direct_orthanc;
      include ${options.snippetsDir}/proxy-headers.conf;
      proxy_set_header Authorization "Basic ${basic}";
      proxy_set_header Cookie "";
      proxy_set_header Forwarded "host=$http_host;proto=$scheme";
      proxy_hide_header WWW-Authenticate;
      proxy_request_buffering off;
      # As the gateway's upload location: unbuffered bodies go on in 1 MiB pieces, not 16 KiB.
      client_body_buffer_size 1m;
      proxy_buffering off;`;
  return `# Rendered by bench/lib/direct-nginx.ts: nginx straight to Orthanc (benchmark anchor).
${user}
master_process on;
worker_processes auto;
pid ${options.dir}/nginx.pid;
error_log ${options.dir}/error.log warn;

events {
  worker_connections 2048;
}

http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  server_tokens off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65s;

  client_body_temp_path ${options.dir}/client_body;
  proxy_temp_path ${options.dir}/proxy;
  fastcgi_temp_path ${options.dir}/fastcgi;
  uwsgi_temp_path ${options.dir}/uwsgi;
  scgi_temp_path ${options.dir}/scgi;

  log_format direct escape=json '{"time":"$time_iso8601","requestId":"$request_id","remote":"$remote_addr",'
    '"method":"$request_method","uri":"$request_uri","status":$status,"bytes":$body_bytes_sent,'
    '"ms":"$request_time","upstreamMs":"$upstream_response_time","userAgent":"$http_user_agent"}';
  access_log ${options.dir}/access.log direct;

  gzip on;
  gzip_comp_level 5;
  gzip_min_length 1024;
  gzip_proxied any;
  gzip_vary on;
  gzip_types application/json application/dicom+json application/javascript text/javascript text/css text/plain image/svg+xml application/wasm;

  upstream direct_orthanc {
    server 127.0.0.1:${options.orthancPort};
    keepalive 64;
  }

  server {
    listen 127.0.0.1:${options.port};
    server_name _;

    add_header Content-Security-Policy "default-src 'self'" always;
    add_header X-Content-Type-Options nosniff always;
    add_header Referrer-Policy no-referrer always;
    add_header X-Frame-Options SAMEORIGIN always;
    add_header Cross-Origin-Opener-Policy same-origin always;
    add_header Permissions-Policy "camera=(), microphone=(), geolocation=()" always;
    add_header X-Request-Id $request_id always;

    client_max_body_size 0;
    proxy_http_version 1.1;
    proxy_connect_timeout 5s;
    proxy_read_timeout 300s;
    proxy_send_timeout 300s;
    proxy_buffer_size 64k;
    proxy_buffers 4 64k;

    # DICOMweb: the gateway's retrieval location without its auth_request.
    location /dicom-web/ {${proxied}
    }

    # Orthanc's REST API (anchors for import, export and the API figures).
    location / {${proxied}
    }
  }
}
`;
}

/** Renders the config into `dir`, checks it with `nginx -t`, starts nginx in the foreground and waits until Orthanc answers through it. */
export async function startDirectNginx(options: { bin: string; dir: string; port: number; orthancPort: number; orthancUser: string; orthancPassword: string; snippetsDir: string }): Promise<DirectNginx> {
  mkdirSync(options.dir, { recursive: true });
  for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(options.dir, sub), { recursive: true });
  const conf = join(options.dir, 'nginx.conf');
  writeFileSync(conf, renderDirectNginxConfig(options), { mode: 0o600 });
  const args = ['-p', options.dir, '-c', conf, '-e', join(options.dir, 'error.log')];
  try {
    await execFileAsync(options.bin, [...args, '-t', '-q', '-g', 'daemon off;']);
  } catch (error) {
    throw new Error(`direct nginx: configuration test failed: ${(error as { stderr?: string }).stderr ?? (error as Error).message}`);
  }
  const child = spawn(options.bin, [...args, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${options.port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGQUIT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`direct nginx exited at start: ${output}`);
    try {
      const response = await fetch(`${url}/system`, { signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      if (response.ok) break;
      if (Date.now() > deadline) throw new Error(`Orthanc through the direct nginx answers ${response.status}`);
    } catch (error) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`direct nginx did not come up: ${(error as Error).message} ${output}`);
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, port: options.port, dir: options.dir, child, stop };
}
