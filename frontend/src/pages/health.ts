import type { DependencyName, HealthReport } from '../api/types';

export type HealthRow = { name: DependencyName; label: string; status: string; tone: 'ok' | 'bad' | 'muted'; required: string; latency: string; detail: string };

const labels: Record<DependencyName, string> = { orthanc: 'Orthanc (DICOM store)', redis: 'Redis (sessions, queue)', database: 'Database (SQLite)', inference: 'Inference service' };
const order: DependencyName[] = ['orthanc', 'redis', 'database', 'inference'];

export function healthRows(report: HealthReport): HealthRow[] {
  return order.map((name) => {
    const check = report.checks[name];
    return {
      name,
      label: labels[name],
      status: check.status === 'not_configured' ? 'not configured' : check.status,
      tone: check.status === 'up' ? 'ok' : check.status === 'down' ? 'bad' : 'muted',
      required: check.required ? 'yes' : 'no',
      latency: check.latencyMs === null ? '—' : `${check.latencyMs} ms`,
      detail: check.detail ?? '',
    };
  });
}
