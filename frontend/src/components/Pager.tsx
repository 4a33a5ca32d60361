import { pageSummary } from '../lib/format';

/** Previous/next paging under a table; `page` is 1-based. */
export function Pager({ page, limit, shown, total, onPage }: { page: number; limit: number; shown: number; total: number; onPage: (page: number) => void }) {
  const offset = (page - 1) * limit;
  return (
    <div className="pager">
      <span className="muted" data-testid="pager-summary">
        {pageSummary(offset, shown, total)}
      </span>
      <button type="button" className="secondary" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous page
      </button>
      <button type="button" className="secondary" disabled={offset + limit >= total} onClick={() => onPage(page + 1)}>
        Next page
      </button>
    </div>
  );
}
