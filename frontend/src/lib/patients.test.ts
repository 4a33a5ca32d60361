import { describe, expect, it } from 'vitest';
import type { SeriesSummary } from '../api/types';
import {
  ariaSort,
  dateRangeProblem,
  defaultPatientQuery,
  formatSex,
  hasFilters,
  moveTargets,
  orderSeries,
  parsePatientQuery,
  patientPath,
  patientQueryParams,
  patientsApiPath,
  thumbnailAlt,
  toggleSort,
} from './patients';

const parse = (search: string) => parsePatientQuery(new URLSearchParams(search));

describe('patient list query in the address', () => {
  it('reads every filter, the sort and the page', () => {
    expect(parse('q=doe&modality=ct&from=2024-01-01&to=2024-12-31&groupId=g1&sort=name&order=asc&page=3')).toEqual({
      q: 'doe',
      modality: 'CT',
      from: '2024-01-01',
      to: '2024-12-31',
      groupId: 'g1',
      sort: 'name',
      order: 'asc',
      page: 3,
    });
  });

  it('falls back to the defaults for anything malformed', () => {
    expect(parse('')).toEqual(defaultPatientQuery);
    expect(parse('sort=toString&order=sideways&page=-2&from=2024-13-45&to=yesterday&modality=C%20T')).toEqual(defaultPatientQuery);
    // A known column without an order starts at that column's natural order.
    expect(parse('sort=patientId')).toMatchObject({ sort: 'patientId', order: 'asc' });
  });

  it('writes only what differs from the default, so plain addresses stay plain', () => {
    expect(patientQueryParams(defaultPatientQuery)).toEqual({});
    expect(patientQueryParams({ ...defaultPatientQuery, q: ' doe ', modality: 'MR', page: 2 })).toEqual({ q: 'doe', modality: 'MR', page: '2' });
    expect(patientQueryParams({ ...defaultPatientQuery, sort: 'name', order: 'asc' })).toEqual({ sort: 'name', order: 'asc' });
  });

  it('survives the round trip through the address', () => {
    const query = { ...defaultPatientQuery, q: 'DOE^JOHN & co', from: '2023-05-01', groupId: 'g 1', sort: 'studyCount' as const, order: 'asc' as const, page: 4 };
    expect(parse(new URLSearchParams(patientQueryParams(query)).toString())).toEqual(query);
  });

  it('asks the API for one page with the sort spelled out', () => {
    expect(patientsApiPath({ ...defaultPatientQuery, q: 'doe', modality: 'CT', page: 3 }, 25)).toBe(
      '/api/patients?q=doe&modality=CT&sort=lastStudyDate&order=desc&limit=25&offset=50',
    );
    expect(patientsApiPath({ ...defaultPatientQuery, from: '2024-01-01', to: '2024-02-01', groupId: 'g1' }, 10)).toBe(
      '/api/patients?from=2024-01-01&to=2024-02-01&groupId=g1&sort=lastStudyDate&order=desc&limit=10&offset=0',
    );
  });

  it('knows when a filter narrows the list', () => {
    expect(hasFilters(defaultPatientQuery)).toBe(false);
    expect(hasFilters({ ...defaultPatientQuery, to: '2024-01-01' })).toBe(true);
    expect(hasFilters({ ...defaultPatientQuery, page: 4, sort: 'name' })).toBe(false);
  });
});

describe('sorting by column', () => {
  it('flips the order of the current column and starts another at its natural order, on page 1', () => {
    const byDate = { ...defaultPatientQuery, page: 3 };
    expect(toggleSort(byDate, 'lastStudyDate')).toMatchObject({ sort: 'lastStudyDate', order: 'asc', page: 1 });
    expect(toggleSort(byDate, 'name')).toMatchObject({ sort: 'name', order: 'asc', page: 1 });
    expect(toggleSort({ ...byDate, sort: 'name', order: 'asc' }, 'name')).toMatchObject({ sort: 'name', order: 'desc' });
    expect(toggleSort(byDate, 'studyCount')).toMatchObject({ sort: 'studyCount', order: 'desc' });
  });

  it('tells assistive technology which column sorts the list', () => {
    expect(ariaSort({ sort: 'name', order: 'asc' }, 'name')).toBe('ascending');
    expect(ariaSort({ sort: 'name', order: 'desc' }, 'name')).toBe('descending');
    expect(ariaSort({ sort: 'name', order: 'desc' }, 'patientId')).toBe('none');
  });
});

describe('patient helpers', () => {
  it('checks the date range', () => {
    expect(dateRangeProblem('2024-02-01', '2024-01-01')).toMatch(/after/);
    expect(dateRangeProblem('2024-01-01', '2024-01-01')).toBeNull();
    expect(dateRangeProblem('', '2024-01-01')).toBeNull();
  });

  it('links a patient by its key, encoded', () => {
    expect(patientPath('a1b2')).toBe('/patients/a1b2');
    expect(patientPath('a/b?c')).toBe('/patients/a%2Fb%3Fc');
  });

  it('spells out the DICOM sex codes', () => {
    expect(formatSex('M')).toBe('Male');
    expect(formatSex('f')).toBe('Female');
    expect(formatSex('O')).toBe('Other');
    expect(formatSex('')).toBe('—');
    expect(formatSex('X')).toBe('X');
  });

  it('offers every group but the owner as a move target, by name', () => {
    const inbox = { id: 'g0', name: 'Unassigned' };
    const groups = [inbox, { id: 'g2', name: 'Oncology' }, { id: 'g1', name: 'Cardiology' }];
    expect(moveTargets(groups, { ownerGroup: inbox }).map((g) => g.name)).toEqual(['Cardiology', 'Oncology']);
  });

  const series = (seriesNumber: number | null, seriesDescription: string): SeriesSummary => ({
    seriesInstanceUid: `${seriesNumber}-${seriesDescription}`,
    modality: 'CT',
    seriesNumber,
    seriesDescription,
    instanceCount: 1,
    thumbnailUrl: '/api/series/x/thumbnail',
  });

  it('orders series by number, unnumbered last', () => {
    expect(orderSeries([series(null, 'SEG'), series(10, 'b'), series(2, 'a'), series(2, '0')]).map((s) => s.seriesInstanceUid)).toEqual([
      '2-0',
      '2-a',
      '10-b',
      'null-SEG',
    ]);
  });

  it('describes a thumbnail by its series', () => {
    expect(thumbnailAlt(series(3, 'PANCREAS DI, iDose'))).toBe('CT 3: PANCREAS DI, iDose');
    expect(thumbnailAlt({ modality: '', seriesNumber: null, seriesDescription: ' ' })).toBe('Series: Untitled series');
  });
});
