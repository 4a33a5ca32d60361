import { queryString } from '../api/query';
import type { GroupRef, SeriesSummary, StudyDetail } from '../api/types';
import { pageFromParam } from './forms';

export type PatientSort = 'name' | 'patientId' | 'lastStudyDate' | 'studyCount';
export type SortOrder = 'asc' | 'desc';

/** What the patient list shows; all of it lives in the address, so Back and reload show the same list. */
export type PatientQuery = {
  q: string;
  modality: string;
  /** YYYY-MM-DD study-date bounds, or ''. */
  from: string;
  to: string;
  groupId: string;
  sort: PatientSort;
  order: SortOrder;
  page: number;
};

export const commonModalities = ['CT', 'MR', 'PT', 'US', 'CR', 'DX', 'MG', 'SEG', 'SR', 'OT'];

export const sortColumns: { key: PatientSort; label: string }[] = [
  { key: 'name', label: 'Patient' },
  { key: 'patientId', label: 'Patient ID' },
  { key: 'lastStudyDate', label: 'Last study' },
  { key: 'studyCount', label: 'Studies' },
];

/** Names and IDs read best A→Z; dates and counts newest/largest first. */
const firstOrder: Record<PatientSort, SortOrder> = { name: 'asc', patientId: 'asc', lastStudyDate: 'desc', studyCount: 'desc' };

export const defaultPatientQuery: PatientQuery = { q: '', modality: '', from: '', to: '', groupId: '', sort: 'lastStudyDate', order: 'desc', page: 1 };

const isDate = (value: string) => /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`));

/** Reads the list's state from the address; anything malformed falls back to the default. */
export function parsePatientQuery(params: URLSearchParams): PatientQuery {
  const text = (name: string) => (params.get(name) ?? '').trim();
  const sort = text('sort') as PatientSort;
  const order = text('order') as SortOrder;
  const validSort = Object.hasOwn(firstOrder, sort);
  const modality = text('modality').toUpperCase();
  const date = (name: string) => (isDate(text(name)) ? text(name) : '');
  return {
    q: text('q'),
    modality: /^[A-Z0-9]{1,16}$/.test(modality) ? modality : '',
    from: date('from'),
    to: date('to'),
    groupId: text('groupId'),
    sort: validSort ? sort : defaultPatientQuery.sort,
    order: order === 'asc' || order === 'desc' ? order : validSort ? firstOrder[sort] : defaultPatientQuery.order,
    page: pageFromParam(params.get('page')),
  };
}

/** The address parameters for a query, leaving out whatever is the default. */
export function patientQueryParams(query: PatientQuery): Record<string, string> {
  const params: Record<string, string> = {};
  for (const name of ['q', 'modality', 'from', 'to', 'groupId'] as const) {
    const value = query[name].trim();
    if (value) params[name] = value;
  }
  if (query.sort !== defaultPatientQuery.sort || query.order !== defaultPatientQuery.order) {
    params.sort = query.sort;
    params.order = query.order;
  }
  if (query.page > 1) params.page = String(query.page);
  return params;
}

export function patientsApiPath(query: PatientQuery, pageSize: number): string {
  const { q, modality, from, to, groupId, sort, order, page } = query;
  return `/api/patients${queryString({ q, modality, from, to, groupId, sort, order, limit: pageSize, offset: (page - 1) * pageSize })}`;
}

/** A click on a column header: the same column flips the order, another starts at its natural order. Back to page 1 either way. */
export function toggleSort(query: PatientQuery, column: PatientSort): PatientQuery {
  const order = query.sort === column ? (query.order === 'asc' ? 'desc' : 'asc') : firstOrder[column];
  return { ...query, sort: column, order, page: 1 };
}

export function ariaSort(query: Pick<PatientQuery, 'sort' | 'order'>, column: PatientSort): 'ascending' | 'descending' | 'none' {
  if (query.sort !== column) return 'none';
  return query.order === 'asc' ? 'ascending' : 'descending';
}

export function hasFilters(query: PatientQuery): boolean {
  return Boolean(query.q || query.modality || query.from || query.to || query.groupId);
}

export function dateRangeProblem(from: string, to: string): string | null {
  if (from && to && from > to) return 'The “from” date is after the “to” date.';
  return null;
}

export function patientPath(key: string): string {
  return `/patients/${encodeURIComponent(key)}`;
}

const sexes: Record<string, string> = { M: 'Male', F: 'Female', O: 'Other' };

/** DICOM Patient's Sex (M, F, O) in words; anything else as it is, '—' when empty. */
export function formatSex(sex: string): string {
  const value = sex.trim().toUpperCase();
  if (!value) return '—';
  return sexes[value] ?? sex.trim();
}

/** Groups a study may be moved to: any but its owner, by name. */
export function moveTargets(groups: GroupRef[], study: Pick<StudyDetail, 'ownerGroup'>): GroupRef[] {
  return groups.filter((group) => group.id !== study.ownerGroup.id).sort((a, b) => a.name.localeCompare(b.name));
}

/** Series in scanner order: by series number (missing ones last), then description. */
export function orderSeries(series: SeriesSummary[]): SeriesSummary[] {
  return [...series].sort((a, b) => {
    const an = a.seriesNumber ?? Number.POSITIVE_INFINITY;
    const bn = b.seriesNumber ?? Number.POSITIVE_INFINITY;
    if (an !== bn) return an < bn ? -1 : 1;
    return a.seriesDescription.localeCompare(b.seriesDescription);
  });
}

/** The alt text of a series thumbnail: what the series is, since the image alone says little. */
export function thumbnailAlt(series: Pick<SeriesSummary, 'modality' | 'seriesNumber' | 'seriesDescription'>): string {
  const what = series.seriesDescription.trim() || 'Untitled series';
  const number = series.seriesNumber === null ? '' : ` ${series.seriesNumber}`;
  return `${series.modality || 'Series'}${number}: ${what}`;
}
