import type { ReactNode } from 'react';
import { LoadError } from './Feedback';

/** A column header that sorts the table when clicked; `sort` says whether it sorts it now. */
export type SortableColumn = { label: string; sort: 'ascending' | 'descending' | 'none'; onSort: () => void };

const sortMarks = { ascending: '▲', descending: '▼', none: '' };

function HeaderCell({ column }: { column: string | SortableColumn }) {
  if (typeof column === 'string') return <th scope="col">{column}</th>;
  return (
    <th scope="col" aria-sort={column.sort}>
      <button type="button" className="sort-button" onClick={column.onSort}>
        {column.label}
        <span className="sort-mark" aria-hidden="true">
          {sortMarks[column.sort]}
        </span>
      </button>
    </th>
  );
}

/** A scrollable table with one header row; `actions` adds the unlabelled column for row buttons. */
export function DataTable({
  columns,
  actions = false,
  compact = false,
  busy,
  testId,
  children,
}: {
  columns: (string | SortableColumn)[];
  actions?: boolean;
  compact?: boolean;
  busy?: boolean;
  testId: string;
  children: ReactNode;
}) {
  return (
    <div className="table-scroll">
      <table className={compact ? 'table compact' : 'table'} data-testid={testId} aria-busy={busy}>
        <thead>
          <tr>
            {columns.map((column) => (
              <HeaderCell key={typeof column === 'string' ? column : column.label} column={column} />
            ))}
            {actions && (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/**
 * What stands in for a list while it loads, when it failed, and when it came back empty;
 * the caller shows the list itself once it has rows.
 */
export function LoadStatus({
  state,
  isEmpty = false,
  empty,
  errorTestId,
  emptyTestId,
}: {
  state: { data: unknown; error: string | null };
  isEmpty?: boolean;
  empty?: ReactNode;
  errorTestId?: string;
  emptyTestId?: string;
}) {
  return (
    <>
      <LoadError message={state.error} testId={errorTestId} />
      {!state.data && !state.error && <p className="muted">Loading…</p>}
      {Boolean(state.data) && isEmpty && (
        <p className="muted" data-testid={emptyTestId}>
          {empty}
        </p>
      )}
    </>
  );
}

/** A small button in a table row; the hidden text says which row it acts on. */
export function RowButton({ label, hidden, danger = false, disabled, onClick }: { label: string; hidden?: ReactNode; danger?: boolean; disabled: boolean; onClick: () => void }) {
  return (
    <button type="button" className={danger ? 'danger small' : 'secondary small'} disabled={disabled} onClick={onClick}>
      {label}
      {hidden && <span className="visually-hidden"> {hidden}</span>}
    </button>
  );
}
