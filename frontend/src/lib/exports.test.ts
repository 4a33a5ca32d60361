import { describe, expect, it } from 'vitest';
import type { ExportJob, LedgerRecipientRow } from '../api/exportTypes';
import {
  defaultExportOptions,
  downloadState,
  emptySearch,
  emptySelection,
  exportApiPath,
  exportCounterItems,
  exportLink,
  exportPagePath,
  exportPageParams,
  exportPageStateFrom,
  exportPercent,
  exportProblems,
  exportRequestBody,
  exportsListApiPath,
  exportStatusBadge,
  formatBytes,
  hasSearchCriteria,
  isActiveExport,
  isSelectionEmpty,
  isStudySelected,
  ledgerApiPath,
  ledgerRangeFrom,
  ledgerRangeParams,
  ledgerRangeProblem,
  ledgerTotals,
  mayExport,
  newerExport,
  optionsText,
  patientCheckState,
  safeDownloadHref,
  sameSearch,
  searchRequest,
  searchSummary,
  selectionFromParams,
  selectionParams,
  selectionSummary,
  toggleDeidOption,
  togglePatient,
  toggleStudy,
  type ExportDraft,
  type ExportSelection,
} from './exports';

const K1 = '0a1b2c3d-11111111-22222222-33333333-44444444';
const K2 = '9f8e7d6c-55555555-66666666-77777777-88888888';
const sel = (patientKeys: string[] = [], studyUids: string[] = []): ExportSelection => ({ patientKeys, studyUids });

const draft = (change: Partial<ExportDraft> = {}): ExportDraft => ({
  scope: 'selection',
  selection: sel([K1]),
  search: emptySearch,
  ...defaultExportOptions,
  purpose: 'Training a model',
  recipient: 'AI lab',
  ...change,
});

const job = (change: Partial<ExportJob> = {}): ExportJob => ({
  id: 'e1',
  status: 'running',
  options: { format: 'dicom', deidentify: true, deidOptions: [], includeBurnedIn: false },
  purpose: 'Training',
  recipient: 'AI lab',
  createdBy: 'me@example.org',
  studyCount: 1,
  progress: { instancesTotal: 20, instancesDone: 5, filesWritten: 5, bytesWritten: 2_621_440 },
  flaggedSeries: [],
  error: null,
  createdAt: '2026-04-01T10:00:00.000Z',
  finishedAt: null,
  expiresAt: null,
  downloadUrl: null,
  ...change,
});

describe('who may export, and where things are', () => {
  it('lets admins and researchers export, not radiologists', () => {
    expect(mayExport('admin')).toBe(true);
    expect(mayExport('researcher')).toBe(true);
    expect(mayExport('radiologist')).toBe(false);
  });

  it('builds the page and API paths, escaping the id and paging the list', () => {
    expect(exportPagePath('a/b')).toBe('/exports/a%2Fb');
    expect(exportApiPath('e1')).toBe('/api/exports/e1');
    expect(exportsListApiPath(1, 10)).toBe('/api/exports?limit=10&offset=0');
    expect(exportsListApiPath(3, 10)).toBe('/api/exports?limit=10&offset=20');
  });
});

describe('the selection in the address', () => {
  it('reads patients and studies from comma lists, trimming, dropping duplicates and counting malformed entries', () => {
    const params = new URLSearchParams({ patients: ` ${K1},${K2},${K1},,bad key!`, studies: '1.2.3, 1.2.3 ,1.2.x,4.5' });
    expect(selectionFromParams(params)).toEqual({ selection: sel([K1, K2], ['1.2.3', '4.5']), ignored: 2 });
    expect(selectionFromParams(new URLSearchParams())).toEqual({ selection: emptySelection, ignored: 0 });
  });

  it('refuses study UIDs longer than DICOM allows', () => {
    const long = `1.${'2'.repeat(70)}`;
    expect(selectionFromParams(new URLSearchParams({ studies: long }))).toEqual({ selection: emptySelection, ignored: 1 });
  });

  it('writes the selection back, leaving out empty lists, and round-trips', () => {
    expect(selectionParams(sel([K1, K2], ['1.2']))).toEqual({ patients: `${K1},${K2}`, studies: '1.2' });
    expect(selectionParams(emptySelection)).toEqual({});
    const selection = sel([K2], ['1.2.3', '4.5']);
    expect(selectionFromParams(new URLSearchParams(selectionParams(selection))).selection).toEqual(selection);
  });

  it('makes links other pages can use to preselect an export', () => {
    expect(exportLink({ patientKeys: [K1] })).toBe(`/exports?patients=${K1}`);
    expect(exportLink({ studyUids: ['1.2', '3.4'] })).toBe('/exports?studies=1.2%2C3.4');
    expect(exportLink({})).toBe('/exports');
    expect(selectionFromParams(new URL(`http://x${exportLink({ studyUids: ['1.2', '3.4'] })}`).searchParams).selection).toEqual(sel([], ['1.2', '3.4']));
  });

  it('keeps the whole page state (scope, search, both pages) in the address and reads it back', () => {
    const state = { scope: 'search' as const, selection: sel([K1]), search: { q: 'doe', modality: 'ct', from: '2024-01-01', to: '', groupId: '' }, page: 2, recent: 3 };
    const params = exportPageParams(state);
    expect(params).toEqual({ patients: K1, scope: 'search', q: 'doe', modality: 'CT', from: '2024-01-01', page: '2', recent: '3' });
    expect(exportPageStateFrom(new URLSearchParams(params))).toEqual({ ...state, search: { ...state.search, modality: 'CT' }, ignored: 0 });
  });

  it('falls back to the defaults for malformed page state', () => {
    const state = exportPageStateFrom(new URLSearchParams({ scope: 'everything', modality: 'C T', from: '2024-13-45', to: 'yesterday', page: '-1', recent: 'x' }));
    expect(state).toEqual({ scope: 'selection', selection: emptySelection, ignored: 0, search: emptySearch, page: 1, recent: 1 });
    expect(exportPageParams(state)).toEqual({});
  });
});

describe('choosing patients and studies', () => {
  const studies = ['1.1', '1.2', '1.3'];

  it('ticks a whole patient, dropping its single studies that are now covered', () => {
    expect(togglePatient(sel([], ['1.1', '9.9']), K1, true, studies)).toEqual(sel([K1], ['9.9']));
    // Not opened yet: its studies are unknown, so only the patient is added.
    expect(togglePatient(sel([K2]), K1, true)).toEqual(sel([K2, K1]));
    expect(togglePatient(sel([K1]), K1, true)).toEqual(sel([K1]));
  });

  it('unticks a patient together with its single studies', () => {
    expect(togglePatient(sel([K1, K2], ['1.2', '9.9']), K1, false, studies)).toEqual(sel([K2], ['9.9']));
  });

  it('turns a whole patient into its other studies when one is unticked', () => {
    expect(toggleStudy(sel([K1, K2], ['9.9']), K1, studies, '1.2', false)).toEqual(sel([K2], ['9.9', '1.1', '1.3']));
  });

  it('turns the studies back into the whole patient when the last one is ticked', () => {
    expect(toggleStudy(sel([], ['1.1', '1.3', '9.9']), K1, studies, '1.2', true)).toEqual(sel([K1], ['9.9']));
  });

  it('adds and removes single studies in between', () => {
    expect(toggleStudy(sel(), K1, studies, '1.2', true)).toEqual(sel([], ['1.2']));
    expect(toggleStudy(sel([], ['1.2', '1.3']), K1, studies, '1.2', false)).toEqual(sel([], ['1.3']));
    // A patient with one study: ticking it is ticking the patient.
    expect(toggleStudy(sel(), K1, ['1.1'], '1.1', true)).toEqual(sel([K1]));
    expect(toggleStudy(sel([K1]), K1, ['1.1'], '1.1', false)).toEqual(sel());
  });

  it('shows a patient as ticked, half-ticked or empty', () => {
    expect(patientCheckState(sel([K1]), K1)).toBe('all');
    expect(patientCheckState(sel([], ['1.2']), K1, studies)).toBe('some');
    expect(patientCheckState(sel([], studies), K1, studies)).toBe('all');
    expect(patientCheckState(sel([], ['9.9']), K1, studies)).toBe('none');
    // Single studies of a patient whose studies are not loaded cannot be attributed to it.
    expect(patientCheckState(sel([], ['1.2']), K1)).toBe('none');
    expect(isStudySelected(sel([K1]), K1, '1.1')).toBe(true);
    expect(isStudySelected(sel([], ['1.2']), K1, '1.1')).toBe(false);
  });

  it('sums the choice up in words', () => {
    expect(selectionSummary(emptySelection)).toBe('Nothing chosen yet');
    expect(selectionSummary(sel([K1]))).toBe('1 patient (all its studies)');
    expect(selectionSummary(sel([K1, K2], ['1.1']))).toBe('2 patients (all their studies) and 1 single study');
    expect(selectionSummary(sel([], ['1.1', '1.2']))).toBe('2 single studies');
    expect(isSelectionEmpty(emptySelection)).toBe(true);
    expect(isSelectionEmpty(sel([], ['1.1']))).toBe(false);
  });
});

describe('the search', () => {
  it('sends only the filled-in fields, trimmed, the modality in capitals', () => {
    expect(searchRequest({ q: ' doe ', modality: 'ct', from: '2024-01-01', to: '', groupId: '' })).toEqual({ q: 'doe', modality: 'CT', from: '2024-01-01' });
    expect(searchRequest(emptySearch)).toEqual({});
    expect(hasSearchCriteria(emptySearch)).toBe(false);
    expect(hasSearchCriteria({ ...emptySearch, groupId: 'g1' })).toBe(true);
  });

  it('compares searches by what they ask', () => {
    expect(sameSearch({ ...emptySearch, q: 'doe ', modality: 'ct' }, { ...emptySearch, q: 'doe', modality: 'CT' })).toBe(true);
    expect(sameSearch({ ...emptySearch, q: 'doe' }, emptySearch)).toBe(false);
  });

  it('says in words what the search asks, with the group by name when known', () => {
    expect(searchSummary({ q: 'doe', modality: 'CT', from: '2024-01-01', to: '2024-12-31', groupId: 'g1' }, (id) => (id === 'g1' ? 'Radiology' : undefined))).toBe(
      'name or ID “doe”, modality CT, studies from 2024-01-01 to 2024-12-31, group Radiology',
    );
    expect(searchSummary({ ...emptySearch, to: '2024-12-31' })).toBe('studies until 2024-12-31');
    expect(searchSummary(emptySearch)).toBe('no criteria');
  });
});

describe('checking the form', () => {
  it('accepts a complete form', () => {
    expect(exportProblems(draft())).toEqual({});
  });

  it('requires a purpose and a recipient, within the server limits', () => {
    expect(exportProblems(draft({ purpose: '  ', recipient: '' }))).toEqual({ purpose: 'Say what the data is for.', recipient: 'Say who receives the data.' });
    expect(exportProblems(draft({ purpose: 'ab', recipient: 'x' }))).toMatchObject({ purpose: expect.stringContaining('at least 3'), recipient: expect.stringContaining('at least 2') });
    expect(exportProblems(draft({ purpose: 'x'.repeat(501), recipient: 'y'.repeat(201) }))).toMatchObject({
      purpose: expect.stringContaining('at most 500'),
      recipient: expect.stringContaining('at most 200'),
    });
    expect(exportProblems(draft({ purpose: ` ${'x'.repeat(500)} `, recipient: 'AI' }))).toEqual({});
  });

  it('requires something chosen when exporting a choice', () => {
    expect(exportProblems(draft({ selection: emptySelection }))).toEqual({ selection: 'Choose at least one patient or study to export.' });
    expect(exportProblems(draft({ selection: sel([], ['1.2']) }))).toEqual({});
  });

  it('requires a usable search when exporting a search, ignoring the choice', () => {
    const search = (change: Partial<ExportDraft['search']>, matching?: number) => exportProblems(draft({ scope: 'search', selection: emptySelection, search: { ...emptySearch, ...change } }), matching).search;
    expect(search({})).toContain('at least one criterion');
    expect(search({ from: '2024-02-01', to: '2024-01-01' })).toContain('after');
    expect(search({ q: 'doe' }, 0)).toBe('The search finds no patient.');
    expect(search({ q: 'doe' }, 201)).toContain('narrow it to 200 or fewer');
    expect(search({ q: 'doe' }, 200)).toBeUndefined();
    expect(search({ modality: 'CT' })).toBeUndefined();
  });
});

describe('the request body', () => {
  it('sends the chosen patients and studies, and only the lists that have entries', () => {
    expect(exportRequestBody(draft({ selection: sel([K1], ['1.2']) }))).toEqual({
      patientKeys: [K1],
      studyInstanceUids: ['1.2'],
      format: 'dicom',
      deidentify: true,
      deidOptions: [],
      includeBurnedIn: false,
      purpose: 'Training a model',
      recipient: 'AI lab',
    });
    const body = exportRequestBody(draft({ selection: sel([], ['1.2']) }));
    expect(body).not.toHaveProperty('patientKeys');
    expect(body).not.toHaveProperty('search');
  });

  it('sends the search instead of the choice for a search export', () => {
    const body = exportRequestBody(draft({ scope: 'search', search: { ...emptySearch, q: ' doe ', modality: 'mr' } }));
    expect(body.search).toEqual({ q: 'doe', modality: 'MR' });
    expect(body).not.toHaveProperty('patientKeys');
    expect(body).not.toHaveProperty('studyInstanceUids');
  });

  it('sends the de-identification options, in the standard order, only when de-identifying', () => {
    const options = toggleDeidOption(toggleDeidOption([], 'retainSafePrivate', true), 'retainLongitudinalModifiedDates', true);
    expect(options).toEqual(['retainLongitudinalModifiedDates', 'retainSafePrivate']);
    expect(toggleDeidOption(options, 'retainSafePrivate', false)).toEqual(['retainLongitudinalModifiedDates']);
    expect(exportRequestBody(draft({ deidOptions: options, includeBurnedIn: true }))).toMatchObject({ deidentify: true, deidOptions: options, includeBurnedIn: true });
    // Switched to identified after ticking options: they are not sent (the server would refuse them).
    expect(exportRequestBody(draft({ deidentify: false, deidOptions: options, includeBurnedIn: true }))).toMatchObject({ deidentify: false, deidOptions: [], includeBurnedIn: false });
  });

  it('trims the purpose and recipient and passes the format on', () => {
    expect(exportRequestBody(draft({ purpose: '  Study X  ', recipient: ' Lab ', format: 'both' }))).toMatchObject({ purpose: 'Study X', recipient: 'Lab', format: 'both' });
  });
});

describe('a running or finished export', () => {
  it('computes whole percent of instances written', () => {
    expect(exportPercent(job())).toBe(25);
    expect(exportPercent(job({ progress: { instancesTotal: 3, instancesDone: 2, filesWritten: 2, bytesWritten: 0 } }))).toBe(66);
    // Not counted yet.
    expect(exportPercent(job({ progress: { instancesTotal: 0, instancesDone: 0, filesWritten: 0, bytesWritten: 0 } }))).toBe(0);
    expect(exportPercent(job({ progress: { instancesTotal: 10, instancesDone: 12, filesWritten: 0, bytesWritten: 0 } }))).toBe(100);
    expect(exportPercent(job({ status: 'completed', progress: { instancesTotal: 0, instancesDone: 0, filesWritten: 1, bytesWritten: 10 } }))).toBe(100);
    expect(exportPercent(job({ status: 'failed' }))).toBe(25);
  });

  it('lists the counters with the bytes formatted', () => {
    expect(exportCounterItems(job().progress)).toEqual([
      { name: 'instances', label: 'Instances', value: '5 of 20' },
      { name: 'files', label: 'Files written', value: '5' },
      { name: 'bytes', label: 'Written', value: '2.5 MB' },
    ]);
    expect(exportCounterItems({ instancesTotal: 0, instancesDone: 0, filesWritten: 0, bytesWritten: 0 })[0]!.value).toBe('0');
    expect(formatBytes(512)).toBe('512 B');
  });

  it('labels the statuses, and only a running export is active', () => {
    expect(exportStatusBadge('running')).toEqual({ label: 'Running', tone: 'warn' });
    expect(exportStatusBadge('completed')).toEqual({ label: 'Completed', tone: 'ok' });
    expect(exportStatusBadge('failed')).toEqual({ label: 'Failed', tone: 'bad' });
    expect(exportStatusBadge('cancelled')).toEqual({ label: 'Cancelled', tone: 'muted' });
    expect(isActiveExport('running')).toBe(true);
    expect(isActiveExport('completed')).toBe(false);
  });

  it('sums the options up for lists', () => {
    expect(optionsText(job().options)).toBe('DICOM · de-identified');
    expect(optionsText({ format: 'both', deidentify: true, deidOptions: ['retainLongitudinalModifiedDates'], includeBurnedIn: false })).toBe('DICOM + NIfTI · de-identified (1 option)');
    expect(optionsText({ format: 'nifti', deidentify: false, deidOptions: [], includeBurnedIn: false })).toBe('NIfTI · identified');
  });

  it('never lets a late poll undo an end or move the counters back', () => {
    const cancelled = job({ status: 'cancelled' });
    expect(newerExport(cancelled, job())).toBe(cancelled);
    const done = job({ status: 'completed' });
    expect(newerExport(job(), done)).toBe(done);
    const ahead = job({ progress: { instancesTotal: 20, instancesDone: 10, filesWritten: 10, bytesWritten: 0 } });
    expect(newerExport(ahead, job())).toBe(ahead);
    const later = job({ progress: { instancesTotal: 20, instancesDone: 11, filesWritten: 11, bytesWritten: 0 } });
    expect(newerExport(ahead, later)).toBe(later);
    expect(newerExport(null, later)).toBe(later);
    const other = job({ id: 'e2' });
    expect(newerExport(cancelled, other)).toBe(other);
  });
});

describe('the download', () => {
  const now = Date.parse('2026-04-01T12:00:00.000Z');
  const completed = job({ status: 'completed', downloadUrl: '/api/exports/e1/download', expiresAt: '2026-04-02T10:00:00.000Z' });

  it('is offered to its creator until it expires', () => {
    expect(downloadState(completed, 'ME@example.org', now)).toEqual({ kind: 'ready', href: '/api/exports/e1/download', expiresAt: '2026-04-02T10:00:00.000Z' });
    expect(downloadState({ ...completed, expiresAt: '2026-04-01T11:59:59.000Z' }, 'me@example.org', now)).toEqual({ kind: 'expired' });
    expect(downloadState({ ...completed, downloadUrl: null }, 'me@example.org', now)).toEqual({ kind: 'expired' });
  });

  it('says whose it is to anyone else (an admin looking at it)', () => {
    expect(downloadState(completed, 'admin@example.org', now)).toEqual({ kind: 'not-yours', createdBy: 'me@example.org' });
  });

  it('offers nothing before the export completes', () => {
    expect(downloadState(job(), 'me@example.org', now)).toEqual({ kind: 'none' });
    expect(downloadState(job({ status: 'failed' }), 'me@example.org', now)).toEqual({ kind: 'none' });
  });

  it('only ever links a same-origin path', () => {
    expect(safeDownloadHref('/api/exports/e1/download')).toBe('/api/exports/e1/download');
    expect(safeDownloadHref('https://evil.example/x.zip')).toBeNull();
    expect(safeDownloadHref('//evil.example/x.zip')).toBeNull();
    expect(safeDownloadHref('/\\evil.example')).toBeNull();
    expect(safeDownloadHref('javascript:alert(1)')).toBeNull();
    expect(safeDownloadHref(null)).toBeNull();
    expect(downloadState({ ...completed, downloadUrl: 'javascript:alert(1)' }, 'me@example.org', now)).toEqual({ kind: 'expired' });
  });
});

describe('the ledger', () => {
  it('reads the date range from the address, dropping what is not a date', () => {
    expect(ledgerRangeFrom(new URLSearchParams({ from: '2026-01-01', to: '2026-03-31' }))).toEqual({ from: '2026-01-01', to: '2026-03-31' });
    expect(ledgerRangeFrom(new URLSearchParams({ from: '01/01/2026', to: '2026-02-30x' }))).toEqual({ from: '', to: '' });
    expect(ledgerRangeParams({ from: '2026-01-01', to: '' })).toEqual({ from: '2026-01-01' });
  });

  it('builds the API path with only the bounds given', () => {
    expect(ledgerApiPath({ from: '', to: '' })).toBe('/api/admin/ledger');
    expect(ledgerApiPath({ from: '2026-01-01', to: '2026-03-31' })).toBe('/api/admin/ledger?from=2026-01-01&to=2026-03-31');
  });

  it('refuses a range that ends before it starts', () => {
    expect(ledgerRangeProblem({ from: '2026-02-01', to: '2026-01-01' })).toContain('after');
    expect(ledgerRangeProblem({ from: '2026-01-01', to: '2026-01-01' })).toBeNull();
    expect(ledgerRangeProblem({ from: 'soon', to: '' })).toContain('full date');
  });

  it('adds up the per-recipient rows, each export counted once', () => {
    const rows: LedgerRecipientRow[] = [
      { recipient: 'Lab A', exports: 2, studies: 3, instances: 60, bytes: 1000, deidentifiedStudies: 3 },
      { recipient: 'Lab B', exports: 1, studies: 1, instances: 20, bytes: 500, deidentifiedStudies: 0 },
    ];
    expect(ledgerTotals(rows)).toEqual({ exports: 3, studies: 4, instances: 80, bytes: 1500, deidentifiedStudies: 3 });
    expect(ledgerTotals([])).toEqual({ exports: 0, studies: 0, instances: 0, bytes: 0, deidentifiedStudies: 0 });
  });
});
