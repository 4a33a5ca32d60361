import { useEffect, useState, type MouseEvent } from 'react';
import { Link, useParams } from 'react-router-dom';
import { apiFetch, ensureFreshSession, messageOf } from '../api/client';
import type { ExportJob } from '../api/exportTypes';
import { useAction } from '../api/useAction';
import { useLoad, type Loaded } from '../api/useLoad';
import { useSession } from '../auth/session';
import { ExportFlaggedSeries } from '../components/ExportFlaggedSeries';
import { ActionFeedback, ErrorText, LoadError } from '../components/Feedback';
import {
  deidOptionLabel,
  downloadState,
  exportApiPath,
  exportCounterItems,
  exportPercent,
  exportStatusBadge,
  formatBytes,
  formatLabel,
  isActiveExport,
  newerExport,
} from '../lib/exports';
import { formatDateTime } from '../lib/format';
import '../exports.css';

const POLL_MS = 1000;

/**
 * One export, asked for again every second while it runs. It needs only the id, so a reload (or
 * another tab) picks the job up where it is.
 */
function useExportJob(id: string): Loaded<ExportJob> {
  const path = exportApiPath(id);
  const loaded = useLoad((signal) => apiFetch<{ export: ExportJob }>(path, { signal }).then((body) => body.export), [path], 'The export could not be loaded.');
  const { setData } = loaded;
  const running = loaded.data?.id === id && isActiveExport(loaded.data.status);

  useEffect(() => {
    if (!running) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const job = (await apiFetch<{ export: ExportJob }>(path, { signal: controller.signal })).export;
        if (controller.signal.aborted) return;
        setData((current) => newerExport(current, job));
      } catch (error) {
        if (controller.signal.aborted) return;
        // A passing failure: the next tick tries again; the last report stays on screen.
        console.warn('export poll failed', error);
      }
      if (!controller.signal.aborted) timer = setTimeout(() => void poll(), POLL_MS);
    };
    timer = setTimeout(() => void poll(), POLL_MS);
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [path, running, setData]);

  return loaded;
}

export function ExportJobPage() {
  const { id = '' } = useParams();
  const { user } = useSession();
  const loaded = useExportJob(id);
  const action = useAction();
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const job = loaded.data?.id === id ? loaded.data : null;

  if (!job) {
    return (
      <section>
        <h1>Export</h1>
        <LoadError message={loaded.error} testId="export-load-error" />
        {!loaded.error && <p className="muted">Loading…</p>}
        <p>
          <Link to="/exports">Back to Export</Link>
        </p>
      </section>
    );
  }

  const cancel = () =>
    void action.run(async () => {
      const cancelled = (await apiFetch<{ export: ExportJob }>(`${exportApiPath(id)}/cancel`, { method: 'POST' })).export;
      loaded.setData((current) => newerExport(current, cancelled));
      return 'The export was cancelled. No bundle is kept.';
    }, 'The export could not be cancelled.');

  const badge = exportStatusBadge(job.status);
  const running = isActiveExport(job.status);
  const percent = exportPercent(job);
  const { progress, options } = job;
  const download = downloadState(job, user?.email);

  // A plain link cannot renew an expired sign-in, so renew first, then let the browser download.
  const onDownload = async (event: MouseEvent<HTMLAnchorElement>, href: string) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    setDownloadError(null);
    try {
      await ensureFreshSession();
      window.location.assign(href);
    } catch (caught) {
      setDownloadError(messageOf(caught, 'The bundle could not be downloaded.'));
    }
  };

  return (
    <section data-testid="export-job" data-status={job.status}>
      <div className="page-header">
        <h1>
          Export{' '}
          <span className={`badge ${badge.tone}`} data-testid="export-status">
            {badge.label}
          </span>
        </h1>
        <Link className="button-link" to="/exports">
          New export
        </Link>
      </div>
      <p className="muted">
        Started {formatDateTime(job.createdAt)} by {job.createdBy}
        {job.finishedAt ? `, ended ${formatDateTime(job.finishedAt)}` : ''}.
      </p>

      <dl className="facts export-facts" data-testid="export-facts">
        <div>
          <dt>Recipient</dt>
          <dd data-testid="export-recipient-value">{job.recipient}</dd>
        </div>
        <div className="export-fact-wide">
          <dt>Purpose</dt>
          <dd className="wrap-anywhere">{job.purpose}</dd>
        </div>
        <div>
          <dt>Studies</dt>
          <dd>{job.studyCount}</dd>
        </div>
        <div>
          <dt>Format</dt>
          <dd>{formatLabel(options.format)}</dd>
        </div>
        <div>
          <dt>Identity</dt>
          <dd data-testid="export-identity-value">
            {options.deidentify ? 'De-identified' : 'Identified'}
            {options.deidentify && options.deidOptions.length > 0 && <span className="muted"> · {options.deidOptions.map(deidOptionLabel).join('; ')}</span>}
          </dd>
        </div>
      </dl>

      <div className="panel" aria-labelledby="export-progress-heading">
        <h2 id="export-progress-heading">Progress</h2>
        <div
          className="progress"
          role="progressbar"
          aria-label="Export progress"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={percent}
          aria-valuetext={`${percent}%: ${progress.instancesDone} of ${progress.instancesTotal} instances`}
          data-testid="export-progress"
          data-status={job.status}
        >
          <div className={job.status === 'failed' ? 'progress-fill bad' : job.status === 'cancelled' ? 'progress-fill export-stopped' : 'progress-fill'} style={{ width: `${percent}%` }} />
        </div>
        <p className="muted small-text export-progress-text" data-testid="export-progress-text">
          {percent}%{running ? (progress.instancesTotal > 0 ? ' · writing the bundle, updating every second' : ' · choosing the series, updating every second') : ''}
        </p>
        <dl className="counters" data-testid="export-counters">
          {exportCounterItems(progress).map((counter) => (
            <div key={counter.name} className="counter">
              <dt>{counter.label}</dt>
              <dd data-testid={`export-counter-${counter.name}`}>{counter.value}</dd>
            </div>
          ))}
        </dl>
        <ActionFeedback action={action} errorTestId="export-action-error" noticeTestId="export-action-notice" />
        {running && (
          <div className="button-row">
            <button type="button" className="danger" onClick={cancel} disabled={action.busy} data-testid="export-cancel">
              Cancel export
            </button>
          </div>
        )}
      </div>

      {job.status === 'completed' && (
        <section className="panel export-result" aria-labelledby="export-result-heading" data-testid="export-result">
          <h2 id="export-result-heading">Bundle</h2>
          {download.kind === 'ready' && (
            <>
              <p>
                <a className="button-link export-download" href={download.href} download data-testid="export-download" onClick={(event) => void onDownload(event, download.href)}>
                  Download
                </a>{' '}
                <span className="muted">
                  ZIP, {formatBytes(progress.bytesWritten)} ·{' '}
                  <span data-testid="export-expiry">{download.expiresAt ? `available until ${formatDateTime(download.expiresAt)}` : 'available'}</span>
                </span>
              </p>
              <p className="hint muted">Only you can download it. It holds a manifest.json listing every file with its SHA-256.</p>
            </>
          )}
          {download.kind === 'expired' && (
            <p className="muted" data-testid="export-expired">
              This bundle has expired{job.expiresAt ? ` (${formatDateTime(job.expiresAt)})` : ''} and was deleted. Start the export again to get a new one.
            </p>
          )}
          {download.kind === 'not-yours' && (
            <p className="muted" data-testid="export-not-yours">
              Only {download.createdBy}, who started this export, can download it.
            </p>
          )}
          <ErrorText message={downloadError} testId="export-download-error" />
        </section>
      )}
      {job.status === 'failed' && (
        <section className="panel" aria-labelledby="export-failed-heading">
          <h2 id="export-failed-heading">Failed</h2>
          <p className="form-error" data-testid="export-job-error">
            {job.error ?? 'The export failed.'}
          </p>
          <p className="muted">No partial bundle is kept.</p>
        </section>
      )}
      {job.status === 'cancelled' && (
        <p className="muted" data-testid="export-cancelled">
          This export was cancelled; no bundle is kept.
        </p>
      )}

      <ExportFlaggedSeries job={job} />
    </section>
  );
}
