import { useState, type FormEvent } from 'react';
import { apiFetch } from '../api/client';
import type { GroupRef, SessionUser, StudyDetail } from '../api/types';
import { useAction } from '../api/useAction';
import { formatStudyDate } from '../lib/format';
import { moveTargets, orderSeries } from '../lib/patients';
import { canShareStudy, viewerHref } from '../lib/studies';
import { ActionFeedback } from './Feedback';
import { Field } from './Field';
import { SeriesCard } from './SeriesCard';
import { StudySharing } from './StudySharing';

/**
 * One study of a patient, with its series. Admins may also move it to another group (out of
 * the inbox, say) or delete it from Orthanc and the registry, after confirming.
 */
export function StudyCard({
  study,
  user,
  groups,
  onChanged,
  onDeleted,
  onReload,
}: {
  study: StudyDetail;
  user: SessionUser;
  /** Groups a study may be moved to (admins only). */
  groups: GroupRef[];
  onChanged: (study: StudyDetail) => void;
  onDeleted: (studyInstanceUid: string) => void;
  onReload: () => void;
}) {
  const uid = study.studyInstanceUid;
  const uidPath = `/api/studies/${encodeURIComponent(uid)}`;
  const action = useAction();
  const [confirming, setConfirming] = useState(false);
  const [sharing, setSharing] = useState(false);
  const [target, setTarget] = useState('');
  const admin = user.role === 'admin';
  const targets = moveTargets(groups, study);
  const chosenTarget = targets.some((group) => group.id === target) ? target : (targets[0]?.id ?? '');
  const headingId = `study-${uid}-heading`;
  const title = study.studyDescription || 'Study without description';

  const remove = () =>
    void action.run(async () => {
      await apiFetch(uidPath, { method: 'DELETE' });
      onDeleted(uid);
    }, 'The study could not be deleted.');

  const move = (event: FormEvent) => {
    event.preventDefault();
    const group = targets.find((candidate) => candidate.id === chosenTarget);
    if (!group) return;
    void action.run(async () => {
      const body = await apiFetch<{ study: StudyDetail }>(uidPath, { method: 'PATCH', body: { ownerGroupId: group.id } });
      onChanged(body.study);
      return `Moved to ${group.name}.`;
    }, 'The study could not be moved.');
  };

  return (
    <article className="panel study-card" aria-labelledby={headingId} data-study-uid={uid} data-testid="study-card">
      <div className="study-header">
        <div>
          <h2 id={headingId}>
            <span className="muted">{formatStudyDate(study.studyDate)}</span> · {title}
          </h2>
          <dl className="facts">
            <div>
              <dt>Accession</dt>
              <dd className="mono">{study.accessionNumber || '—'}</dd>
            </div>
            <div>
              <dt>Modalities</dt>
              <dd>{study.modalities.join(', ') || '—'}</dd>
            </div>
            <div>
              <dt>Group</dt>
              <dd data-testid="study-owner-group">{study.ownerGroup.name}</dd>
            </div>
            {study.sharedWith.length > 0 && (
              <div>
                <dt>Shared with</dt>
                <dd>{study.sharedWith.map((group) => group.name).join(', ')}</dd>
              </div>
            )}
            <div>
              <dt>Instances</dt>
              <dd>{study.instanceCount}</dd>
            </div>
          </dl>
        </div>
        <div className="action-stack">
          <a className="button-link" href={viewerHref(uid)} data-testid="open-in-viewer">
            Open in viewer<span className="visually-hidden"> ({title})</span>
          </a>
          {canShareStudy(user, study) && (
            <button type="button" className="secondary small" aria-expanded={sharing} aria-controls={sharing ? `sharing-${uid}` : undefined} onClick={() => setSharing(!sharing)}>
              Sharing<span className="visually-hidden"> ({title})</span>
            </button>
          )}
        </div>
      </div>

      {sharing && (
        <div className="row-details-panel" id={`sharing-${uid}`}>
          <StudySharing study={study} user={user} onStudyChanged={onReload} />
        </div>
      )}

      {admin && (
        <div className="admin-actions" data-testid="study-admin-actions">
          {targets.length > 0 && (
            <form className="form-row" onSubmit={move}>
              <Field id={`move-${uid}`} label="Move to group">
                <select id={`move-${uid}`} data-testid="study-move-select" value={chosenTarget} onChange={(event) => setTarget(event.target.value)}>
                  {targets.map((group) => (
                    <option key={group.id} value={group.id}>
                      {group.name}
                    </option>
                  ))}
                </select>
              </Field>
              <button type="submit" className="secondary" disabled={action.busy}>
                Move<span className="visually-hidden"> {title}</span>
              </button>
            </form>
          )}
          {confirming ? (
            <div className="confirm" role="group" aria-label="Confirm deletion">
              <span>Delete this study and its {study.instanceCount} instances from Orthanc and the registry? This cannot be undone.</span>
              <button type="button" className="danger" disabled={action.busy} onClick={remove} data-testid="study-delete-confirm">
                Delete permanently
              </button>
              <button type="button" className="secondary" disabled={action.busy} onClick={() => setConfirming(false)} autoFocus>
                Keep it
              </button>
            </div>
          ) : (
            <button type="button" className="danger" disabled={action.busy} onClick={() => setConfirming(true)} data-testid="study-delete">
              Delete study<span className="visually-hidden"> {title}</span>
            </button>
          )}
        </div>
      )}
      <ActionFeedback action={action} errorTestId="study-action-error" noticeTestId="study-action-notice" />

      <h3 className="series-heading">Series ({study.series.length})</h3>
      {study.series.length === 0 ? (
        <p className="muted">No series recorded for this study.</p>
      ) : (
        <ul className="series-grid" aria-label={`Series of ${title}`}>
          {orderSeries(study.series).map((series) => (
            <SeriesCard key={series.seriesInstanceUid} series={series} />
          ))}
        </ul>
      )}
    </article>
  );
}
