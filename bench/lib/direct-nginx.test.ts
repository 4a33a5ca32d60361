import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderNginxConfig } from '../../infra/src/services/nginx.js';
import { renderDirectNginxConfig } from './direct-nginx.js';

// The anchor is fair only while it proxies the way the gateway does: a setting tuned in the
// gateway's template and not here (or the reverse) would show up as a ratio, not as a cost.
const SERVER_WIDE = [
  'worker_processes', 'worker_connections', 'sendfile', 'tcp_nopush', 'keepalive_timeout',
  'gzip', 'gzip_comp_level', 'gzip_min_length', 'gzip_proxied', 'gzip_vary', 'gzip_types',
  'proxy_http_version', 'proxy_connect_timeout', 'proxy_read_timeout', 'proxy_send_timeout',
  'proxy_buffer_size', 'proxy_buffers', 'proxy_busy_buffers_size',
];
const BODY_AND_ANSWER = ['proxy_buffering', 'proxy_request_buffering', 'client_body_buffer_size', 'proxy_buffer_size', 'proxy_buffers'];

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

/** The directives written inside the block that opens with `header` (quoted text left out, so braces in JSON bodies do not count). */
function blockDirectives(config: string, header: string): Map<string, string> {
  const start = config.indexOf(`${header} {`);
  if (start < 0) throw new Error(`no block "${header}"`);
  const text = config.slice(start + header.length + 2).replace(/'[^']*'|"[^"]*"/g, "''");
  let depth = 1;
  let end = 0;
  while (depth > 0 && end < text.length) depth += text[end] === '{' ? 1 : text[end] === '}' ? -1 : 0, (end += 1);
  const found = new Map<string, string>();
  for (const match of text.slice(0, end).matchAll(/^\s*([a-z_]+)\s+([^;{]*);/gm)) found.set(match[1]!, match[2]!.trim());
  return found;
}

const dir = '/tmp/pd-anchor-mirror';
const gatewayConfig = renderNginxConfig({
  bin: '/usr/sbin/nginx', bindAddress: '127.0.0.1', port: 18080, backendPort: 18081, orthancHttpPort: 18042,
  orthancUser: 'preview', orthancPassword: 'secret', tls: null, maxUploadSize: '20g', maxApiBodySize: '25m',
  dashboardDir: join(dir, 'dashboard'), ohifDir: join(dir, 'ohif'), runtimeDir: join(dir, 'nginx'),
  configDir: join(dir, 'config'), logDir: join(dir, 'logs'), startTimeoutMs: 1000,
});
const anchorConfig = renderDirectNginxConfig({ dir, port: 18090, orthancPort: 18042, orthancUser: 'preview', orthancPassword: 'secret', snippetsDir: join(dir, 'nginx') });
const pick = (found: Map<string, string>, names: string[]) => Object.fromEntries(names.map((name) => [name, found.get(name) ?? '(default)']));

describe('the benchmark anchor (direct nginx) proxies as the gateway does', () => {
  it('with the same server-wide settings', () => {
    const gateway = outerDirectives(gatewayConfig);
    const anchor = outerDirectives(anchorConfig);
    for (const directive of SERVER_WIDE) expect(anchor.get(directive), directive).toEqual(gateway.get(directive));
    // The anchor's one upstream is Orthanc; its connection reuse must match the gateway's Orthanc upstream.
    expect(blockDirectives(anchorConfig, 'upstream direct_orthanc').get('keepalive')).toBe(blockDirectives(gatewayConfig, 'upstream preview_orthanc').get('keepalive'));
  });

  it('retrieving DICOMweb: as the gateway after its per-study check', () => {
    const retrieval = pick(blockDirectives(gatewayConfig, 'location ~ ^/dicom-web/studies/[^/]+'), ['proxy_buffering', 'proxy_buffer_size', 'proxy_buffers']);
    expect(pick(blockDirectives(anchorConfig, 'location /dicom-web/'), Object.keys(retrieval))).toEqual(retrieval);
  });

  it('taking uploads (the import anchor posts to /instances): as the gateway takes imports', () => {
    const imports = pick(blockDirectives(gatewayConfig, 'location ~ ^/api/imports(/[^/]+/files)?$'), BODY_AND_ANSWER);
    expect(pick(blockDirectives(anchorConfig, 'location /'), BODY_AND_ANSWER)).toEqual(imports);
  });
});
