import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, apiFetch } from '../api/client';
import type { HealthReport } from '../api/types';
import { DataTable } from '../components/DataTable';
import { healthRows, overallStatus } from './health';

const REFRESH_INTERVAL_MS = 10_000;

export function StatusPage() {
  const [report, setReport] = useState<HealthReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [checkedAt, setCheckedAt] = useState<Date | null>(null);
  const inFlight = useRef<AbortController | null>(null);

  const refresh = useCallback(async () => {
    // One check at a time, so a slow answer never overwrites a newer one.
    if (inFlight.current) return;
    const controller = new AbortController();
    inFlight.current = controller;
    try {
      // 503 still carries the full report naming what is down.
      const next = await apiFetch<HealthReport>('/api/health', { acceptStatuses: [503], signal: controller.signal });
      setReport(next);
      setError(null);
      setCheckedAt(new Date());
    } catch (caught) {
      if (controller.signal.aborted) return;
      setError(caught instanceof ApiError ? caught.message : 'Could not read the system status.');
    } finally {
      if (inFlight.current === controller) inFlight.current = null;
    }
  }, []);

  useEffect(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), REFRESH_INTERVAL_MS);
    return () => {
      clearInterval(timer);
      inFlight.current?.abort();
      inFlight.current = null;
    };
  }, [refresh]);

  const overall = report && overallStatus(report);

  return (
    <section>
      <div className="page-header">
        <h1>System status</h1>
        <button type="button" className="secondary" onClick={() => void refresh()}>
          Refresh
        </button>
      </div>
      {error && (
        <p role="alert" className="form-error" data-testid="health-error">
          Could not check the system status: {error}
        </p>
      )}
      {!report && !error && <p className="muted">Checking…</p>}
      {report && overall && (
        <>
          <p className="overall" data-testid="health-overall">
            <span className={`badge ${overall.tone}`}>{overall.label}</span> {overall.summary}
          </p>
          <DataTable testId="health-table" columns={['Dependency', 'Status', 'Required', 'Latency', 'Detail']}>
            {healthRows(report).map((row) => (
              <tr key={row.name} data-dependency={row.name}>
                <th scope="row">{row.label}</th>
                <td>
                  <span className={`badge ${row.tone}`}>{row.status}</span>
                </td>
                <td>{row.required}</td>
                <td className="number">{row.latency}</td>
                <td className="detail">{row.detail}</td>
              </tr>
            ))}
          </DataTable>
        </>
      )}
      {checkedAt && (
        <p className="muted">
          Last checked at {checkedAt.toLocaleTimeString()}; refreshes every {REFRESH_INTERVAL_MS / 1000} s.
        </p>
      )}
    </section>
  );
}
