import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderNginxConfig } from '../../infra/src/services/nginx.js';
import { renderDirectNginxConfig } from './direct-nginx.js';

// The anchor is fair only while it proxies the way the gateway does: a setting tuned in the
// gateway's template and not here (or the reverse) would show up as a ratio, not as a cost.
const MIRRORED = [
  'worker_processes', 'worker_connections', 'sendfile', 'tcp_nopush', 'keepalive_timeout',
  'gzip', 'gzip_comp_level', 'gzip_min_length', 'gzip_proxied', 'gzip_vary', 'gzip_types',
  'proxy_http_version', 'proxy_connect_timeout', 'proxy_read_timeout', 'proxy_send_timeout',
  'proxy_buffer_size', 'proxy_buffers', 'keepalive',
];

/** Each directive's values at the http, upstream and server levels (indented at most 4 spaces). */
function outerDirectives(config: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of config.split('\n')) {
    const match = /^ {0,4}([a-z_]+)\s+([^;{]*);/.exec(line);
    if (!match) continue;
    found.set(match[1]!, [...(found.get(match[1]!) ?? []), match[2]!.trim()]);
  }
  return found;
}

describe('the benchmark anchor (direct nginx)', () => {
  it('proxies with the gateway settings', () => {
    const dir = '/tmp/pd-anchor-mirror';
    const gateway = outerDirectives(
      renderNginxConfig({
        bin: '/usr/sbin/nginx', bindAddress: '127.0.0.1', port: 18080, backendPort: 18081, orthancHttpPort: 18042,
        orthancUser: 'preview', orthancPassword: 'secret', tls: null, maxUploadSize: '20g', maxApiBodySize: '25m',
        dashboardDir: join(dir, 'dashboard'), ohifDir: join(dir, 'ohif'), runtimeDir: join(dir, 'nginx'),
        configDir: join(dir, 'config'), logDir: join(dir, 'logs'), startTimeoutMs: 1000,
      }),
    );
    const anchor = outerDirectives(renderDirectNginxConfig({ dir, port: 18090, orthancPort: 18042, orthancUser: 'preview', orthancPassword: 'secret', snippetsDir: join(dir, 'nginx') }));
    for (const directive of MIRRORED) {
      expect(gateway.get(directive), `${directive} in the gateway`).toBeDefined();
      // The gateway has two upstreams (backend and Orthanc); the anchor's one must match Orthanc's.
      const expected = directive === 'keepalive' ? gateway.get(directive)!.slice(-1) : gateway.get(directive);
      expect(anchor.get(directive), directive).toEqual(expected);
    }
  });

  it('proxies /dicom-web unbuffered both ways, as the gateway does', () => {
    const anchor = renderDirectNginxConfig({ dir: '/tmp/x', port: 18090, orthancPort: 18042, orthancUser: 'u', orthancPassword: 'p', snippetsDir: '/tmp/x' });
    const dicomweb = anchor.slice(anchor.indexOf('location /dicom-web/ {'), anchor.indexOf('}', anchor.indexOf('location /dicom-web/ {')));
    expect(dicomweb).toContain('proxy_buffering off;');
    expect(dicomweb).toContain('proxy_request_buffering off;');
  });
});
