import { Fragment, useEffect, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router-dom';
import { apiFetch } from '../api/client';
import { queryString } from '../api/query';
import type { Study } from '../api/types';
import { useLoad } from '../api/useLoad';
import { useSession } from '../auth/session';
import { DataTable, LoadStatus } from '../components/DataTable';
import { Pager } from '../components/Pager';
import { StudySharing } from '../components/StudySharing';
import { formatPersonName, formatStudyDate } from '../lib/format';
import { pageFromParam } from '../lib/forms';
import { canShareStudy, viewerHref } from '../lib/studies';

const PAGE_SIZE = 25;
const COLUMNS = 7;

export function StudiesPage() {
  const { user } = useSession();
  // The search and page live in the address, so Back and bookmarks work.
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const page = pageFromParam(params.get('page'));
  const [draft, setDraft] = useState(q);
  const [openUid, setOpenUid] = useState<string | null>(null);
  // Back/forward changes the search in the address; the box follows it.
  useEffect(() => setDraft(q), [q]);
  const studies = useLoad(
    (signal) => apiFetch<{ studies: Study[]; total: number }>(`/api/studies${queryString({ q, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE })}`, { signal }),
    [q, page],
    'The studies could not be loaded.',
  );
  if (!user) return null;

  const onSearch = (event: FormEvent) => {
    event.preventDefault();
    setOpenUid(null);
    setParams(draft.trim() ? { q: draft.trim() } : {});
  };

  const goToPage = (next: number) => {
    setOpenUid(null);
    setParams({ ...(q ? { q } : {}), ...(next > 1 ? { page: String(next) } : {}) });
  };

  const list = studies.data;
  return (
    <section>
      <h1>Studies</h1>
      <form className="search-form" role="search" onSubmit={onSearch}>
        <label htmlFor="study-search">Search studies</label>
        <div className="form-row">
          <input
            id="study-search"
            type="search"
            placeholder="Patient name or ID, description, study UID"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            data-testid="study-search"
          />
          <button type="submit">Search</button>
        </div>
      </form>
      <LoadStatus
        state={studies}
        isEmpty={list?.studies.length === 0}
        empty={q ? `No studies match “${q}”.` : 'No studies yet. Studies appear here once they are uploaded to a group you belong to, or shared with one.'}
        errorTestId="studies-error"
        emptyTestId="studies-empty"
      />
      {list && list.studies.length > 0 && (
        <>
          <DataTable
            testId="studies-table"
            busy={studies.loading}
            columns={['Patient', 'Date', 'Description', 'Modalities', 'Owner group', 'Shared with']}
            actions
          >
            {list.studies.map((study) => {
              const uid = study.studyInstanceUid;
              const patient = formatPersonName(study.patientName);
              const open = openUid === uid;
              const panelId = `sharing-${uid}`;
              const sharable = canShareStudy(user, study);
              return (
                <Fragment key={uid}>
                  <tr data-study-uid={uid}>
                    <th scope="row">
                      {patient}
                      {study.patientId && <div className="muted small-text">ID {study.patientId}</div>}
                    </th>
                    <td className="number">{formatStudyDate(study.studyDate)}</td>
                    <td>{study.studyDescription || <span className="muted">—</span>}</td>
                    <td>{study.modalities.join(', ') || <span className="muted">—</span>}</td>
                    <td>{study.ownerGroup.name}</td>
                    <td>{study.sharedWith.map((group) => group.name).join(', ') || <span className="muted">—</span>}</td>
                    <td className="actions">
                      <div className="action-stack">
                        <a className="button-link" href={viewerHref(uid)}>
                          Open in viewer<span className="visually-hidden"> ({patient})</span>
                        </a>
                        {sharable && (
                          <button
                            type="button"
                            className="secondary small"
                            aria-expanded={open}
                            aria-controls={open ? panelId : undefined}
                            onClick={() => setOpenUid(open ? null : uid)}
                          >
                            Sharing<span className="visually-hidden"> ({patient})</span>
                          </button>
                        )}
                      </div>
                    </td>
                  </tr>
                  {open && (
                    <tr className="row-details" id={panelId} data-sharing-for={uid}>
                      <td colSpan={COLUMNS}>
                        <StudySharing study={study} user={user} onStudyChanged={studies.reload} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </DataTable>
          <Pager page={page} limit={PAGE_SIZE} shown={list.studies.length} total={list.total} onPage={goToPage} />
        </>
      )}
      {list && list.studies.length === 0 && page > 1 && <Pager page={page} limit={PAGE_SIZE} shown={0} total={list.total} onPage={goToPage} />}
    </section>
  );
}
