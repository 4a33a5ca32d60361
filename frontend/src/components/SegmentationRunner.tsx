import { useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { cancelJob, submitJob } from '../api/segmentation';
import type { InferenceJob, InferenceModels, StudyDetail } from '../api/types';
import { useAction } from '../api/useAction';
import { useInferenceJobs } from '../api/useInferenceJobs';
import type { Loaded } from '../api/useLoad';
import { formatDateTime } from '../lib/format';
import { thumbnailAlt } from '../lib/patients';
import {
  defaultModelName,
  isActiveJob,
  jobStatusBadge,
  labelList,
  MAX_JOB_SERIES,
  mergeJob,
  modalityHint,
  reportPath,
  resultPath,
  runProblem,
  submitNotice,
} from '../lib/segmentation';
import { LoadStatus, RowButton } from './DataTable';
import { ActionFeedback, LoadError } from './Feedback';
import { Field } from './Field';
import { StageIndicator } from './StageIndicator';

/** Jobs shown before "Show all". */
const RECENT_JOBS = 5;

/**
 * Runs a model on the series ticked on the study's cards, and follows the study's jobs stage by
 * stage (for roles with `inference.run`).
 */
export function SegmentationRunner({
  study,
  selected,
  models,
  onJobSettled,
}: {
  study: StudyDetail;
  /** Series UIDs in the order they were ticked. */
  selected: string[];
  models: Loaded<InferenceModels>;
  onJobSettled: (job: InferenceJob) => void;
}) {
  const uid = study.studyInstanceUid;
  const jobs = useInferenceJobs(uid, onJobSettled);
  const action = useAction();
  const [modelName, setModelName] = useState('');
  const chosen = selected.map((seriesUid) => study.series.find((s) => s.seriesInstanceUid === seriesUid)).filter((s) => s !== undefined);
  const available = models.data?.models ?? [];
  const effective = available.some((m) => m.name === modelName) ? modelName : defaultModelName(available, chosen.length ? chosen.map((s) => s.modality) : study.modalities);
  const model = available.find((m) => m.name === effective);
  const hint = modalityHint(model, chosen);
  const selectId = `model-${uid}`;
  const hintId = `model-hint-${uid}`;

  const run = (event: FormEvent) => {
    event.preventDefault();
    const problem = runProblem(selected, effective);
    if (problem) {
      action.setNotice(null);
      action.setError(problem);
      return;
    }
    void action.run(async () => {
      const { job, status } = await submitJob({ seriesInstanceUids: selected, model: effective });
      jobs.setData((current) => mergeJob(current, job));
      return submitNotice(status, effective);
    }, 'The job could not be started.');
  };

  return (
    <div className="segmentation-runner" data-testid="segmentation-runner">
      <form className="form-stack" onSubmit={run} aria-label="Run a segmentation model">
        <p className="hint" data-testid="segmentation-selection">
          {chosen.length === 0 ? (
            <span className="muted">Tick “Use for segmentation” on one image series above (or up to {MAX_JOB_SERIES} of one study, for multi-channel models).</span>
          ) : (
            <>
              Input: <strong>{chosen.map((s) => thumbnailAlt(s)).join('; ')}</strong>
            </>
          )}
        </p>
        <LoadError message={models.error} testId="segmentation-models-error" />
        {!models.data && !models.error && <p className="muted">Loading models…</p>}
        {available.length > 0 && (
          <div className="form-row">
            <Field id={selectId} label="Model" size="grow">
              <select
                id={selectId}
                value={effective}
                onChange={(event) => setModelName(event.target.value)}
                aria-describedby={hint ? `${selectId}-info ${hintId}` : `${selectId}-info`}
                data-testid="segmentation-model-select"
              >
                {available.map((m) => (
                  <option key={m.name} value={m.name}>
                    {m.name}
                    {m.modality ? ` (${m.modality})` : ''}
                  </option>
                ))}
              </select>
            </Field>
            <button type="submit" disabled={action.busy || !model} data-testid="segmentation-run">
              {action.busy ? 'Starting…' : 'Run segmentation'}
            </button>
          </div>
        )}
        {models.data && available.length === 0 && <p className="muted">The inference service offers no models.</p>}
        {model && (
          <dl className="facts model-facts" id={`${selectId}-info`} data-testid="segmentation-model-info">
            <div>
              <dt>Labels</dt>
              <dd data-testid="segmentation-model-labels">{labelList(model.labels)}</dd>
            </div>
            <div>
              <dt>Modality</dt>
              <dd>{model.modality ?? 'any'}</dd>
            </div>
            <div>
              <dt>Version</dt>
              <dd>{model.version || '—'}</dd>
            </div>
            {model.description && (
              <div className="grow-fact">
                <dt>About</dt>
                <dd>{model.description}</dd>
              </div>
            )}
          </dl>
        )}
        {hint && (
          <p className="notice-inline" id={hintId} data-testid="segmentation-modality-hint">
            {hint}
          </p>
        )}
        <ActionFeedback action={action} errorTestId="segmentation-run-error" noticeTestId="segmentation-run-notice" />
      </form>
      <JobList study={study} jobs={jobs} />
    </div>
  );
}

function JobList({ study, jobs }: { study: StudyDetail; jobs: Loaded<InferenceJob[]> }) {
  const action = useAction();
  const [showAll, setShowAll] = useState(false);
  const list = jobs.data ?? [];
  const shown = showAll ? list : list.slice(0, RECENT_JOBS);
  const seriesName = (uid: string) => {
    const series = study.series.find((s) => s.seriesInstanceUid === uid);
    return series ? thumbnailAlt(series) : 'a series no longer in this study';
  };

  const cancel = (job: InferenceJob) =>
    void action.run(async () => {
      const cancelled = await cancelJob(job.id);
      jobs.setData((current) => mergeJob(current, cancelled));
      return 'The job was cancelled.';
    }, 'The job could not be cancelled.');

  return (
    <div className="job-list-section">
      <h4>Jobs</h4>
      <LoadStatus state={jobs} isEmpty={list.length === 0} empty="No segmentation has been run on this study yet." errorTestId="inference-jobs-error" emptyTestId="inference-jobs-empty" />
      <ActionFeedback action={action} errorTestId="inference-job-action-error" noticeTestId="inference-job-action-notice" />
      {shown.length > 0 && (
        <ul className="job-list" data-testid="inference-jobs">
          {shown.map((job) => {
            const badge = jobStatusBadge(job.status);
            return (
              <li key={job.id} className="job-item" data-testid="inference-job" data-job-id={job.id} data-status={job.status} data-stage={job.stage}>
                <div className="job-header">
                  <div>
                    <strong>{job.model}</strong> <span className={`badge ${badge.tone}`} data-testid="inference-job-status">{badge.label}</span>
                    <div className="muted small-text">
                      Submitted {formatDateTime(job.createdAt)} on {job.seriesInstanceUids.map(seriesName).join('; ')}
                      {job.finishedAt ? ` · ended ${formatDateTime(job.finishedAt)}` : ''}
                    </div>
                  </div>
                  <div className="action-row">
                    {job.resultId && (
                      <>
                        <Link className="button-link" to={resultPath(job.resultId)} data-testid="inference-job-result">
                          View result<span className="visually-hidden"> of {job.model}</span>
                        </Link>
                        <Link className="button-link" to={reportPath(job.resultId)}>
                          Report<span className="visually-hidden"> of {job.model}</span>
                        </Link>
                      </>
                    )}
                    {isActiveJob(job) && <RowButton label="Cancel" hidden={`job ${job.model}`} danger disabled={action.busy} onClick={() => cancel(job)} />}
                  </div>
                </div>
                <StageIndicator job={job} />
              </li>
            );
          })}
        </ul>
      )}
      {list.length > RECENT_JOBS && (
        <button type="button" className="secondary small" onClick={() => setShowAll(!showAll)} aria-expanded={showAll}>
          {showAll ? 'Show recent jobs only' : `Show all ${list.length} jobs`}
        </button>
      )}
    </div>
  );
}
