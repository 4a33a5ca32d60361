import { useEffect, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { apiFetch } from '../api/client';
import type { Ledger, LedgerTotals } from '../api/exportTypes';
import { useLoad } from '../api/useLoad';
import { DataTable, LoadStatus } from '../components/DataTable';
import { ErrorText } from '../components/Feedback';
import { Field } from '../components/Field';
import { exportPagePath, formatBytes, ledgerApiPath, ledgerRangeFrom, ledgerRangeParams, ledgerRangeProblem, ledgerTotals, type LedgerRange } from '../lib/exports';
import { formatDateTime } from '../lib/format';
import '../exports.css';

const totalColumns = ['Exports', 'Studies', 'De-identified studies', 'Instances', 'Size'];

/** The five totals of a row, in the order of `totalColumns`. */
function TotalCells({ row }: { row: LedgerTotals }) {
  return (
    <>
      <td className="number">{row.exports}</td>
      <td className="number">{row.studies}</td>
      <td className="number">{row.deidentifiedStudies}</td>
      <td className="number">{row.instances}</td>
      <td className="number">{formatBytes(row.bytes)}</td>
    </>
  );
}

/** Admins: what left the gateway, to whom and for what, per owning group and per recipient. */
export function AdminLedgerPage() {
  const [params, setParams] = useSearchParams();
  const range = ledgerRangeFrom(params);
  const rangeKey = `${range.from}|${range.to}`;
  const [draft, setDraft] = useState<LedgerRange>(range);
  const [problem, setProblem] = useState<string | null>(null);
  // Back/forward changes the range in the address; the form follows it.
  useEffect(() => {
    const [from = '', to = ''] = rangeKey.split('|');
    setDraft({ from, to });
    setProblem(null);
  }, [rangeKey]);

  const ledger = useLoad((signal) => apiFetch<Ledger>(ledgerApiPath(range), { signal }), [rangeKey], 'The data-use ledger could not be loaded.');

  const onApply = (event: FormEvent) => {
    event.preventDefault();
    const found = ledgerRangeProblem(draft);
    setProblem(found);
    if (!found) setParams(ledgerRangeParams(draft));
  };

  const data = ledger.data;
  const totals = data ? ledgerTotals(data.byRecipient) : null;
  const bounded = Boolean(range.from || range.to);
  return (
    <section>
      <h1>Data-use ledger</h1>
      <p className="muted">Every completed export, by the group that owns the studies: who exported what, to whom and for what.</p>

      <form className="panel" data-testid="ledger-filters" onSubmit={onApply} noValidate>
        <div className="filter-grid">
          <Field id="ledger-from" label="From">
            <input id="ledger-from" type="date" data-testid="ledger-from" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
          </Field>
          <Field id="ledger-to" label="To">
            <input id="ledger-to" type="date" data-testid="ledger-to" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
          </Field>
        </div>
        <ErrorText message={problem} testId="ledger-filter-error" />
        <div className="button-row">
          <button type="submit" data-testid="ledger-apply">
            Apply
          </button>
          {bounded && (
            <button type="button" className="secondary" onClick={() => setParams({})}>
              All time
            </button>
          )}
        </div>
        <p className="muted hint">Both days are included; days are counted in UTC.</p>
      </form>

      <LoadStatus state={ledger} isEmpty={data?.entries.length === 0} empty={bounded ? 'Nothing was exported in this period.' : 'Nothing was exported yet.'} errorTestId="ledger-error" emptyTestId="ledger-empty" />
      {data && data.entries.length > 0 && totals && (
        <>
          <p data-testid="ledger-summary">
            <strong>{totals.exports}</strong> export{totals.exports === 1 ? '' : 's'} of <strong>{totals.studies}</strong> stud{totals.studies === 1 ? 'y' : 'ies'} (
            {totals.deidentifiedStudies} de-identified), {totals.instances} instances, {formatBytes(totals.bytes)}.
          </p>

          <h2>Per group</h2>
          <DataTable testId="ledger-by-group" compact busy={ledger.loading} columns={['Group', ...totalColumns]}>
            {data.byGroup.map((row) => (
              <tr key={row.groupId} data-group-id={row.groupId}>
                <th scope="row">{row.groupName}</th>
                <TotalCells row={row} />
              </tr>
            ))}
          </DataTable>

          <h2>Per recipient</h2>
          <DataTable testId="ledger-by-recipient" compact busy={ledger.loading} columns={['Recipient', ...totalColumns]}>
            {data.byRecipient.map((row) => (
              <tr key={row.recipient} data-recipient={row.recipient}>
                <th scope="row" className="wrap-anywhere">
                  {row.recipient}
                </th>
                <TotalCells row={row} />
              </tr>
            ))}
          </DataTable>

          <h2>Recent entries</h2>
          {data.entries.length >= 500 && <p className="muted small-text">The newest 500 entries; narrow the period to see older ones.</p>}
          <DataTable
            testId="ledger-entries"
            compact
            busy={ledger.loading}
            columns={['Time', 'Group', 'Exported by', 'Recipient', 'Purpose', 'De-identified', 'Studies', 'Instances', 'Size']}
          >
            {data.entries.map((entry) => (
              <tr key={`${entry.exportId}-${entry.groupId}`} data-export-id={entry.exportId}>
                <td className="number">
                  <Link to={exportPagePath(entry.exportId)}>{formatDateTime(entry.at)}</Link>
                </td>
                <td>{entry.groupName}</td>
                <td>{entry.exportedBy}</td>
                <td className="wrap-anywhere">{entry.recipient}</td>
                <td className="detail" title={entry.purpose}>
                  <span className="truncate">{entry.purpose}</span>
                </td>
                <td>
                  <span className={`badge ${entry.deidentified ? 'ok' : 'warn'}`}>{entry.deidentified ? 'Yes' : 'No'}</span>
                </td>
                <td className="number">{entry.studyCount}</td>
                <td className="number">{entry.instanceCount}</td>
                <td className="number">{formatBytes(entry.bytes)}</td>
              </tr>
            ))}
          </DataTable>
        </>
      )}
    </section>
  );
}
