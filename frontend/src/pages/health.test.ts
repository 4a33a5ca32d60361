import { describe, expect, it } from 'vitest';
import type { HealthReport } from '../api/types';
import { formatLatency, healthRows, overallStatus } from './health';

const redisDown: HealthReport = {
  status: 'unavailable',
  failing: ['redis'],
  message: 'Unavailable: redis is down',
  checks: {
    inference: { status: 'not_configured', required: false, latencyMs: null },
    redis: { status: 'down', required: true, latencyMs: null, detail: 'ECONNREFUSED' },
    orthanc: { status: 'up', required: true, latencyMs: 4.2, detail: 'Orthanc 1.12.9' },
    database: { status: 'up', required: true, latencyMs: 0.3 },
  },
};

describe('healthRows', () => {
  it('lists every dependency in a fixed order with readable values', () => {
    const rows = healthRows(redisDown);
    expect(rows.map((r) => r.name)).toEqual(['orthanc', 'redis', 'database', 'inference']);
    expect(rows[0]).toMatchObject({ status: 'up', tone: 'ok', latency: '4.2 ms', required: 'yes', detail: 'Orthanc 1.12.9' });
    expect(rows[1]).toMatchObject({ status: 'down', tone: 'bad', latency: '—', detail: 'ECONNREFUSED' });
    expect(rows[2]).toMatchObject({ detail: '' });
    expect(rows[3]).toMatchObject({ status: 'not configured', tone: 'muted', required: 'no' });
  });
});

describe('overallStatus', () => {
  it('says OK when every required service is up', () => {
    expect(overallStatus({ ...redisDown, status: 'ok', failing: [] })).toEqual({ label: 'OK', tone: 'ok', summary: 'All required services are up.' });
  });

  it('names the failing services when unavailable', () => {
    expect(overallStatus(redisDown)).toEqual({ label: 'Unavailable', tone: 'bad', summary: 'Redis is down.' });
    expect(overallStatus({ ...redisDown, failing: ['orthanc', 'redis'] }).summary).toBe('Orthanc, Redis are down.');
    expect(overallStatus({ ...redisDown, failing: [] }).summary).toBe('Unavailable: redis is down');
  });
});

describe('formatLatency', () => {
  it('rounds to a tenth of a millisecond and marks a missing value', () => {
    expect(formatLatency(12.3456)).toBe('12.3 ms');
    expect(formatLatency(0)).toBe('0 ms');
    expect(formatLatency(null)).toBe('—');
  });
});
