import { useEffect, useState, type FormEvent, type MouseEvent } from 'react';
import { useSearchParams } from 'react-router-dom';
import { apiFetch, ensureFreshSession, messageOf } from '../api/client';
import type { AuditEntry } from '../api/types';
import { useLoad } from '../api/useLoad';
import { DataTable, LoadStatus } from '../components/DataTable';
import { ErrorText } from '../components/Feedback';
import { Field } from '../components/Field';
import { Pager } from '../components/Pager';
import { AUDIT_PAGE_SIZE, auditCsvPath, auditFilterNames, auditFiltersFrom, auditListPath, type AuditFilters } from '../lib/audit';
import { formatDateTime, formatDetails, roleLabel } from '../lib/format';
import { pageFromParam } from '../lib/forms';

const outcomeTones: Record<AuditEntry['outcome'], string> = { success: 'ok', failure: 'bad', denied: 'warn' };

/** The filter form's boxes, in order; the times are typed as local date-times. */
const filterFields: { name: keyof AuditFilters; label: string; placeholder?: string; type?: 'datetime-local' }[] = [
  { name: 'actor', label: 'Actor', placeholder: 'user ID or part of an e-mail' },
  { name: 'action', label: 'Action', placeholder: 'auth.login, or auth. for all' },
  { name: 'target', label: 'Target', placeholder: 'part of a UID or ID' },
  { name: 'from', label: 'From', type: 'datetime-local' },
  { name: 'to', label: 'To', type: 'datetime-local' },
];

/** Only the filled-in filters go into the address. */
function filterParams(filters: AuditFilters, page = 1): Record<string, string> {
  const params: Record<string, string> = {};
  for (const name of auditFilterNames) if (filters[name].trim()) params[name] = filters[name].trim();
  if (page > 1) params.page = String(page);
  return params;
}

export function AdminAuditPage() {
  const [params, setParams] = useSearchParams();
  const filters = auditFiltersFrom(params);
  const filtersKey = JSON.stringify(filters);
  const page = pageFromParam(params.get('page'));
  const [draft, setDraft] = useState<AuditFilters>(filters);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  // Back/forward changes the filters in the address; the form follows them.
  useEffect(() => setDraft(filters), [filtersKey]);

  const entries = useLoad(
    (signal) => apiFetch<{ entries: AuditEntry[]; total: number }>(auditListPath(filters, (page - 1) * AUDIT_PAGE_SIZE), { signal }),
    [filtersKey, page],
    'The audit log could not be loaded.',
  );

  const set = (name: keyof AuditFilters) => (event: { target: { value: string } }) => setDraft({ ...draft, [name]: event.target.value });
  const onApply = (event: FormEvent) => {
    event.preventDefault();
    setParams(filterParams(draft));
  };
  const csvHref = auditCsvPath(filters);

  // A plain link cannot renew an expired sign-in, so renew first, then let the browser download.
  const onDownload = async (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    setDownloadError(null);
    try {
      await ensureFreshSession();
      window.location.assign(csvHref);
    } catch (caught) {
      setDownloadError(messageOf(caught, 'The CSV file could not be downloaded.'));
    }
  };

  const list = entries.data;
  return (
    <section>
      <div className="page-header">
        <h1>Audit log</h1>
        <a className="button-link" href={csvHref} data-testid="audit-csv-link" onClick={(event) => void onDownload(event)}>
          Download CSV
        </a>
      </div>
      <ErrorText message={downloadError} testId="audit-download-error" />

      <form className="panel" data-testid="audit-filters" onSubmit={onApply}>
        <div className="filter-grid">
          {filterFields.map(({ name, label, placeholder, type }) => (
            <Field key={name} id={`audit-${name}`} label={label}>
              <input id={`audit-${name}`} type={type} placeholder={placeholder} value={draft[name]} onChange={set(name)} />
            </Field>
          ))}
        </div>
        <div className="button-row">
          <button type="submit">Apply filters</button>
          <button type="button" className="secondary" onClick={() => setParams({})}>
            Clear filters
          </button>
        </div>
        <p className="muted hint">Times are in your local time zone.</p>
      </form>

      <LoadStatus state={entries} isEmpty={list?.entries.length === 0} empty="No audit entries match these filters." errorTestId="audit-error" />
      {list && list.entries.length > 0 && (
        <>
          <DataTable testId="audit-table" compact busy={entries.loading} columns={['Time', 'Actor', 'Action', 'Target', 'Outcome', 'IP address', 'Details']}>
            {list.entries.map((entry) => {
              const details = formatDetails(entry.details);
              return (
                <tr key={entry.id} data-audit-id={entry.id} data-action={entry.action}>
                  <td className="number">{formatDateTime(entry.at)}</td>
                  <td>
                    {entry.actorEmail ?? <span className="muted">{entry.actorUserId ?? 'anonymous'}</span>}
                    {entry.actorRole && <div className="muted small-text">{roleLabel(entry.actorRole)}</div>}
                  </td>
                  <td>
                    <code>{entry.action}</code>
                  </td>
                  <td className="wrap-anywhere">
                    {entry.targetType || entry.targetId ? (
                      <>
                        {entry.targetType && <span className="muted">{entry.targetType} </span>}
                        {entry.targetId}
                      </>
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                  <td>
                    <span className={`badge ${outcomeTones[entry.outcome] ?? 'muted'}`}>{entry.outcome}</span>
                  </td>
                  <td>{entry.ip ?? '—'}</td>
                  <td className="detail" title={details || undefined}>
                    {details && <code className="truncate">{details}</code>}
                  </td>
                </tr>
              );
            })}
          </DataTable>
          <Pager page={page} limit={AUDIT_PAGE_SIZE} shown={list.entries.length} total={list.total} onPage={(next) => setParams(filterParams(filters, next))} />
        </>
      )}
    </section>
  );
}
