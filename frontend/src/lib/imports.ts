import type { GroupRef, ImportCounters, ImportJob, ImportOutcome, ImportStatus, NiftiFields, Role } from '../api/types';
import type { Tone } from './format';

/** Roles that hold the `study.import` action (the server checks again). */
export const importRoles: Role[] = ['admin', 'researcher'];

export function mayImport(role: Role): boolean {
  return importRoles.includes(role);
}

/** The group an import goes to unless the user picks another: their own first group, else the first offered. */
export function defaultGroupId(own: GroupRef[], choices: GroupRef[]): string {
  const first = own.find((group) => choices.some((choice) => choice.id === group.id));
  return first?.id ?? choices[0]?.id ?? '';
}

/** One request carries at most this many files, or this many bytes (a larger file goes alone). */
export const MAX_BATCH_FILES = 100;
export const MAX_BATCH_BYTES = 64 * 1024 * 1024;

/** A file chosen for import, with the path the server is told: relative to what was dropped or picked. */
export type ImportItem = { file: Blob; path: string };

type Sized = { file: { size: number } };

export function isNiftiName(name: string): boolean {
  return /\.nii(\.gz)?$/i.test(name.trim());
}

export function isZipName(name: string): boolean {
  return /\.zip$/i.test(name.trim());
}

/** The relative path of a picked file: the folder picker fills `webkitRelativePath`, the file picker does not. */
export function pickedPath(file: { name: string; webkitRelativePath?: string }): string {
  return file.webkitRelativePath || file.name;
}

/** Files in path order, numbers read as numbers (2.dcm before 10.dcm), as a file manager lists them. */
export function byPath<T extends { path: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => a.path.localeCompare(b.path, undefined, { numeric: true }));
}

/** Adds newly chosen files to a selection; choosing the same path again replaces the earlier file in place. */
export function mergeItems<T extends { path: string }>(current: T[], added: T[]): T[] {
  const byPath = new Map<string, T>();
  for (const item of [...current, ...added]) byPath.set(item.path, item);
  return [...byPath.values()];
}

/** Splits the files into requests of at most `maxFiles` files and `maxBytes` bytes, keeping their order. */
export function batchItems<T extends Sized>(items: T[], maxFiles = MAX_BATCH_FILES, maxBytes = MAX_BATCH_BYTES): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = item.file.size;
    if (current.length > 0 && (current.length >= maxFiles || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

export function totalBytes(items: Sized[]): number {
  return items.reduce((sum, item) => sum + item.file.size, 0);
}

export type SelectionSummary = { files: number; bytes: number; nifti: number; zips: number };

export function summarizeSelection(items: ImportItem[]): SelectionSummary {
  return {
    files: items.length,
    bytes: totalBytes(items),
    nifti: items.filter((item) => isNiftiName(item.path)).length,
    zips: items.filter((item) => isZipName(item.path)).length,
  };
}

/** "22 files (11 MB), 1 ZIP archive" for the chosen files. */
export function selectionText(summary: SelectionSummary): string {
  const parts = [`${plural(summary.files, 'file')} (${formatBytes(summary.bytes)})`];
  if (summary.zips) parts.push(plural(summary.zips, 'ZIP archive'));
  if (summary.nifti) parts.push(plural(summary.nifti, 'NIfTI volume'));
  return parts.join(', ');
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** A short name for the job: the folder everything came from, else the one file, else a count. */
export function importLabel(items: { path: string }[]): string {
  if (items.length === 0) return '';
  const tops = new Set(items.map((item) => (item.path.includes('/') ? item.path.split('/')[0] : null)));
  const [top] = [...tops];
  if (tops.size === 1 && top) return `${top}/ (${plural(items.length, 'file')})`;
  if (items.length === 1) return items[0]!.path;
  return plural(items.length, 'file');
}

/** Bytes in binary units, as file managers show them: "512 B", "1.5 KB", "11 MB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.round(bytes || 0))} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const text = value >= 10 ? String(Math.round(value)) : value.toFixed(1).replace(/\.0$/, '');
  return `${text} ${units[unit]}`;
}

/** Whole percent in [0, 100]; nothing to send counts as done. */
export function progressPercent(sent: number, total: number): number {
  if (total <= 0) return 100;
  return Math.min(100, Math.max(0, Math.floor((sent / total) * 100)));
}

/**
 * File bytes sent so far: the finished batches plus the current one's share. The browser reports
 * the request body (files plus multipart framing), so its fraction is applied to the batch's bytes.
 */
export function sentBytes(doneBytes: number, batchBytes: number, loaded: number, total: number): number {
  const fraction = total > 0 ? Math.min(1, Math.max(0, loaded / total)) : 0;
  return doneBytes + Math.round(batchBytes * fraction);
}

// NIfTI volumes carry no patient or study: the user says what they are.

export const emptyNiftiFields: NiftiFields = {
  patientName: '',
  patientId: '',
  studyDescription: '',
  modality: '',
  seriesDescription: '',
  patientBirthDate: '',
  patientSex: '',
};

/** Longest value of a DICOM LO (Long String) and of each PN component group. */
const LO_MAX = 64;

/** "Doe, John" as a DICOM person name (Doe^John); a name already in DICOM form is kept. */
export function toDicomPersonName(text: string): string {
  const name = text.trim().replace(/\s+/g, ' ');
  if (name.includes('^') || !name.includes(',')) return name;
  const [family = '', ...given] = name.split(',');
  return [family.trim(), given.join(' ').trim()].filter(Boolean).join('^');
}

/** A `type="date"` value (YYYY-MM-DD) as a DICOM date (YYYYMMDD); '' stays ''. */
export function dateInputToDicom(value: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim());
  return match ? `${match[1]}${match[2]}${match[3]}` : '';
}

/** A DICOM date (YYYYMMDD) as a `type="date"` value; '' when it is not one. */
export function dicomDateToInput(value: string): string {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(value.trim());
  return match ? `${match[1]}-${match[2]}-${match[3]}` : '';
}

export type NiftiProblems = Partial<Record<keyof NiftiFields, string>>;

/** What is missing or malformed in the NIfTI form, per field; empty when it may be sent. */
export function niftiProblems(fields: NiftiFields): NiftiProblems {
  const problems: NiftiProblems = {};
  const text = (key: 'patientName' | 'patientId' | 'studyDescription' | 'seriesDescription', label: string, required: boolean) => {
    const value = fields[key].trim();
    if (!value) {
      if (required) problems[key] = `Enter the ${label}.`;
      return;
    }
    if (value.length > LO_MAX) problems[key] = `The ${label} is at most ${LO_MAX} characters long.`;
    // A backslash separates values in DICOM: inside one value it would split it.
    else if (value.includes('\\')) problems[key] = `The ${label} may not contain a backslash (\\).`;
  };
  text('patientName', 'patient name', true);
  text('patientId', 'patient ID', true);
  text('studyDescription', 'study description', true);
  text('seriesDescription', 'series description', false);
  if (fields.modality !== 'CT' && fields.modality !== 'MR') problems.modality = 'Choose the modality: CT or MR.';
  if (fields.patientBirthDate && !/^\d{8}$/.test(fields.patientBirthDate)) problems.patientBirthDate = 'Enter the birth date as a full date.';
  if (fields.patientSex && !['M', 'F', 'O'].includes(fields.patientSex)) problems.patientSex = 'Choose M, F or O.';
  return problems;
}

/** The form fields the server reads for the NIfTI files that follow them, in a fixed order; blank optional ones left out. */
export function niftiFieldEntries(fields: NiftiFields): [string, string][] {
  const entries: [string, string][] = [
    ['patientName', toDicomPersonName(fields.patientName)],
    ['patientId', fields.patientId.trim()],
    ['studyDescription', fields.studyDescription.trim()],
    ['modality', fields.modality],
    ['seriesDescription', fields.seriesDescription.trim()],
    ['patientBirthDate', fields.patientBirthDate],
    ['patientSex', fields.patientSex],
  ];
  return entries.filter(([, value]) => value !== '');
}

export type FormPart<T> = { kind: 'field'; name: string; value: string } | { kind: 'file'; item: T };

/**
 * The parts of one upload request, in order: the files as chosen, with the NIfTI fields placed
 * right before the first NIfTI file (the server applies them to the NIfTI files that follow).
 */
export function importFormParts<T extends { path: string }>(batch: T[], nifti: NiftiFields | null): FormPart<T>[] {
  const parts: FormPart<T>[] = [];
  let fieldsPlaced = false;
  for (const item of batch) {
    if (!fieldsPlaced && nifti && isNiftiName(item.path)) {
      for (const [name, value] of niftiFieldEntries(nifti)) parts.push({ kind: 'field', name, value });
      fieldsPlaced = true;
    }
    parts.push({ kind: 'file', item });
  }
  return parts;
}

/** The multipart body of one batch: every file under the field name "file", named by its relative path. */
export function buildImportForm(batch: ImportItem[], nifti: NiftiFields | null): FormData {
  const form = new FormData();
  for (const part of importFormParts(batch, nifti)) {
    if (part.kind === 'field') form.append(part.name, part.value);
    else form.append('file', part.item.file, part.item.path);
  }
  return form;
}

// A job as the server reports it.

export function isActiveImport(status: ImportStatus): boolean {
  return status === 'open' || status === 'processing';
}

const statusLabels: Record<ImportStatus, { label: string; tone: Tone }> = {
  open: { label: 'Waiting for files', tone: 'warn' },
  processing: { label: 'Processing', tone: 'warn' },
  completed: { label: 'Completed', tone: 'ok' },
  cancelled: { label: 'Cancelled', tone: 'muted' },
  failed: { label: 'Failed', tone: 'bad' },
};

export function importStatusBadge(status: ImportStatus): { label: string; tone: Tone } {
  return statusLabels[status] ?? { label: status, tone: 'muted' };
}

export type CounterName = 'filesReceived' | 'instancesStored' | 'duplicates' | 'rejected' | 'skipped';

/** The counters shown while a job runs and after, in reading order. */
export function counterItems(counters: ImportCounters): { name: CounterName; label: string; value: number; tone: Tone }[] {
  return [
    { name: 'filesReceived', label: 'Files read', value: counters.filesReceived, tone: 'muted' },
    { name: 'instancesStored', label: 'Instances stored', value: counters.instancesStored, tone: 'ok' },
    { name: 'duplicates', label: 'Duplicates', value: counters.duplicates, tone: 'muted' },
    { name: 'rejected', label: 'Rejected', value: counters.rejected, tone: counters.rejected > 0 ? 'bad' : 'muted' },
    { name: 'skipped', label: 'Skipped', value: counters.skipped, tone: counters.skipped > 0 ? 'warn' : 'muted' },
  ];
}

/** "20 stored, 2 skipped" for a list row; "Nothing received yet" before any file. */
export function countersText(counters: ImportCounters): string {
  const parts: string[] = [];
  if (counters.instancesStored) parts.push(`${counters.instancesStored} stored`);
  if (counters.duplicates) parts.push(plural(counters.duplicates, 'duplicate'));
  if (counters.rejected) parts.push(`${counters.rejected} rejected`);
  if (counters.skipped) parts.push(`${counters.skipped} skipped`);
  if (parts.length === 0) return counters.filesReceived ? `${plural(counters.filesReceived, 'file')} read, nothing stored` : 'Nothing received yet';
  return parts.join(', ');
}

const time = (iso: string) => {
  const value = Date.parse(iso);
  return Number.isNaN(value) ? -Infinity : value;
};

/**
 * Which of two reports of the same job to show: the later one by `updatedAt` (events, polls and
 * upload answers arrive in any order); on a tie, the incoming one.
 */
export function newerJob(current: ImportJob | null, incoming: ImportJob): ImportJob {
  if (!current || current.id !== incoming.id) return incoming;
  return time(incoming.updatedAt) >= time(current.updatedAt) ? incoming : current;
}

export const importOutcomes: ImportOutcome[] = ['rejected', 'skipped', 'duplicate', 'stored'];

export type OutcomeFilter = ImportOutcome | 'all';

/** The outcome filter from the address; without one, problems first: rejected files when there are any. */
export function outcomeFilter(param: string | null, counters: ImportCounters | null): OutcomeFilter {
  if (param === 'all' || importOutcomes.includes(param as ImportOutcome)) return param as OutcomeFilter;
  return counters && counters.rejected > 0 ? 'rejected' : 'all';
}

const outcomeLabels: Record<ImportOutcome, { label: string; tone: Tone }> = {
  stored: { label: 'Stored', tone: 'ok' },
  duplicate: { label: 'Duplicate', tone: 'muted' },
  rejected: { label: 'Rejected', tone: 'bad' },
  skipped: { label: 'Skipped', tone: 'warn' },
};

export function outcomeBadge(outcome: ImportOutcome): { label: string; tone: Tone } {
  return outcomeLabels[outcome] ?? { label: outcome, tone: 'muted' };
}
