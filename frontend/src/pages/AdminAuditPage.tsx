import { useEffect, useState, type FormEvent, type MouseEvent } from 'react';
import { useSearchParams } from 'react-router-dom';
import { apiFetch, ensureFreshSession, messageOf } from '../api/client';
import type { AuditEntry } from '../api/types';
import { useLoad } from '../api/useLoad';
import { ErrorText, LoadError } from '../components/Feedback';
import { Pager } from '../components/Pager';
import { AUDIT_PAGE_SIZE, auditCsvPath, auditFilterNames, auditFiltersFrom, auditListPath, type AuditFilters } from '../lib/audit';
import { formatDateTime, formatDetails, roleLabel } from '../lib/format';
import { pageFromParam } from '../lib/forms';

const outcomeTones: Record<AuditEntry['outcome'], string> = { success: 'ok', failure: 'bad', denied: 'warn' };

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
          <div className="field">
            <label htmlFor="audit-actor">Actor</label>
            <input id="audit-actor" placeholder="user ID or part of an e-mail" value={draft.actor} onChange={set('actor')} />
          </div>
          <div className="field">
            <label htmlFor="audit-action">Action</label>
            <input id="audit-action" placeholder="auth.login, or auth. for all" value={draft.action} onChange={set('action')} />
          </div>
          <div className="field">
            <label htmlFor="audit-target">Target</label>
            <input id="audit-target" placeholder="part of a UID or ID" value={draft.target} onChange={set('target')} />
          </div>
          <div className="field">
            <label htmlFor="audit-from">From</label>
            <input id="audit-from" type="datetime-local" value={draft.from} onChange={set('from')} />
          </div>
          <div className="field">
            <label htmlFor="audit-to">To</label>
            <input id="audit-to" type="datetime-local" value={draft.to} onChange={set('to')} />
          </div>
        </div>
        <div className="button-row">
          <button type="submit">Apply filters</button>
          <button type="button" className="secondary" onClick={() => setParams({})}>
            Clear filters
          </button>
        </div>
        <p className="muted hint">Times are in your local time zone.</p>
      </form>

      <LoadError message={entries.error} testId="audit-error" />
      {!list && !entries.error && <p className="muted">Loading…</p>}
      {list && list.entries.length === 0 && <p className="muted">No audit entries match these filters.</p>}
      {list && list.entries.length > 0 && (
        <>
          <div className="table-scroll">
            <table className="table compact" data-testid="audit-table" aria-busy={entries.loading}>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">IP address</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
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
              </tbody>
            </table>
          </div>
          <Pager page={page} limit={AUDIT_PAGE_SIZE} shown={list.entries.length} total={list.total} onPage={(next) => setParams(filterParams(filters, next))} />
        </>
      )}
    </section>
  );
}
