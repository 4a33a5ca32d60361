import type { ExportJob } from '../api/exportTypes';

/**
 * Series at risk of burned-in text (ultrasound, secondary captures, BurnedInAnnotation = YES), each
 * saying whether the bundle leaves it out or carries it, and why it was flagged.
 */
export function ExportFlaggedSeries({ job }: { job: ExportJob }) {
  const flagged = job.flaggedSeries;
  // The series are checked before the first instance is written; until then there is nothing to say.
  const checked = job.status !== 'running' || job.progress.instancesTotal > 0;
  return (
    <section className="panel" aria-labelledby="export-flagged-heading" data-testid="export-flagged">
      <h2 id="export-flagged-heading">Series that may show burned-in text</h2>
      {flagged.length === 0 ? (
        <p className="muted" data-testid="export-flagged-none">
          {checked ? 'None: no series of this export was flagged.' : 'The series are being checked…'}
        </p>
      ) : (
        <>
          <p className="hint muted">
            {job.options.deidentify
              ? job.options.includeBurnedIn
                ? 'Included on request: check these images for names or dates in the pixels before the data leaves.'
                : 'Left out of this de-identified export: de-identifying the attributes cannot remove text in the pixels.'
              : 'This export is identified, so these series are part of it.'}
          </p>
          <ul className="plain-list export-flagged-list" data-testid="export-flagged-list">
            {flagged.map((series) => (
              <li key={series.seriesInstanceUid} data-series-uid={series.seriesInstanceUid} data-excluded={series.excluded}>
                <span className={`badge ${series.excluded ? 'muted' : 'warn'}`} data-testid="export-flagged-badge">
                  {series.excluded ? 'excluded' : 'included'}
                </span>{' '}
                <span>{series.reason}</span>
                <div className="mono muted small-text wrap-anywhere">{series.seriesInstanceUid}</div>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
