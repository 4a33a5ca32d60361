import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';
import { apiFetch } from '../api/client';
import type { ExportJob } from '../api/exportTypes';
import type { PatientSummary } from '../api/types';
import { useAction } from '../api/useAction';
import { useGroupChoices } from '../api/useGroupChoices';
import { useLoad } from '../api/useLoad';
import { useSession } from '../auth/session';
import { LoadStatus } from '../components/DataTable';
import { ExportOptionsForm, type ExportOptionValues } from '../components/ExportOptionsForm';
import { ExportPatientPicker } from '../components/ExportPatientPicker';
import { RecentExports } from '../components/ExportList';
import { ErrorText, LoadError, StatusText } from '../components/Feedback';
import { Field } from '../components/Field';
import { Pager } from '../components/Pager';
import {
  defaultExportOptions,
  emptySearch,
  emptySelection,
  exportPagePath,
  exportPageParams,
  exportPageStateFrom,
  exportProblems,
  exportRequestBody,
  hasSearchCriteria,
  isSelectionEmpty,
  MAX_SEARCH_PATIENTS,
  sameSearch,
  searchSummary,
  selectionSummary,
  type ExportDraft,
  type ExportPageState,
  type ExportProblems,
  type ExportScope,
  type ExportSearch,
} from '../lib/exports';
import { commonModalities, dateRangeProblem, defaultPatientQuery, patientsApiPath } from '../lib/patients';
import '../exports.css';

const PAGE_SIZE = 25;

/** The first field with a problem takes the focus, so the user lands where the fix is. */
const problemFocus: [keyof ExportProblems, string][] = [
  ['selection', 'export-scope-selection'],
  ['search', 'export-search'],
  ['purpose', 'export-purpose'],
  ['recipient', 'export-recipient'],
];

type PageState = ExportPageState & { ignored: number };

/**
 * What is chosen, the search and both lists' pages, kept in the address: reload, Back and links from
 * other pages (`?patients=…&studies=…`) show the same choice. A ticked box must show at once, while
 * the router applies an address change a moment later; so the page keeps its own copy, writes each
 * change to the address, and takes the address back only when it changes from outside (Back, a link).
 */
function useAddressState(): [PageState, (change: Partial<ExportPageState>, replace?: boolean) => void] {
  const [params, setParams] = useSearchParams();
  const address = params.toString();
  const [state, setState] = useState<PageState>(() => exportPageStateFrom(params));
  // Addresses this page wrote that the router has not applied yet, oldest first.
  const written = useRef<string[]>([]);
  useEffect(() => {
    const index = written.current.indexOf(address);
    if (index >= 0) {
      written.current = written.current.slice(index + 1);
      return;
    }
    written.current = [];
    setState(exportPageStateFrom(new URLSearchParams(address)));
  }, [address]);

  const go = (change: Partial<ExportPageState>, replace = false) => {
    const next = { ...state, ...change };
    setState(next);
    const text = new URLSearchParams(exportPageParams(next)).toString();
    written.current.push(text);
    setParams(text, { replace });
  };
  return [state, go];
}

export function ExportPage() {
  const { user } = useSession();
  const navigate = useNavigate();
  const [state, go] = useAddressState();
  const searchKey = JSON.stringify(state.search);
  const [draft, setDraft] = useState<ExportSearch>(state.search);
  const [filterProblem, setFilterProblem] = useState<string | null>(null);
  // Back/forward changes the search in the address; the form follows it.
  useEffect(() => {
    setDraft(JSON.parse(searchKey) as ExportSearch);
    setFilterProblem(null);
  }, [searchKey]);
  const [options, setOptions] = useState<ExportOptionValues>(defaultExportOptions);
  const [problems, setProblems] = useState<ExportProblems>({});
  const action = useAction();
  const groups = useGroupChoices(user);
  const listPath = patientsApiPath({ ...defaultPatientQuery, ...state.search, sort: 'name', order: 'asc', page: state.page }, PAGE_SIZE);
  const patients = useLoad((signal) => apiFetch<{ patients: PatientSummary[]; total: number }>(listPath, { signal }), [listPath], 'The patients could not be loaded.');
  if (!user) return null;

  const draftOf = (): ExportDraft => ({ scope: state.scope, selection: state.selection, search: state.search, ...options });

  const list = patients.data;
  // How many patients the search export would take, once the list of that search has loaded.
  const matching = (scope: ExportScope) => (scope === 'search' && list && !patients.loading ? list.total : undefined);

  // Once problems are shown, each change checks again, so a fixed field stops being marked.
  const recheck = (next: ExportDraft) => {
    if (Object.keys(problems).length > 0) setProblems(exportProblems(next, matching(next.scope)));
  };

  const onOptions = (next: ExportOptionValues) => {
    setOptions(next);
    recheck({ ...draftOf(), ...next });
  };

  const onScope = (scope: ExportScope) => {
    go({ scope }, true);
    recheck({ ...draftOf(), scope });
  };

  const onSelection = (selection: typeof state.selection) => {
    // Ticking boxes is one choice, not a trail of pages for Back to walk through.
    go({ selection }, true);
    recheck({ ...draftOf(), selection });
  };

  const onSearch = (event: FormEvent) => {
    event.preventDefault();
    const problem = dateRangeProblem(draft.from, draft.to);
    setFilterProblem(problem);
    if (problem) return;
    go({ search: { ...draft, q: draft.q.trim(), modality: draft.modality.trim().toUpperCase() }, page: 1 });
  };

  const clearSearch = () => go({ search: emptySearch, page: 1 });

  const setFilter = (key: keyof ExportSearch, value: string) => setDraft((current) => ({ ...current, [key]: value }));

  const onStart = (event: FormEvent) => {
    event.preventDefault();
    action.setNotice(null);
    const next = draftOf();
    const found = exportProblems(next, matching(next.scope));
    // The search export sends the search the list shows, not one still being typed.
    if (next.scope === 'search' && !sameSearch(draft, state.search)) found.search = 'Press Search first: the export uses the search whose patients are listed.';
    setProblems(found);
    const first = problemFocus.find(([key]) => found[key]);
    if (first) {
      action.setError('Fix what is marked before starting the export.');
      document.getElementById(first[1])?.focus();
      return;
    }
    action.setError(null);
    void action.run(async () => {
      const answer = await apiFetch<{ export: ExportJob }>('/api/exports', { method: 'POST', body: exportRequestBody(next) });
      // The job page follows the export; a reload there shows it again.
      navigate(exportPagePath(answer.export.id));
    }, 'The export could not be started.');
  };

  const choosing = state.scope === 'selection';
  const filtered = hasSearchCriteria(state.search);
  const groupName = (id: string) => groups.data?.find((group) => group.id === id)?.name;

  return (
    <section>
      <h1>Export</h1>
      {state.ignored > 0 && (
        <p className="notice-inline" role="status" data-testid="export-ignored">
          {state.ignored} entr{state.ignored === 1 ? 'y' : 'ies'} of the link {state.ignored === 1 ? 'was' : 'were'} not a patient or study and{' '}
          {state.ignored === 1 ? 'was' : 'were'} left out.
        </p>
      )}

      <section className="panel" aria-labelledby="export-what-heading">
        <h2 id="export-what-heading">What to export</h2>
        <fieldset className="export-scope" data-testid="export-scope">
          <legend className="visually-hidden">Export</legend>
          <label className="check">
            <input
              type="radio"
              id="export-scope-selection"
              name="export-scope"
              data-testid="export-scope-selection"
              checked={choosing}
              onChange={() => onScope('selection')}
              aria-describedby={problems.selection ? 'export-selection-problem' : undefined}
            />
            Patients and studies I choose
          </label>
          <label className="check">
            <input type="radio" name="export-scope" data-testid="export-scope-search" checked={!choosing} onChange={() => onScope('search')} />
            Everything matching a search
          </label>
        </fieldset>

        <form className="filter-panel export-filter" role="search" aria-label="Find patients to export" onSubmit={onSearch} noValidate>
          <div className="filter-grid">
            <Field id="export-search" label="Name or patient ID" size="grow">
              <input id="export-search" type="search" data-testid="export-search" value={draft.q} onChange={(e) => setFilter('q', e.target.value)} placeholder="e.g. Doe or P12345" />
            </Field>
            <Field id="export-modality" label="Modality">
              <select id="export-modality" data-testid="export-modality" value={draft.modality} onChange={(e) => setFilter('modality', e.target.value)}>
                <option value="">Any</option>
                {[...commonModalities, ...(draft.modality && !commonModalities.includes(draft.modality) ? [draft.modality] : [])].map((modality) => (
                  <option key={modality} value={modality}>
                    {modality}
                  </option>
                ))}
              </select>
            </Field>
            <Field id="export-from" label="Studies from">
              <input id="export-from" type="date" data-testid="export-from" value={draft.from} onChange={(e) => setFilter('from', e.target.value)} />
            </Field>
            <Field id="export-to" label="Studies until">
              <input id="export-to" type="date" data-testid="export-to" value={draft.to} onChange={(e) => setFilter('to', e.target.value)} />
            </Field>
            <Field id="export-group" label="Group">
              <select id="export-group" data-testid="export-group" value={draft.groupId} onChange={(e) => setFilter('groupId', e.target.value)}>
                <option value="">Any group</option>
                {(groups.data ?? []).map((group) => (
                  <option key={group.id} value={group.id}>
                    {group.name}
                  </option>
                ))}
              </select>
            </Field>
          </div>
          <ErrorText message={filterProblem} testId="export-filter-error" />
          <LoadError message={groups.error} />
          <div className="button-row">
            <button type="submit" className="secondary" data-testid="export-search-submit">
              Search
            </button>
            {filtered && (
              <button type="button" className="secondary" onClick={clearSearch}>
                Clear search
              </button>
            )}
          </div>
        </form>

        {choosing ? (
          <div className="export-selection" data-testid="export-selection">
            <p data-testid="export-selection-summary">
              <strong>Chosen:</strong> {selectionSummary(state.selection)}
            </p>
            {!isSelectionEmpty(state.selection) && (
              <button type="button" className="secondary small" data-testid="export-selection-clear" onClick={() => onSelection(emptySelection)}>
                Clear choice
              </button>
            )}
          </div>
        ) : (
          <p className="export-selection" data-testid="export-search-summary">
            {!filtered
              ? 'Search by at least one criterion: every study of every patient it finds is exported.'
              : list && !patients.loading
                ? `Every study of the ${list.total} patient${list.total === 1 ? '' : 's'} matching ${searchSummary(state.search, groupName)}${list.total > MAX_SEARCH_PATIENTS ? ` — more than ${MAX_SEARCH_PATIENTS}, narrow the search` : ''}.`
                : `Every study of the patients matching ${searchSummary(state.search, groupName)}.`}
          </p>
        )}
        <ErrorText message={problems.selection ?? problems.search ?? null} testId="export-selection-error" />
        {problems.selection && (
          <span className="visually-hidden" id="export-selection-problem">
            {problems.selection}
          </span>
        )}

        <LoadStatus
          state={patients}
          isEmpty={list?.patients.length === 0 && state.page === 1}
          empty={filtered ? 'No patient matches this search.' : 'No patients yet. They appear here once studies are imported into a group you belong to, or shared with one.'}
          errorTestId="export-patients-error"
          emptyTestId="export-patients-empty"
        />
        {list && (list.patients.length > 0 || state.page > 1) && (
          <>
            <ExportPatientPicker patients={list.patients} busy={patients.loading} choosing={choosing} selection={state.selection} onSelection={onSelection} />
            <Pager page={state.page} limit={PAGE_SIZE} shown={list.patients.length} total={list.total} onPage={(page) => go({ page })} />
          </>
        )}
      </section>

      <form className="panel" onSubmit={onStart} noValidate aria-labelledby="export-how-heading" data-testid="export-form">
        <h2 id="export-how-heading">How to export</h2>
        <ExportOptionsForm value={options} problems={problems} onChange={onOptions} />
        <ErrorText message={action.error} testId="export-error" />
        <StatusText message={action.notice} />
        <div className="button-row">
          <button type="submit" disabled={action.busy} data-testid="export-start">
            {action.busy ? 'Starting…' : 'Start export'}
          </button>
          <span className="muted small-text" data-testid="export-start-summary">
            {choosing ? selectionSummary(state.selection) : filtered ? `Search: ${searchSummary(state.search, groupName)}` : 'No search yet'}
          </span>
        </div>
      </form>

      <h2>Recent exports</h2>
      <RecentExports page={state.recent} onPage={(recent) => go({ recent })} />
    </section>
  );
}
