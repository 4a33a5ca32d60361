import { describe, expect, it } from 'vitest';
import { createTestBackend, useTestBackend, type TestBackend } from './harness.js';

type HealthBody = { status: string; failing: string[]; message?: string; checks: Record<string, { status: string; required: boolean; latencyMs: number | null; detail?: string }> };

async function health(backend: TestBackend): Promise<{ status: number; body: HealthBody }> {
  const response = await backend.app.request('/api/health');
  return { status: response.status, body: (await response.json()) as HealthBody };
}

async function waitForHealth(backend: TestBackend, expectedStatus: number, withinMs: number) {
  const started = Date.now();
  let last = await health(backend);
  while (last.status !== expectedStatus && Date.now() - started < withinMs) {
    await new Promise((r) => setTimeout(r, 200));
    last = await health(backend);
  }
  return { ...last, elapsedMs: Date.now() - started };
}

describe('GET /api/health against real Orthanc and Redis', () => {
  const env = useTestBackend();

  it('answers 200 with every dependency, its status and latency', async () => {
    const { status, body } = await waitForHealth(env.backend, 200, 5_000);
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.failing).toEqual([]);
    for (const name of ['orthanc', 'redis', 'database'] as const) {
      expect(body.checks[name]!.status).toBe('up');
      expect(body.checks[name]!.required).toBe(true);
      expect(body.checks[name]!.latencyMs).toBeGreaterThanOrEqual(0);
    }
    expect(body.checks.orthanc!.detail).toMatch(/^Orthanc 1\./);
    expect(body.checks.inference).toEqual({ status: 'not_configured', required: false, latencyMs: null });
  });

  it('answers 503 naming Orthanc within seconds of it dying, and 200 again once it is back', async () => {
    await env.services.orthanc.stop();
    const down = await waitForHealth(env.backend, 503, 5_000);
    expect(down.status).toBe(503);
    expect(down.body.failing).toEqual(['orthanc']);
    expect(down.body.message).toContain('orthanc');
    expect(down.body.checks.orthanc!.status).toBe('down');
    expect(down.elapsedMs).toBeLessThan(5_000);

    await env.services.orthanc.restart();
    const up = await waitForHealth(env.backend, 200, 10_000);
    expect(up.status).toBe(200);
  });

  it('answers 503 naming Redis within seconds of it dying, and 200 again once it is back (same env.backend)', async () => {
    await env.services.redis.stop();
    const down = await waitForHealth(env.backend, 503, 5_000);
    expect(down.status).toBe(503);
    expect(down.body.failing).toEqual(['redis']);
    expect(down.body.checks.redis!.status).toBe('down');

    await env.services.redis.restart();
    const up = await waitForHealth(env.backend, 200, 10_000);
    expect(up.status).toBe(200);
  });

  it('reports an unreachable required inference service as failing, and an optional one without failing', async () => {
    const required = createTestBackend(env.services, { PD_INFERENCE_URL: 'http://127.0.0.1:9', PD_INFERENCE_REQUIRED: 'true' });
    const optional = createTestBackend(env.services, { PD_INFERENCE_URL: 'http://127.0.0.1:9' });
    try {
      const r = await health(required);
      expect(r.status).toBe(503);
      expect(r.body.failing).toEqual(['inference']);
      const o = await health(optional);
      expect(o.status).toBe(200);
      expect(o.body.checks.inference!.status).toBe('down');
    } finally {
      await required.close();
      await optional.close();
    }
  });
});
