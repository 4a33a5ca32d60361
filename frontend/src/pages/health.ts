import type { DependencyName, HealthReport } from '../api/types';

export type Tone = 'ok' | 'bad' | 'muted';

export type HealthRow = { name: DependencyName; label: string; status: string; tone: Tone; required: string; latency: string; detail: string };

export type OverallStatus = { label: 'OK' | 'Unavailable'; tone: Tone; summary: string };

const shortNames: Record<DependencyName, string> = { orthanc: 'Orthanc', redis: 'Redis', database: 'Database', inference: 'Inference service' };
const labels: Record<DependencyName, string> = {
  orthanc: 'Orthanc (DICOM store)',
  redis: 'Redis (sessions, queue)',
  database: 'Database (SQLite)',
  inference: 'Inference service',
};
const order: DependencyName[] = ['orthanc', 'redis', 'database', 'inference'];

export function overallStatus(report: HealthReport): OverallStatus {
  if (report.status === 'ok') return { label: 'OK', tone: 'ok', summary: 'All required services are up.' };
  const failing = report.failing.map((name) => shortNames[name] ?? name);
  const summary = failing.length
    ? `${failing.join(', ')} ${failing.length === 1 ? 'is' : 'are'} down.`
    : (report.message ?? 'A required service is down.');
  return { label: 'Unavailable', tone: 'bad', summary };
}

export function formatLatency(latencyMs: number | null): string {
  return latencyMs === null ? '—' : `${Math.round(latencyMs * 10) / 10} ms`;
}

export function healthRows(report: HealthReport): HealthRow[] {
  return order.map((name) => {
    const check = report.checks[name];
    return {
      name,
      label: labels[name],
      status: check.status === 'not_configured' ? 'not configured' : check.status,
      tone: check.status === 'up' ? 'ok' : check.status === 'down' ? 'bad' : 'muted',
      required: check.required ? 'yes' : 'no',
      latency: formatLatency(check.latencyMs),
      detail: check.detail ?? '',
    };
  });
}
