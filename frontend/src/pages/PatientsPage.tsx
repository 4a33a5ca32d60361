import { useEffect, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { apiFetch } from '../api/client';
import type { PatientSummary } from '../api/types';
import { useGroupChoices } from '../api/useGroupChoices';
import { useLoad } from '../api/useLoad';
import { useSession } from '../auth/session';
import { DataTable, LoadStatus, type SortableColumn } from '../components/DataTable';
import { ErrorText, LoadError } from '../components/Feedback';
import { Field } from '../components/Field';
import { Pager } from '../components/Pager';
import { formatPersonName, formatStudyDate } from '../lib/format';
import {
  ariaSort,
  commonModalities,
  dateRangeProblem,
  hasFilters,
  parsePatientQuery,
  patientPath,
  patientQueryParams,
  patientsApiPath,
  sortColumns,
  toggleSort,
  type PatientQuery,
  type PatientSort,
} from '../lib/patients';

const PAGE_SIZE = 25;

type Draft = Pick<PatientQuery, 'q' | 'modality' | 'from' | 'to' | 'groupId'>;

const draftOf = (query: PatientQuery): Draft => ({ q: query.q, modality: query.modality, from: query.from, to: query.to, groupId: query.groupId });

export function PatientsPage() {
  const { user } = useSession();
  // Every filter, the sort and the page live in the address, so Back, reload and bookmarks work.
  const [params, setParams] = useSearchParams();
  const search = params.toString();
  const query = parsePatientQuery(params);
  const [draft, setDraft] = useState<Draft>(() => draftOf(query));
  const [problem, setProblem] = useState<string | null>(null);
  // Back/forward changes the address; the form follows it.
  useEffect(() => {
    setDraft(draftOf(parsePatientQuery(new URLSearchParams(search))));
    setProblem(null);
  }, [search]);
  const groups = useGroupChoices(user);
  const patients = useLoad(
    (signal) => apiFetch<{ patients: PatientSummary[]; total: number }>(patientsApiPath(query, PAGE_SIZE), { signal }),
    [patientsApiPath(query, PAGE_SIZE)],
    'The patients could not be loaded.',
  );
  if (!user) return null;

  const go = (next: PatientQuery) => setParams(patientQueryParams(next));

  const onSearch = (event: FormEvent) => {
    event.preventDefault();
    const rangeProblem = dateRangeProblem(draft.from, draft.to);
    setProblem(rangeProblem);
    if (rangeProblem) return;
    go({ ...query, ...draft, q: draft.q.trim(), modality: draft.modality.trim().toUpperCase(), page: 1 });
  };

  const clear = () => go({ ...query, q: '', modality: '', from: '', to: '', groupId: '', page: 1 });

  const set = (key: keyof Draft, value: string) => setDraft((current) => ({ ...current, [key]: value }));

  const sortable = (key: PatientSort): SortableColumn => ({
    label: sortColumns.find((column) => column.key === key)!.label,
    sort: ariaSort(query, key),
    onSort: () => go(toggleSort(query, key)),
  });
  const columns = [sortable('name'), sortable('patientId'), sortable('lastStudyDate'), 'Birth date', 'Modalities', sortable('studyCount'), 'Groups'];

  const list = patients.data;
  const filtered = hasFilters(query);
  return (
    <section>
      <h1>Patients</h1>
      <form className="panel filter-panel" role="search" aria-label="Find patients" onSubmit={onSearch} noValidate>
        <div className="filter-grid">
          <Field id="patient-search" label="Name or patient ID" size="grow">
            <input id="patient-search" type="search" data-testid="patient-search" value={draft.q} onChange={(e) => set('q', e.target.value)} placeholder="e.g. Doe or P12345" />
          </Field>
          <Field id="patient-modality" label="Modality">
            <select id="patient-modality" data-testid="patient-modality" value={draft.modality} onChange={(e) => set('modality', e.target.value)}>
              <option value="">Any</option>
              {/* A modality from the address that is not in the usual list stays choosable. */}
              {[...commonModalities, ...(draft.modality && !commonModalities.includes(draft.modality) ? [draft.modality] : [])].map((modality) => (
                <option key={modality} value={modality}>
                  {modality}
                </option>
              ))}
            </select>
          </Field>
          <Field id="patient-from" label="Studies from">
            <input id="patient-from" type="date" data-testid="patient-from" value={draft.from} onChange={(e) => set('from', e.target.value)} />
          </Field>
          <Field id="patient-to" label="Studies until">
            <input id="patient-to" type="date" data-testid="patient-to" value={draft.to} onChange={(e) => set('to', e.target.value)} />
          </Field>
          <Field id="patient-group" label="Group">
            <select id="patient-group" data-testid="patient-group" value={draft.groupId} onChange={(e) => set('groupId', e.target.value)}>
              <option value="">Any group</option>
              {(groups.data ?? []).map((group) => (
                <option key={group.id} value={group.id}>
                  {group.name}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <ErrorText message={problem} testId="patient-filter-error" />
        <LoadError message={groups.error} />
        <div className="button-row">
          <button type="submit">Search</button>
          {filtered && (
            <button type="button" className="secondary" onClick={clear}>
              Clear filters
            </button>
          )}
        </div>
      </form>
      <LoadStatus
        state={patients}
        isEmpty={list?.patients.length === 0 && query.page === 1}
        empty={filtered ? 'No patient matches these filters.' : 'No patients yet. They appear here once studies are imported into a group you belong to, or shared with one.'}
        errorTestId="patients-error"
        emptyTestId="patients-empty"
      />
      {list && (list.patients.length > 0 || query.page > 1) && (
        <>
          <DataTable testId="patients-table" busy={patients.loading} columns={columns}>
            {list.patients.map((patient) => (
              <tr key={patient.key} data-patient-key={patient.key}>
                <th scope="row">
                  <Link to={patientPath(patient.key)}>{formatPersonName(patient.patientName)}</Link>
                </th>
                <td className="mono">{patient.patientId || <span className="muted">—</span>}</td>
                <td className="number">{formatStudyDate(patient.lastStudyDate)}</td>
                <td className="number">{formatStudyDate(patient.birthDate)}</td>
                <td>{patient.modalities.join(', ') || <span className="muted">—</span>}</td>
                <td className="number">{patient.studyCount}</td>
                <td>{patient.groups.map((group) => group.name).join(', ') || <span className="muted">—</span>}</td>
              </tr>
            ))}
          </DataTable>
          <Pager page={query.page} limit={PAGE_SIZE} shown={list.patients.length} total={list.total} onPage={(page) => go({ ...query, page })} />
        </>
      )}
    </section>
  );
}
