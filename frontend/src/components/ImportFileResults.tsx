import { apiFetch } from '../api/client';
import { queryString } from '../api/query';
import type { ImportFileResult, ImportJob } from '../api/types';
import { useLoad } from '../api/useLoad';
import { importOutcomes, outcomeBadge, type OutcomeFilter } from '../lib/imports';
import { DataTable, LoadStatus } from './DataTable';
import { Field } from './Field';
import { Pager } from './Pager';

const PAGE_SIZE = 50;

const filterLabels: Record<OutcomeFilter, string> = {
  all: 'All files',
  rejected: 'Rejected',
  skipped: 'Skipped',
  duplicate: 'Duplicates',
  stored: 'Stored',
};

/** What became of each file of a job, one outcome at a time, with the server's reason. */
export function ImportFileResults({
  job,
  outcome,
  page,
  onChange,
}: {
  job: ImportJob;
  outcome: OutcomeFilter;
  page: number;
  onChange: (outcome: OutcomeFilter, page: number) => void;
}) {
  const path = `/api/imports/${encodeURIComponent(job.id)}/files`;
  const files = useLoad(
    (signal) =>
      apiFetch<{ files: ImportFileResult[]; total: number }>(
        `${path}${queryString({ outcome: outcome === 'all' ? null : outcome, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE })}`,
        { signal },
      ),
    // A job still taking files grows its list: load again when it reports more.
    [path, outcome, page, job.counters.filesReceived, job.status],
    'The file results could not be loaded.',
  );
  const list = files.data;
  return (
    <div className="file-results" data-testid="import-files">
      <div className="form-row filter-row">
        <Field id="import-outcome" label="Show">
          <select id="import-outcome" data-testid="import-outcome-filter" value={outcome} onChange={(event) => onChange(event.target.value as OutcomeFilter, 1)}>
            {(['all', ...importOutcomes] as OutcomeFilter[]).map((value) => (
              <option key={value} value={value}>
                {filterLabels[value]}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <LoadStatus
        state={files}
        isEmpty={list?.files.length === 0 && page === 1}
        empty={outcome === 'all' ? 'No files were received.' : `No ${filterLabels[outcome].toLowerCase()} files.`}
        errorTestId="import-files-error"
        emptyTestId="import-files-empty"
      />
      {list && (list.files.length > 0 || page > 1) && (
        <>
          <DataTable testId="import-files-table" busy={files.loading} columns={['#', 'File', 'Outcome', 'Instances', 'Reason']} compact>
            {list.files.map((file) => {
              const badge = outcomeBadge(file.outcome);
              return (
                <tr key={file.seq} data-outcome={file.outcome}>
                  <td className="number">{file.seq}</td>
                  <td className="mono wrap-anywhere">{file.name}</td>
                  <td>
                    <span className={`badge ${badge.tone}`}>{badge.label}</span>
                  </td>
                  <td className="number">{file.instances}</td>
                  <td className="detail">{file.reason ?? <span className="muted">—</span>}</td>
                </tr>
              );
            })}
          </DataTable>
          <Pager page={page} limit={PAGE_SIZE} shown={list.files.length} total={list.total} onPage={(next) => onChange(outcome, next)} />
        </>
      )}
    </div>
  );
}
