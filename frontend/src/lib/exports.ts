import type {
  CreateExportRequest,
  DeidOption,
  ExportFormat,
  ExportJob,
  ExportOptions,
  ExportProgress,
  ExportSearchRequest,
  ExportStatus,
  LedgerRecipientRow,
  LedgerTotals,
} from '../api/exportTypes';
import { queryString } from '../api/query';
import type { Role } from '../api/types';
import type { Tone } from './format';
import { pageFromParam } from './forms';
import { formatBytes, plural } from './imports';
import { dateRangeProblem } from './patients';

export { formatBytes };

/** Roles that hold `export.create` (the server checks again). */
export const exportRoles: Role[] = ['admin', 'researcher'];

export function mayExport(role: Role): boolean {
  return exportRoles.includes(role);
}

export function exportPagePath(id: string): string {
  return `/exports/${encodeURIComponent(id)}`;
}

export function exportApiPath(id: string): string {
  return `/api/exports/${encodeURIComponent(id)}`;
}

export function exportsListApiPath(page: number, pageSize: number): string {
  return `/api/exports${queryString({ limit: pageSize, offset: (Math.max(1, page) - 1) * pageSize })}`;
}

// What to export: whole patients and single studies, kept in the address.

/** Whole patients (every study the user may see, resolved by the server) and single studies. */
export type ExportSelection = { patientKeys: string[]; studyUids: string[] };

export const emptySelection: ExportSelection = { patientKeys: [], studyUids: [] };

/** Patient keys are Orthanc ids (hex groups joined by '-'); study UIDs are digits and dots. */
const patientKeyPattern = /^[A-Za-z0-9-]{1,60}$/;
const studyUidPattern = /^[0-9]+(\.[0-9]+)*$/;
const MAX_UID = 64;

function listParam(value: string | null, valid: (item: string) => boolean): { items: string[]; ignored: number } {
  const items: string[] = [];
  let ignored = 0;
  for (const raw of (value ?? '').split(',')) {
    const item = raw.trim();
    if (!item) continue;
    if (!valid(item)) ignored++;
    else if (!items.includes(item)) items.push(item);
  }
  return { items, ignored };
}

/**
 * The selection in the address (`?patients=k1,k2&studies=uid1,uid2`), so other pages can link to
 * an export of what they show. Duplicates are dropped; malformed entries are counted in `ignored`.
 */
export function selectionFromParams(params: URLSearchParams): { selection: ExportSelection; ignored: number } {
  const patients = listParam(params.get('patients'), (key) => patientKeyPattern.test(key));
  const studies = listParam(params.get('studies'), (uid) => uid.length <= MAX_UID && studyUidPattern.test(uid));
  return { selection: { patientKeys: patients.items, studyUids: studies.items }, ignored: patients.ignored + studies.ignored };
}

/** The address parameters of a selection; empty lists are left out. */
export function selectionParams(selection: ExportSelection): Record<string, string> {
  const params: Record<string, string> = {};
  if (selection.patientKeys.length) params.patients = selection.patientKeys.join(',');
  if (selection.studyUids.length) params.studies = selection.studyUids.join(',');
  return params;
}

/** The export page with this selection ticked: for "Export" links on other pages. */
export function exportLink(selection: Partial<ExportSelection>): string {
  const params = selectionParams({ patientKeys: selection.patientKeys ?? [], studyUids: selection.studyUids ?? [] });
  const search = new URLSearchParams(params).toString();
  return search ? `/exports?${search}` : '/exports';
}

export function isSelectionEmpty(selection: ExportSelection): boolean {
  return selection.patientKeys.length === 0 && selection.studyUids.length === 0;
}

const without = (list: string[], removed: string[]) => list.filter((item) => !removed.includes(item));
const withAdded = (list: string[], added: string[]) => [...list, ...added.filter((item) => !list.includes(item))];

/**
 * Ticks or unticks a whole patient. Ticked, the patient stands for all its studies, so single
 * studies of it that were ticked (as far as they are known) are dropped; unticked, they go too.
 */
export function togglePatient(selection: ExportSelection, key: string, checked: boolean, knownStudyUids: string[] = []): ExportSelection {
  return {
    patientKeys: checked ? withAdded(selection.patientKeys, [key]) : without(selection.patientKeys, [key]),
    studyUids: without(selection.studyUids, knownStudyUids),
  };
}

/**
 * Ticks or unticks one study of a patient whose studies are `patientStudyUids`. Unticking one study
 * of a wholly chosen patient turns the patient into its other studies; ticking the last missing one
 * turns the studies back into the whole patient.
 */
export function toggleStudy(selection: ExportSelection, patientKey: string, patientStudyUids: string[], uid: string, checked: boolean): ExportSelection {
  const whole = selection.patientKeys.includes(patientKey);
  const chosen = whole ? [...patientStudyUids] : patientStudyUids.filter((candidate) => selection.studyUids.includes(candidate));
  const next = checked ? withAdded(chosen, [uid]) : without(chosen, [uid]);
  const all = patientStudyUids.length > 0 && patientStudyUids.every((candidate) => next.includes(candidate));
  const otherStudies = without(selection.studyUids, [...patientStudyUids, uid]);
  if (all) return { patientKeys: withAdded(selection.patientKeys, [patientKey]), studyUids: otherStudies };
  return { patientKeys: without(selection.patientKeys, [patientKey]), studyUids: [...otherStudies, ...next] };
}

export type CheckState = 'all' | 'some' | 'none';

/** How a patient's checkbox shows: ticked, half-ticked (some studies), or empty. */
export function patientCheckState(selection: ExportSelection, key: string, patientStudyUids?: string[]): CheckState {
  if (selection.patientKeys.includes(key)) return 'all';
  if (!patientStudyUids?.length) return 'none';
  const chosen = patientStudyUids.filter((uid) => selection.studyUids.includes(uid)).length;
  if (chosen === 0) return 'none';
  return chosen === patientStudyUids.length ? 'all' : 'some';
}

export function isStudySelected(selection: ExportSelection, patientKey: string, uid: string): boolean {
  return selection.patientKeys.includes(patientKey) || selection.studyUids.includes(uid);
}

/** "2 patients (all their studies) and 1 single study", or that nothing is chosen. */
export function selectionSummary(selection: ExportSelection): string {
  const parts: string[] = [];
  const patients = selection.patientKeys.length;
  const studies = selection.studyUids.length;
  if (patients) parts.push(`${plural(patients, 'patient')} (all ${patients === 1 ? 'its' : 'their'} studies)`);
  if (studies) parts.push(studies === 1 ? '1 single study' : `${studies} single studies`);
  return parts.length ? parts.join(' and ') : 'Nothing chosen yet';
}

// "Everything matching a search": the patients list's filters.

export type ExportScope = 'selection' | 'search';

/** The search as typed: '' means "not used". Dates are YYYY-MM-DD. */
export type ExportSearch = { q: string; modality: string; from: string; to: string; groupId: string };

export const emptySearch: ExportSearch = { q: '', modality: '', from: '', to: '', groupId: '' };

const searchNames = ['q', 'modality', 'from', 'to', 'groupId'] as const satisfies readonly (keyof ExportSearch)[];

/** The search the server is sent: the filled-in fields only, modality in capitals. */
export function searchRequest(search: ExportSearch): ExportSearchRequest {
  const request: ExportSearchRequest = {};
  for (const name of searchNames) {
    const value = search[name].trim();
    if (value) request[name] = name === 'modality' ? value.toUpperCase() : value;
  }
  return request;
}

export function hasSearchCriteria(search: ExportSearch): boolean {
  return Object.keys(searchRequest(search)).length > 0;
}

/** Whether two searches ask the same (blank fields and letter case of the modality aside). */
export function sameSearch(a: ExportSearch, b: ExportSearch): boolean {
  return JSON.stringify(searchRequest(a)) === JSON.stringify(searchRequest(b));
}

/** "name or ID “doe”, modality CT, studies from 1 Jan 2024" in words, for the confirmation line. */
export function searchSummary(search: ExportSearch, groupName?: (id: string) => string | undefined): string {
  const s = searchRequest(search);
  const parts: string[] = [];
  if (s.q) parts.push(`name or ID “${s.q}”`);
  if (s.modality) parts.push(`modality ${s.modality}`);
  if (s.from && s.to) parts.push(`studies from ${s.from} to ${s.to}`);
  else if (s.from) parts.push(`studies from ${s.from}`);
  else if (s.to) parts.push(`studies until ${s.to}`);
  if (s.groupId) parts.push(`group ${groupName?.(s.groupId) ?? s.groupId}`);
  return parts.length ? parts.join(', ') : 'no criteria';
}

/** The server refuses a search that finds more patients than this for one export. */
export const MAX_SEARCH_PATIENTS = 200;

// Options.

export const formatChoices: { value: ExportFormat; label: string; description: string }[] = [
  { value: 'dicom', label: 'DICOM', description: 'The DICOM files, one per instance, in patient / study / series folders.' },
  { value: 'nifti', label: 'NIfTI for ML', description: 'One .nii.gz volume per image series and one label map per segmentation; no DICOM files.' },
  { value: 'both', label: 'Both', description: 'The DICOM files and the NIfTI volumes side by side.' },
];

/** The PS3.15 options, by their standard names, each with what it keeps. */
export const deidOptionChoices: { value: DeidOption; label: string; description: string }[] = [
  {
    value: 'retainLongitudinalModifiedDates',
    label: 'Retain Longitudinal Temporal Information with Modified Dates',
    description: 'Dates and times are kept but shifted by one offset per patient, so the intervals between studies stay true.',
  },
  { value: 'retainPatientCharacteristics', label: 'Retain Patient Characteristics', description: 'Keeps sex, age, size and weight.' },
  { value: 'cleanDescriptors', label: 'Clean Descriptors', description: 'Keeps study and series descriptions with identifying text removed, instead of deleting them.' },
  { value: 'retainSafePrivate', label: 'Retain Safe Private', description: 'Keeps only private tags known to be safe; every other private tag is removed.' },
];

const deidOptionNames = deidOptionChoices.map((choice) => choice.value);

export function deidOptionLabel(name: string): string {
  return deidOptionChoices.find((choice) => choice.value === name)?.label ?? name;
}

/** Ticks or unticks one option, keeping the standard's order. */
export function toggleDeidOption(options: DeidOption[], option: DeidOption, checked: boolean): DeidOption[] {
  return deidOptionNames.filter((name) => (name === option ? checked : options.includes(name)));
}

// The form, its checks, and the request it sends.

export type ExportDraft = {
  scope: ExportScope;
  selection: ExportSelection;
  search: ExportSearch;
  format: ExportFormat;
  deidentify: boolean;
  deidOptions: DeidOption[];
  includeBurnedIn: boolean;
  purpose: string;
  recipient: string;
};

export const defaultExportOptions: Pick<ExportDraft, 'format' | 'deidentify' | 'deidOptions' | 'includeBurnedIn' | 'purpose' | 'recipient'> = {
  format: 'dicom',
  deidentify: true,
  deidOptions: [],
  includeBurnedIn: false,
  purpose: '',
  recipient: '',
};

/** The server's limits for the two required texts. */
export const PURPOSE_MIN = 3;
export const PURPOSE_MAX = 500;
export const RECIPIENT_MIN = 2;
export const RECIPIENT_MAX = 200;

export type ExportProblems = Partial<Record<'selection' | 'search' | 'purpose' | 'recipient', string>>;

/**
 * What must be fixed before the export may start; empty when it may be sent. `matchingPatients` is
 * how many patients the search finds, when known (the server refuses more than 200).
 */
export function exportProblems(draft: ExportDraft, matchingPatients?: number): ExportProblems {
  const problems: ExportProblems = {};
  if (draft.scope === 'selection') {
    if (isSelectionEmpty(draft.selection)) problems.selection = 'Choose at least one patient or study to export.';
  } else {
    const range = dateRangeProblem(draft.search.from.trim(), draft.search.to.trim());
    if (range) problems.search = range;
    else if (!hasSearchCriteria(draft.search)) problems.search = 'Search by at least one criterion (name or ID, modality, dates or group) to export what it finds.';
    else if (matchingPatients === 0) problems.search = 'The search finds no patient.';
    else if (matchingPatients !== undefined && matchingPatients > MAX_SEARCH_PATIENTS)
      problems.search = `The search finds ${matchingPatients} patients; narrow it to ${MAX_SEARCH_PATIENTS} or fewer for one export.`;
  }
  const purpose = draft.purpose.trim();
  if (!purpose) problems.purpose = 'Say what the data is for.';
  else if (purpose.length < PURPOSE_MIN) problems.purpose = `Describe the purpose in at least ${PURPOSE_MIN} characters.`;
  else if (purpose.length > PURPOSE_MAX) problems.purpose = `The purpose is at most ${PURPOSE_MAX} characters long.`;
  const recipient = draft.recipient.trim();
  if (!recipient) problems.recipient = 'Say who receives the data.';
  else if (recipient.length < RECIPIENT_MIN) problems.recipient = `Name the recipient in at least ${RECIPIENT_MIN} characters.`;
  else if (recipient.length > RECIPIENT_MAX) problems.recipient = `The recipient is at most ${RECIPIENT_MAX} characters long.`;
  return problems;
}

/**
 * The POST /api/exports body: the selection or the search (never both), the options — the
 * de-identification options and the burned-in choice only for a de-identified export, where they
 * mean something — and the trimmed purpose and recipient.
 */
export function exportRequestBody(draft: ExportDraft): CreateExportRequest {
  const what: Pick<CreateExportRequest, 'studyInstanceUids' | 'patientKeys' | 'search'> =
    draft.scope === 'search'
      ? { search: searchRequest(draft.search) }
      : {
          ...(draft.selection.patientKeys.length ? { patientKeys: [...draft.selection.patientKeys] } : {}),
          ...(draft.selection.studyUids.length ? { studyInstanceUids: [...draft.selection.studyUids] } : {}),
        };
  return {
    ...what,
    format: draft.format,
    deidentify: draft.deidentify,
    deidOptions: draft.deidentify ? deidOptionNames.filter((name) => draft.deidOptions.includes(name)) : [],
    includeBurnedIn: draft.deidentify && draft.includeBurnedIn,
    purpose: draft.purpose.trim(),
    recipient: draft.recipient.trim(),
  };
}

// A job as the server reports it.

export function isActiveExport(status: ExportStatus): boolean {
  return status === 'running';
}

const statusLabels: Record<ExportStatus, { label: string; tone: Tone }> = {
  running: { label: 'Running', tone: 'warn' },
  completed: { label: 'Completed', tone: 'ok' },
  failed: { label: 'Failed', tone: 'bad' },
  cancelled: { label: 'Cancelled', tone: 'muted' },
};

export function exportStatusBadge(status: ExportStatus): { label: string; tone: Tone } {
  return statusLabels[status] ?? { label: status, tone: 'muted' };
}

/**
 * Whole percent of instances written, in [0, 100]. A completed export is 100; a running one that
 * has not counted its instances yet is 0.
 */
export function exportPercent(job: { status: ExportStatus; progress: Pick<ExportProgress, 'instancesDone' | 'instancesTotal'> }): number {
  if (job.status === 'completed') return 100;
  const { instancesDone, instancesTotal } = job.progress;
  if (!(instancesTotal > 0)) return 0;
  return Math.min(100, Math.max(0, Math.floor((instancesDone / instancesTotal) * 100)));
}

export type ExportCounter = { name: 'instances' | 'files' | 'bytes'; label: string; value: string };

/** The counters under the progress bar. */
export function exportCounterItems(progress: ExportProgress): ExportCounter[] {
  return [
    { name: 'instances', label: 'Instances', value: progress.instancesTotal > 0 ? `${progress.instancesDone} of ${progress.instancesTotal}` : String(progress.instancesDone) },
    { name: 'files', label: 'Files written', value: String(progress.filesWritten) },
    { name: 'bytes', label: 'Written', value: formatBytes(progress.bytesWritten) },
  ];
}

const rank = (status: ExportStatus) => (status === 'running' ? 0 : 1);

/**
 * Which of two reports of the same export to show (a poll and a cancel answer may cross): an
 * export never runs again once it ended, and its counters never go back.
 */
export function newerExport(current: ExportJob | null, incoming: ExportJob): ExportJob {
  if (!current || current.id !== incoming.id) return incoming;
  if (rank(incoming.status) !== rank(current.status)) return rank(incoming.status) > rank(current.status) ? incoming : current;
  if (incoming.status === 'running' && incoming.progress.instancesDone < current.progress.instancesDone) return current;
  return incoming;
}

const formatLabels: Record<ExportFormat, string> = { dicom: 'DICOM', nifti: 'NIfTI', both: 'DICOM + NIfTI' };

export function formatLabel(format: string): string {
  return formatLabels[format as ExportFormat] ?? format;
}

/** "DICOM · de-identified (1 option)" for lists and headers. */
export function optionsText(options: ExportOptions): string {
  const identity = options.deidentify
    ? `de-identified${options.deidOptions.length ? ` (${plural(options.deidOptions.length, 'option')})` : ''}`
    : 'identified';
  return `${formatLabel(options.format)} · ${identity}`;
}

export type DownloadState =
  | { kind: 'ready'; href: string; expiresAt: string | null }
  | { kind: 'expired' }
  | { kind: 'not-yours'; createdBy: string }
  | { kind: 'none' };

/**
 * Only a relative same-origin address (the server's own download route) is ever put in a link;
 * anything else (another origin, a `javascript:` address) is refused.
 */
export function safeDownloadHref(url: string | null | undefined): string | null {
  if (!url || !url.startsWith('/') || url.startsWith('//') || url.includes('\\')) return null;
  return url;
}

/** Whether the bundle can be downloaded by this user now: only its creator, only until it expires. */
export function downloadState(job: Pick<ExportJob, 'status' | 'downloadUrl' | 'expiresAt' | 'createdBy'>, userEmail: string | null | undefined, now = Date.now()): DownloadState {
  if (job.status !== 'completed') return { kind: 'none' };
  if (userEmail && job.createdBy.trim().toLowerCase() !== userEmail.trim().toLowerCase()) return { kind: 'not-yours', createdBy: job.createdBy };
  const href = safeDownloadHref(job.downloadUrl);
  const expires = job.expiresAt ? Date.parse(job.expiresAt) : NaN;
  if (!href || (!Number.isNaN(expires) && expires <= now)) return { kind: 'expired' };
  return { kind: 'ready', href, expiresAt: job.expiresAt };
}

// The data-use ledger (admins).

/** Calendar days (YYYY-MM-DD) in the address; '' means open-ended. */
export type LedgerRange = { from: string; to: string };

const isDay = (value: string) => /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`));

/** The range from the address; anything that is not a date is left out. */
export function ledgerRangeFrom(params: URLSearchParams): LedgerRange {
  const day = (name: string) => {
    const value = (params.get(name) ?? '').trim();
    return isDay(value) ? value : '';
  };
  return { from: day('from'), to: day('to') };
}

export function ledgerRangeParams(range: LedgerRange): Record<string, string> {
  const params: Record<string, string> = {};
  if (range.from.trim()) params.from = range.from.trim();
  if (range.to.trim()) params.to = range.to.trim();
  return params;
}

export function ledgerRangeProblem(range: LedgerRange): string | null {
  for (const [name, value] of [['from', range.from], ['to', range.to]] as const) {
    if (value.trim() && !isDay(value.trim())) return `Enter the “${name}” date as a full date.`;
  }
  return dateRangeProblem(range.from.trim(), range.to.trim());
}

export function ledgerApiPath(range: LedgerRange): string {
  return `/api/admin/ledger${queryString({ from: range.from, to: range.to })}`;
}

/**
 * The totals over the window. From the per-recipient rows: each export has one recipient, so
 * their export counts add up (an export spanning two groups counts once per group).
 */
export function ledgerTotals(byRecipient: LedgerRecipientRow[]): LedgerTotals {
  const sum = (key: keyof LedgerTotals) => byRecipient.reduce((total, row) => total + (Number(row[key]) || 0), 0);
  return { exports: sum('exports'), studies: sum('studies'), instances: sum('instances'), bytes: sum('bytes'), deidentifiedStudies: sum('deidentifiedStudies') };
}

/** Recent exports paging lives under its own name, beside the patient list's `page`. */
export function recentPageFrom(params: URLSearchParams): number {
  return pageFromParam(params.get('recent'));
}

// The export page's address: what is chosen, the search, and the pages of both lists.

export type ExportPageState = { scope: ExportScope; selection: ExportSelection; search: ExportSearch; page: number; recent: number };

const modalityPattern = /^[A-Z0-9]{1,16}$/;

/** Everything the export page keeps in its address; malformed values fall back to "not set". */
export function exportPageStateFrom(params: URLSearchParams): ExportPageState & { ignored: number } {
  const text = (name: string) => (params.get(name) ?? '').trim();
  const { selection, ignored } = selectionFromParams(params);
  const modality = text('modality').toUpperCase();
  const day = (name: string) => (isDay(text(name)) ? text(name) : '');
  return {
    scope: text('scope') === 'search' ? 'search' : 'selection',
    selection,
    ignored,
    search: { q: text('q'), modality: modalityPattern.test(modality) ? modality : '', from: day('from'), to: day('to'), groupId: text('groupId') },
    page: pageFromParam(params.get('page')),
    recent: recentPageFrom(params),
  };
}

/** The address parameters for the export page, leaving out whatever is the default. */
export function exportPageParams(state: ExportPageState): Record<string, string> {
  const params: Record<string, string> = { ...selectionParams(state.selection) };
  if (state.scope === 'search') params.scope = 'search';
  for (const [name, value] of Object.entries(searchRequest(state.search))) params[name] = value;
  if (state.page > 1) params.page = String(state.page);
  if (state.recent > 1) params.recent = String(state.recent);
  return params;
}
