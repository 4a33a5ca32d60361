import { Link } from 'react-router-dom';
import { apiFetch } from '../api/client';
import type { ExportJob } from '../api/exportTypes';
import { useLoad } from '../api/useLoad';
import { exportPagePath, exportPercent, exportsListApiPath, exportStatusBadge, optionsText } from '../lib/exports';
import { formatDateTime } from '../lib/format';
import { DataTable, LoadStatus } from './DataTable';
import { Pager } from './Pager';

const PAGE_SIZE = 10;

/** The newest exports (the user's own; every export for admins), each linking to its page. */
export function RecentExports({ page, onPage }: { page: number; onPage: (page: number) => void }) {
  const exports = useLoad(
    (signal) => apiFetch<{ exports: ExportJob[]; total: number }>(exportsListApiPath(page, PAGE_SIZE), { signal }),
    [page],
    'The recent exports could not be loaded.',
  );
  const list = exports.data;
  return (
    <>
      <LoadStatus state={exports} isEmpty={list?.exports.length === 0 && page === 1} empty="No exports yet." errorTestId="exports-error" emptyTestId="exports-empty" />
      {list && (list.exports.length > 0 || page > 1) && (
        <>
          <DataTable testId="exports-table" busy={exports.loading} columns={['Started', 'Status', 'Studies', 'Format', 'Recipient', 'Purpose', 'By']} compact>
            {list.exports.map((job) => {
              const badge = exportStatusBadge(job.status);
              return (
                <tr key={job.id} data-export-id={job.id} data-status={job.status}>
                  <td className="number">
                    <Link to={exportPagePath(job.id)}>{formatDateTime(job.createdAt)}</Link>
                  </td>
                  <td>
                    <span className={`badge ${badge.tone}`}>{badge.label}</span>
                    {job.status === 'running' && <span className="muted small-text"> {exportPercent(job)}%</span>}
                  </td>
                  <td className="number">{job.studyCount}</td>
                  <td>{optionsText(job.options)}</td>
                  <td className="wrap-anywhere">{job.recipient}</td>
                  <td className="detail" title={job.purpose}>
                    <span className="truncate">{job.purpose}</span>
                  </td>
                  <td>{job.createdBy}</td>
                </tr>
              );
            })}
          </DataTable>
          <Pager page={page} limit={PAGE_SIZE} shown={list.exports.length} total={list.total} onPage={onPage} />
        </>
      )}
    </>
  );
}
