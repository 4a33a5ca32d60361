import { useState, type FormEvent } from 'react';
import { apiFetch } from '../api/client';
import type { GroupRef, InferenceJob, InferenceModels, SegmentationResult, SessionUser, StudyDetail } from '../api/types';
import { useAction } from '../api/useAction';
import type { Loaded } from '../api/useLoad';
import { formatStudyDate } from '../lib/format';
import { moveTargets, orderSeries } from '../lib/patients';
import { MAX_JOB_SERIES, toggleSeries, unselectableReason, validSelection } from '../lib/segmentation';
import { canShareStudy, viewerHref } from '../lib/studies';
import { LoadStatus } from './DataTable';
import { ActionFeedback } from './Feedback';
import { Field } from './Field';
import { SegmentationResults } from './SegmentationResults';
import { SegmentationRunner } from './SegmentationRunner';
import { SeriesCard } from './SeriesCard';
import { StudySharing } from './StudySharing';

/**
 * One study of a patient, with its series. Admins may also move it to another group (out of
 * the inbox, say) or delete it from Orthanc and the registry, after confirming. Below the
 * series, its segmentation results; roles that run models also tick series and run them here.
 */
export function StudyCard({
  study,
  user,
  groups,
  onChanged,
  onDeleted,
  onReload,
  models,
  results,
  onSegmentationSettled,
}: {
  study: StudyDetail;
  user: SessionUser;
  /** Groups a study may be moved to (admins only). */
  groups: GroupRef[];
  onChanged: (study: StudyDetail) => void;
  onDeleted: (studyInstanceUid: string) => void;
  onReload: () => void;
  /** The inference service's models; null when the user may not run them. */
  models: Loaded<InferenceModels> | null;
  /** The patient's segmentation results (this study's are picked out here). */
  results: { data: SegmentationResult[] | null; error: string | null };
  /** A job of this study ended: its result (and SEG series) can be loaded. */
  onSegmentationSettled: (job: InferenceJob) => void;
}) {
  const uid = study.studyInstanceUid;
  const uidPath = `/api/studies/${encodeURIComponent(uid)}`;
  const action = useAction();
  const [confirming, setConfirming] = useState(false);
  const [sharing, setSharing] = useState(false);
  const [target, setTarget] = useState('');
  // Series ticked as model input, in the order ticked (the order of a multi-channel model's inputs).
  const [ticked, setTicked] = useState<string[]>([]);
  const selected = validSelection(ticked, study.series);
  const studyResults = results.data?.filter((result) => result.studyInstanceUid === uid) ?? null;
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
            <SeriesCard
              key={series.seriesInstanceUid}
              series={series}
              selection={
                models
                  ? {
                      checked: selected.includes(series.seriesInstanceUid),
                      reason: unselectableReason(series),
                      disabled: selected.length >= MAX_JOB_SERIES,
                      onChange: (checked) => setTicked(toggleSeries(selected, series.seriesInstanceUid, checked)),
                    }
                  : undefined
              }
            />
          ))}
        </ul>
      )}

      <section className="segmentation-section" aria-labelledby={`segmentation-${uid}-heading`} data-testid="segmentation-panel">
        <h3 id={`segmentation-${uid}-heading`}>Segmentation</h3>
        {models && <SegmentationRunner study={study} selected={selected} models={models} onJobSettled={onSegmentationSettled} />}
        <h4>Results</h4>
        <LoadStatus state={{ data: studyResults, error: results.error }} errorTestId="segmentation-results-error" />
        {studyResults && <SegmentationResults results={studyResults} series={study.series} />}
      </section>
    </article>
  );
}
