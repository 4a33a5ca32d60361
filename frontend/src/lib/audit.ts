import { queryString } from '../api/query';
import { localInputToIso } from './forms';

export const AUDIT_PAGE_SIZE = 50;

/** The audit filters as typed; `from` and `to` are `datetime-local` values in the browser's zone. */
export type AuditFilters = { actor: string; action: string; target: string; from: string; to: string };

export const auditFilterNames = ['actor', 'action', 'target', 'from', 'to'] as const satisfies readonly (keyof AuditFilters)[];

export const noAuditFilters: AuditFilters = { actor: '', action: '', target: '', from: '', to: '' };

/** Filters kept in the page address, so a filtered view can be bookmarked and paged. */
export function auditFiltersFrom(search: URLSearchParams): AuditFilters {
  const filters = { ...noAuditFilters };
  for (const name of auditFilterNames) filters[name] = search.get(name) ?? '';
  return filters;
}

function apiFilters(filters: AuditFilters) {
  return {
    actor: filters.actor,
    action: filters.action,
    target: filters.target,
    from: localInputToIso(filters.from),
    to: localInputToIso(filters.to),
  };
}

export function auditListPath(filters: AuditFilters, offset: number, limit = AUDIT_PAGE_SIZE): string {
  return `/api/admin/audit${queryString({ ...apiFilters(filters), limit, offset })}`;
}

/** The CSV export carries the same filters, without paging: it is the whole filtered log. */
export function auditCsvPath(filters: AuditFilters): string {
  return `/api/admin/audit.csv${queryString(apiFilters(filters))}`;
}
