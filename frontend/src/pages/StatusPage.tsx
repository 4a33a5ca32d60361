import { useCallback, useEffect, useState } from 'react';
import { ApiError, apiFetch } from '../api/client';
import type { HealthReport } from '../api/types';
import { healthRows } from './health';

const REFRESH_MS = 10_000;

export function StatusPage() {
  const [report, setReport] = useState<HealthReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [checkedAt, setCheckedAt] = useState<Date | null>(null);

  const refresh = useCallback(async () => {
    try {
      // 503 still carries the full report naming what is down.
      setReport(await apiFetch<HealthReport>('/api/health', { acceptStatuses: [503] }));
      setError(null);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : 'Could not read the system status.');
    }
    setCheckedAt(new Date());
  }, []);

  useEffect(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [refresh]);

  return (
    <section>
      <div className="page-header">
        <h1>System status</h1>
        <button type="button" className="secondary" onClick={() => void refresh()}>
          Refresh
        </button>
      </div>
      {error && (
        <p role="alert" className="form-error">
          {error}
        </p>
      )}
      {report && (
        <>
          <p className={`overall ${report.status === 'ok' ? 'ok' : 'bad'}`} data-testid="health-overall">
            {report.status === 'ok' ? 'All required services are up.' : `Unavailable: ${report.failing.join(', ')} down.`}
          </p>
          <table className="table" data-testid="health-table">
            <thead>
              <tr>
                <th scope="col">Dependency</th>
                <th scope="col">Status</th>
                <th scope="col">Required</th>
                <th scope="col">Latency</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {healthRows(report).map((row) => (
                <tr key={row.name}>
                  <td>{row.label}</td>
                  <td>
                    <span className={`badge ${row.tone}`}>{row.status}</span>
                  </td>
                  <td>{row.required}</td>
                  <td>{row.latency}</td>
                  <td className="detail">{row.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {checkedAt && <p className="muted">Checked at {checkedAt.toLocaleTimeString()}; refreshes every {REFRESH_MS / 1000} s.</p>}
    </section>
  );
}
