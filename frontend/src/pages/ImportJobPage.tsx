import { Link, useParams, useSearchParams } from 'react-router-dom';
import { cancelUpload, finishImportJob, isUploading, useUploadRun, type UploadRun } from '../api/importSession';
import type { ImportJob } from '../api/types';
import { useAction } from '../api/useAction';
import { useImportJob } from '../api/useImportJob';
import { ActionFeedback, ErrorText, LoadError } from '../components/Feedback';
import { ImportFileResults } from '../components/ImportFileResults';
import { formatDateTime, formatPersonName } from '../lib/format';
import { pageFromParam } from '../lib/forms';
import { counterItems, formatBytes, importStatusBadge, isActiveImport, newerJob, outcomeFilter, progressPercent, type OutcomeFilter } from '../lib/imports';
import { patientPath } from '../lib/patients';
import { viewerHref } from '../lib/studies';

export function ImportJobPage() {
  const { id = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const loaded = useImportJob(id);
  const run = useUploadRun();
  const action = useAction();
  // The upload this tab runs for this job, if any: it alone knows the bytes sent.
  const mine = run?.jobId === id ? run : null;
  const fetched = loaded.data?.id === id ? loaded.data : null;
  const job = mine?.job ? newerJob(fetched, mine.job) : fetched;
  const uploading = isUploading(mine);

  const cancel = () =>
    void action.run(async () => {
      const cancelled = await cancelUpload(id);
      loaded.setData((current) => newerJob(current, cancelled));
      return 'The import was cancelled. What was stored before stays stored.';
    }, 'The import could not be cancelled.');

  const finish = () =>
    void action.run(async () => {
      const finished = await finishImportJob(id);
      loaded.setData((current) => newerJob(current, finished));
      return 'The import is finished with the files it received.';
    }, 'The import could not be finished.');

  const onFiles = (outcome: OutcomeFilter, page: number) => {
    const next: Record<string, string> = { outcome };
    if (page > 1) next.page = String(page);
    setParams(next, { replace: false });
  };

  if (!job) {
    return (
      <section>
        <h1>Import</h1>
        <LoadError message={loaded.error} testId="import-load-error" />
        {!loaded.error && <p className="muted">Loading…</p>}
        <p>
          <Link to="/import">Back to Import</Link>
        </p>
      </section>
    );
  }

  const badge = importStatusBadge(job.status);
  const active = isActiveImport(job.status);
  // Left open by an upload that is no longer running (a reload, another tab, a failed batch).
  const stranded = job.status === 'open' && !uploading;

  return (
    <section data-testid="import-job" data-status={job.status}>
      <div className="page-header">
        <h1>
          Import <span className={`badge ${badge.tone}`} data-testid="import-status">{badge.label}</span>
        </h1>
        <Link className="button-link" to="/import">
          Import more files
        </Link>
      </div>
      <p className="muted">
        {job.label ? <>{job.label} · </> : null}
        Into <strong>{job.ownerGroup.name}</strong>, started {formatDateTime(job.createdAt)}
        {job.createdBy.email ? ` by ${job.createdBy.email}` : ''}
        {job.finishedAt ? `, ended ${formatDateTime(job.finishedAt)}` : ''}.
      </p>

      <div className="panel" aria-labelledby="import-progress-heading">
        <h2 id="import-progress-heading">Progress</h2>
        {mine && <UploadProgressBar run={mine} />}
        <Counters job={job} live={active ? loaded.live : null} />
        {mine?.error && <ErrorText message={mine.error} testId="import-upload-error" />}
        {stranded && (
          <p className="notice-inline" data-testid="import-stranded">
            This import is still waiting for files, but no upload is running for it
            {mine ? '' : ': uploads cannot continue after the page is reloaded or left'}. Finish it to keep what was stored and see the
            results, or cancel it.
          </p>
        )}
        {job.status === 'processing' && !uploading && <p className="muted">The server is still reading the files it received.</p>}
        <ActionFeedback action={action} errorTestId="import-action-error" noticeTestId="import-action-notice" />
        {active && (
          <div className="button-row">
            {stranded && (
              <button type="button" onClick={finish} disabled={action.busy} data-testid="import-finish">
                Finish import
              </button>
            )}
            <button type="button" className="danger" onClick={cancel} disabled={action.busy || mine?.phase === 'cancelling'} data-testid="import-cancel">
              Cancel import
            </button>
          </div>
        )}
      </div>

      {!active && <Summary job={job} />}

      {(!active || stranded) && (
        <section className="panel" aria-labelledby="import-files-heading">
          <h2 id="import-files-heading">Files</h2>
          <ImportFileResults job={job} outcome={outcomeFilter(params.get('outcome'), job.counters)} page={pageFromParam(params.get('page'))} onChange={onFiles} />
        </section>
      )}
    </section>
  );
}

const phaseText: Record<UploadRun['phase'], string> = {
  starting: 'Starting…',
  uploading: 'Sending files',
  finishing: 'All files sent; finishing the import…',
  done: 'All files sent.',
  cancelling: 'Cancelling…',
  cancelled: 'Upload stopped.',
  failed: 'Upload stopped by an error.',
};

function UploadProgressBar({ run }: { run: UploadRun }) {
  const { sentBytes, totalBytes, batch, batches } = run.progress;
  const percent = progressPercent(sentBytes, totalBytes);
  const sent = `${formatBytes(sentBytes)} of ${formatBytes(totalBytes)} sent`;
  return (
    <div className="upload-progress">
      <div
        className="progress"
        role="progressbar"
        aria-label="Upload progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={`${percent}%: ${sent}`}
        data-testid="import-progress"
        data-phase={run.phase}
      >
        <div className={run.phase === 'failed' ? 'progress-fill bad' : 'progress-fill'} style={{ width: `${percent}%` }} />
      </div>
      <p className="muted small-text" data-testid="import-progress-text">
        {phaseText[run.phase]}
        {run.phase === 'uploading' && batches > 1 ? ` (request ${Math.max(batch, 1)} of ${batches})` : ''} · {percent}% · {sent}
      </p>
    </div>
  );
}

function Counters({ job, live }: { job: ImportJob; live: string | null }) {
  return (
    <>
      <dl className="counters" data-testid="import-counters">
        {counterItems(job.counters).map((counter) => (
          <div key={counter.name} className={`counter ${counter.tone}`}>
            <dt>{counter.label}</dt>
            <dd data-testid={`import-counter-${counter.name}`}>{counter.value}</dd>
          </div>
        ))}
      </dl>
      <p className="muted small-text" data-testid="import-live">
        {formatBytes(job.counters.bytesReceived)} received by the server
        {live === 'events' ? ' · updating live' : live === 'polling' ? ' · updating every second' : ''}
      </p>
    </>
  );
}

function Summary({ job }: { job: ImportJob }) {
  const badge = importStatusBadge(job.status);
  return (
    <section className="panel" aria-labelledby="import-summary-heading" data-testid="import-summary">
      <h2 id="import-summary-heading">Summary</h2>
      <p>
        <span className={`badge ${badge.tone}`}>{badge.label}</span> {job.counters.instancesStored} instance{job.counters.instancesStored === 1 ? '' : 's'} stored
        {job.counters.duplicates ? `, ${job.counters.duplicates} already stored before` : ''}
        {job.counters.rejected ? `, ${job.counters.rejected} rejected` : ''}
        {job.counters.skipped ? `, ${job.counters.skipped} skipped` : ''}.
      </p>
      {job.error && (
        <p className="form-error" data-testid="import-job-error">
          {job.error}
        </p>
      )}
      {job.warnings.length > 0 && (
        <div className="warnings" data-testid="import-warnings">
          <h3>Warnings</h3>
          <ul>
            {job.warnings.map((warning, index) => (
              <li key={index}>{warning}</li>
            ))}
          </ul>
        </div>
      )}
      <h3>Studies</h3>
      {job.studies.length === 0 ? (
        <p className="muted">No study received new or existing instances.</p>
      ) : (
        <ul className="plain-list study-list" data-testid="import-studies">
          {job.studies.map((study) => {
            const name = formatPersonName(study.patientName);
            return (
              <li key={study.studyInstanceUid} data-study-uid={study.studyInstanceUid}>
                <span>
                  {study.patientKey ? (
                    <Link to={patientPath(study.patientKey)} data-testid="import-patient-link">
                      {name}
                    </Link>
                  ) : (
                    <strong>{name}</strong>
                  )}
                  {study.patientId && <span className="muted"> · ID {study.patientId}</span>}
                  <span> · {study.studyDescription || <span className="muted">No description</span>}</span>
                </span>
                <a className="button-link" href={viewerHref(study.studyInstanceUid)}>
                  Open in viewer<span className="visually-hidden"> ({name})</span>
                </a>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
