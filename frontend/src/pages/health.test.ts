import { describe, expect, it } from 'vitest';
import { healthRows } from './health';

describe('healthRows', () => {
  it('lists every dependency in a fixed order with readable values', () => {
    const rows = healthRows({
      status: 'unavailable',
      failing: ['redis'],
      checks: {
        inference: { status: 'not_configured', required: false, latencyMs: null },
        redis: { status: 'down', required: true, latencyMs: null, detail: 'ECONNREFUSED' },
        orthanc: { status: 'up', required: true, latencyMs: 4.2, detail: 'Orthanc 1.10.1' },
        database: { status: 'up', required: true, latencyMs: 0.3 },
      },
    });
    expect(rows.map((r) => r.name)).toEqual(['orthanc', 'redis', 'database', 'inference']);
    expect(rows[0]).toMatchObject({ status: 'up', tone: 'ok', latency: '4.2 ms', required: 'yes' });
    expect(rows[1]).toMatchObject({ status: 'down', tone: 'bad', latency: '—', detail: 'ECONNREFUSED' });
    expect(rows[3]).toMatchObject({ status: 'not configured', tone: 'muted', required: 'no' });
  });
});
