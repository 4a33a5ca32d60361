import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderComposeConfigs } from './compose.js';
import { repoRoot } from './config.js';
import { BACKEND_NODE_FLAGS } from './services/backend.js';

type ComposeFile = {
  services: Record<string, { image?: string; build?: string; depends_on?: Record<string, { condition: string }>; volumes?: string[]; command?: unknown }>;
  volumes: Record<string, unknown>;
};

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(resolve(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as ComposeFile;

  it('runs official images for Orthanc (with DICOMweb), Redis and nginx, and a Node 24 image for the app', () => {
    expect(compose.services.orthanc!.image).toMatch(/^jodogne\/orthanc-plugins:/);
    expect(compose.services.redis!.image).toMatch(/^redis:7/);
    expect(compose.services.nginx!.image).toMatch(/^nginx:/);
    expect(compose.services.backend!.build).toBe('.');
    expect(compose.services.inference!.command).toEqual(['node', '--import', 'tsx', 'infra/inference/server.ts']);
    expect(readFileSync(resolve(repoRoot, 'Dockerfile'), 'utf8')).toMatch(/^FROM node:24-bookworm/m);
  });

  it('starts the backend everywhere with the launcher\'s Node flags (the image, npm start)', () => {
    const cmd = /^CMD \[.*\]$/m.exec(readFileSync(resolve(repoRoot, 'Dockerfile'), 'utf8'))?.[0] ?? '';
    const start = (JSON.parse(readFileSync(resolve(repoRoot, 'backend/package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start ?? '';
    expect(BACKEND_NODE_FLAGS.length).toBeGreaterThan(0);
    for (const flag of BACKEND_NODE_FLAGS) {
      expect(cmd, 'Dockerfile CMD').toContain(` ${flag} `);
      expect(start, 'backend npm start').toContain(` ${flag} `);
    }
  });

  it('references only services and volumes it defines', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const dependency of Object.keys(service.depends_on ?? {})) expect(compose.services, `${name} depends on ${dependency}`).toHaveProperty(dependency);
      for (const volume of service.volumes ?? []) expect(compose.volumes, `${name} mounts ${volume}`).toHaveProperty(volume.split(':')[0]!);
    }
  });

  it('renders the same templates for containers: network upstreams, remote access, container paths', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pd-compose-'));
    renderComposeConfigs(dir, { publicUrl: 'https://pacs.example.org', aet: 'PREVIEWDICOM', maxUploadSize: '20g', maxApiBodySize: '25m', logLevel: 'info', inferenceUrl: '' });
    const orthanc = JSON.parse(readFileSync(join(dir, 'orthanc.json'), 'utf8')) as Record<string, unknown>;
    expect(orthanc.RemoteAccessAllowed).toBe(true);
    expect(orthanc.AuthenticationEnabled).toBe(true);
    expect(orthanc.Plugins).toEqual(['/usr/local/share/orthanc/plugins/libOrthancDicomWeb.so']);
    const nginx = readFileSync(join(dir, 'nginx.conf'), 'utf8');
    expect(nginx).toContain('server backend:8081;');
    expect(nginx).toContain('server orthanc:8042;');
    expect(nginx).toContain('include /config/proxy-headers.conf;');
    expect(nginx).not.toContain('{{');
    expect(readFileSync(join(dir, 'redis.conf'), 'utf8')).toContain('bind 0.0.0.0');
    const env = readFileSync(join(dir, 'backend.env'), 'utf8');
    expect(env).toContain("PD_ORTHANC_URL='http://orthanc:8042'");
    expect(env).toContain("PD_PUBLIC_URL='https://pacs.example.org'");
    // Secrets are generated once and kept on re-render.
    const secrets = readFileSync(join(dir, 'secrets.json'), 'utf8');
    renderComposeConfigs(dir, { publicUrl: 'https://pacs.example.org', aet: 'PREVIEWDICOM', maxUploadSize: '20g', maxApiBodySize: '25m', logLevel: 'info', inferenceUrl: '' });
    expect(readFileSync(join(dir, 'secrets.json'), 'utf8')).toBe(secrets);
  });
});
