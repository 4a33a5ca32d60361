import { Link } from 'react-router-dom';
import { apiFetch } from '../api/client';
import { queryString } from '../api/query';
import type { ImportJob } from '../api/types';
import { useLoad } from '../api/useLoad';
import { formatDateTime } from '../lib/format';
import { countersText, importStatusBadge } from '../lib/imports';
import { DataTable, LoadStatus } from './DataTable';
import { Pager } from './Pager';

const PAGE_SIZE = 10;

/** The newest imports (the user's own; every import for admins), each linking to its page. */
export function RecentImports({ page, onPage }: { page: number; onPage: (page: number) => void }) {
  const imports = useLoad(
    (signal) => apiFetch<{ imports: ImportJob[]; total: number }>(`/api/imports${queryString({ limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE })}`, { signal }),
    [page],
    'The recent imports could not be loaded.',
  );
  const list = imports.data;
  return (
    <>
      <LoadStatus state={imports} isEmpty={list?.imports.length === 0 && page === 1} empty="No imports yet." errorTestId="imports-error" emptyTestId="imports-empty" />
      {list && (list.imports.length > 0 || page > 1) && (
        <>
          <DataTable testId="imports-table" busy={imports.loading} columns={['Started', 'Import', 'Group', 'By', 'Status', 'Result']} compact>
            {list.imports.map((job) => {
              const badge = importStatusBadge(job.status);
              return (
                <tr key={job.id} data-import-id={job.id}>
                  <td className="number">
                    <Link to={`/imports/${encodeURIComponent(job.id)}`}>{formatDateTime(job.createdAt)}</Link>
                  </td>
                  <td className="wrap-anywhere">{job.label || <span className="muted">—</span>}</td>
                  <td>{job.ownerGroup.name}</td>
                  <td>{job.createdBy.email ?? <span className="muted">—</span>}</td>
                  <td>
                    <span className={`badge ${badge.tone}`}>{badge.label}</span>
                  </td>
                  <td>{countersText(job.counters)}</td>
                </tr>
              );
            })}
          </DataTable>
          <Pager page={page} limit={PAGE_SIZE} shown={list.imports.length} total={list.total} onPage={onPage} />
        </>
      )}
    </>
  );
}
