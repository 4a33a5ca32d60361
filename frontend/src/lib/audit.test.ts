import { describe, expect, it } from 'vitest';
import { auditCsvPath, auditFiltersFrom, auditListPath, noAuditFilters } from './audit';

describe('audit filters', () => {
  it('reads the filters from the page address, blank when missing', () => {
    expect(auditFiltersFrom(new URLSearchParams('actor=ana&action=auth.&page=2'))).toEqual({ ...noAuditFilters, actor: 'ana', action: 'auth.' });
  });

  it('builds the list query with paging and leaves blank filters out', () => {
    expect(auditListPath({ ...noAuditFilters, action: 'auth.' }, 50)).toBe('/api/admin/audit?action=auth.&limit=50&offset=50');
    expect(auditListPath(noAuditFilters, 0, 10)).toBe('/api/admin/audit?limit=10&offset=0');
  });

  it('sends from/to as ISO instants of the local times typed in', () => {
    const path = auditListPath({ ...noAuditFilters, from: '2025-05-01T00:00', to: '2025-05-02T00:00' }, 0);
    const query = new URLSearchParams(path.split('?')[1]);
    expect(query.get('from')).toBe(new Date(2025, 4, 1).toISOString());
    expect(query.get('to')).toBe(new Date(2025, 4, 2).toISOString());
  });

  it('gives the CSV link the same filters, without paging', () => {
    expect(auditCsvPath({ ...noAuditFilters, actor: 'ana@x.org', target: '1.2.3' })).toBe('/api/admin/audit.csv?actor=ana%40x.org&target=1.2.3');
    expect(auditCsvPath(noAuditFilters)).toBe('/api/admin/audit.csv');
  });
});
