import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { deleteResult, getResult } from '../api/segmentation';
import { useAction } from '../api/useAction';
import { useLoad } from '../api/useLoad';
import { useSession } from '../auth/session';
import { ActionFeedback, LoadError } from '../components/Feedback';
import { SegmentTable } from '../components/SegmentTable';
import { ValidationBadge } from '../components/ValidationBadge';
import { ValidationForm, ValidationRecord } from '../components/ValidationBox';
import { VolumeChart } from '../components/VolumeChart';
import { formatDateTime, formatPersonName, formatStudyDate } from '../lib/format';
import { patientPath } from '../lib/patients';
import { mayRunInference, mayValidate, reportPath, segmentCount } from '../lib/segmentation';
import { viewerHref } from '../lib/studies';

/** One segmentation result: its segments and volumes, their course over time, validation, and the way to the viewer and report. */
export function SegmentationPage() {
  const { id = '' } = useParams();
  const { user } = useSession();
  const navigate = useNavigate();
  const loaded = useLoad((signal) => getResult(id, signal), [id], 'This segmentation could not be loaded.');
  const action = useAction();
  const [confirming, setConfirming] = useState(false);
  if (!user) return null;
  const data = loaded.data?.result.id === id ? loaded.data : null;

  if (!data) {
    return (
      <section>
        <p className="breadcrumb">
          <Link to="/patients">← Patients</Link>
        </p>
        <h1>Segmentation</h1>
        <LoadError message={loaded.error} testId="segmentation-error" />
        {!loaded.error && <p className="muted">Loading…</p>}
      </section>
    );
  }

  const { result, history } = data;
  const patientName = formatPersonName(result.patient.patientName);
  const back = result.patient.key ? patientPath(result.patient.key) : '/patients';

  const remove = () =>
    void action.run(async () => {
      await deleteResult(result.id);
      navigate(back);
    }, 'The segmentation could not be deleted.');

  return (
    <section data-testid="segmentation-page" data-result-id={result.id}>
      <p className="breadcrumb">
        <Link to={back}>← {result.patient.key ? patientName : 'Patients'}</Link>
      </p>
      <div className="page-header">
        <h1>
          Segmentation: {result.model} <ValidationBadge status={result.validation.status} />
        </h1>
        <div className="action-row">
          <a className="button-link" href={viewerHref(result.studyInstanceUid)} data-testid="segmentation-open-viewer">
            Open in viewer
          </a>
          <Link className="button-link" to={reportPath(result.id)} data-testid="segmentation-report-link">
            Report
          </Link>
        </div>
      </div>
      <dl className="facts result-facts" data-testid="segmentation-facts">
        <div>
          <dt>Patient</dt>
          <dd>
            {patientName}
            {result.patient.patientId && <span className="muted mono"> · {result.patient.patientId}</span>}
          </dd>
        </div>
        <div>
          <dt>Study</dt>
          <dd>
            {formatStudyDate(result.studyDate)} · {result.studyDescription || <span className="muted">No description</span>}
          </dd>
        </div>
        <div>
          <dt>Model</dt>
          <dd data-testid="segmentation-model">
            {result.model} <span className="muted">{result.modelVersion}</span>
          </dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>{formatDateTime(result.createdAt)}</dd>
        </div>
        <div>
          <dt>Segments</dt>
          <dd>{segmentCount(result)}</dd>
        </div>
      </dl>

      <section className="panel" aria-labelledby="segments-heading">
        <h2 id="segments-heading">Segments</h2>
        <SegmentTable segments={result.segments} />
        <p className="muted small-text">
          In the viewer the segmentation is its own series (SEG) in the study: open the study and load it from the series list.
        </p>
      </section>

      <section className="panel" aria-labelledby="history-heading">
        <h2 id="history-heading">Volume over time</h2>
        <VolumeChart history={history} segments={result.segments} currentResultId={result.id} />
      </section>

      <section className="panel" aria-labelledby="validation-heading" data-testid="validation-panel">
        <h2 id="validation-heading">Validation</h2>
        <ValidationRecord validation={result.validation} />
        {mayValidate(user.role) ? (
          <ValidationForm result={result} onValidated={(detail) => loaded.setData(detail)} />
        ) : (
          <p className="muted small-text">Radiologists and admins approve or reject segmentations.</p>
        )}
      </section>

      {mayRunInference(user.role) && (
        <section className="panel" aria-labelledby="delete-heading">
          <h2 id="delete-heading">Delete</h2>
          {confirming ? (
            <div className="confirm" role="group" aria-label="Confirm deletion">
              <span>Delete this segmentation, its volumes and its SEG series from the archive? This cannot be undone.</span>
              <button type="button" className="danger" disabled={action.busy} onClick={remove} data-testid="segmentation-delete-confirm">
                Delete permanently
              </button>
              <button type="button" className="secondary" disabled={action.busy} onClick={() => setConfirming(false)} autoFocus>
                Keep it
              </button>
            </div>
          ) : (
            <button type="button" className="danger" onClick={() => setConfirming(true)} data-testid="segmentation-delete">
              Delete segmentation
            </button>
          )}
          <ActionFeedback action={action} errorTestId="segmentation-delete-error" noticeTestId="segmentation-delete-notice" />
        </section>
      )}
    </section>
  );
}
