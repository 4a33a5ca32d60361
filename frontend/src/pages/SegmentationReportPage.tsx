import { Link, useParams } from 'react-router-dom';
import { getKeySlices, getResult } from '../api/segmentation';
import type { KeySlice, Segment } from '../api/types';
import { useLoad } from '../api/useLoad';
import { LoadStatus } from '../components/DataTable';
import { LoadError } from '../components/Feedback';
import { SegmentTable } from '../components/SegmentTable';
import { ValidationBadge } from '../components/ValidationBadge';
import { ValidationRecord } from '../components/ValidationBox';
import { VolumeChart } from '../components/VolumeChart';
import { formatDateTime, formatPersonName, formatStudyDate } from '../lib/format';
import { resultPath, rgbCss, sliceCaption } from '../lib/segmentation';

/**
 * A printable report of one segmentation: who and what, the segments and their volumes, the
 * volumes over time, a key slice per segment, and the validation. The print stylesheet drops
 * the navigation and fits it to A4.
 */
export function SegmentationReportPage() {
  const { id = '' } = useParams();
  const loaded = useLoad((signal) => getResult(id, signal), [id], 'This segmentation could not be loaded.');
  const slices = useLoad((signal) => getKeySlices(id, signal), [id], 'The key slices could not be loaded.');
  const data = loaded.data?.result.id === id ? loaded.data : null;

  if (!data) {
    return (
      <section>
        <h1>Segmentation report</h1>
        <LoadError message={loaded.error} testId="report-error" />
        {!loaded.error && <p className="muted">Loading…</p>}
      </section>
    );
  }

  const { result, history } = data;
  const facts: [string, string][] = [
    ['Patient', formatPersonName(result.patient.patientName)],
    ['Patient ID', result.patient.patientId || '—'],
    ['Study date', formatStudyDate(result.studyDate)],
    ['Study', result.studyDescription || '—'],
    ['Model', result.model],
    ['Model version', result.modelVersion || '—'],
    ['Segmented', formatDateTime(result.createdAt)],
  ];

  return (
    <article className="report" data-testid="segmentation-report" aria-labelledby="report-title">
      <div className="report-toolbar no-print">
        <Link to={resultPath(result.id)}>← Back to the segmentation</Link>
        <button type="button" onClick={() => window.print()} data-testid="report-print">
          Print / Save as PDF
        </button>
      </div>
      <header className="report-header">
        <div>
          <h1 id="report-title">Segmentation report</h1>
          <p className="muted small-text">Preview-DICOM · printed {formatDateTime(new Date().toISOString())}</p>
        </div>
        <ValidationBadge status={result.validation.status} testId="report-validation-status" />
      </header>
      <dl className="report-facts" data-testid="report-facts">
        {facts.map(([term, value]) => (
          <div key={term}>
            <dt>{term}</dt>
            <dd>{value}</dd>
          </div>
        ))}
        <div className="wide">
          <dt>Study Instance UID</dt>
          <dd className="mono wrap-anywhere">{result.studyInstanceUid}</dd>
        </div>
      </dl>

      <section className="report-section" aria-labelledby="report-segments">
        <h2 id="report-segments">Segments and volumes</h2>
        <SegmentTable segments={result.segments} />
      </section>

      <section className="report-section" aria-labelledby="report-history">
        <h2 id="report-history">Volume over time</h2>
        <VolumeChart history={history} segments={result.segments} currentResultId={result.id} />
      </section>

      <section className="report-section" aria-labelledby="report-slices">
        <h2 id="report-slices">Key slices</h2>
        <p className="muted small-text">For each segment, the slice where it is largest, with the segment laid over the image at half opacity.</p>
        <LoadStatus state={slices} isEmpty={slices.data?.length === 0} empty="No key slices: no segment has any voxels." errorTestId="key-slices-error" />
        {slices.data && slices.data.length > 0 && (
          <div className="key-slices" data-testid="key-slices">
            {slices.data.map((slice) => (
              <KeySliceFigure key={slice.segmentNumber} slice={slice} segment={result.segments.find((s) => s.number === slice.segmentNumber)} />
            ))}
          </div>
        )}
      </section>

      <section className="report-section" aria-labelledby="report-validation">
        <h2 id="report-validation">Validation</h2>
        <ValidationRecord validation={result.validation} />
      </section>

      <footer className="report-footer muted small-text">
        Volumes are the segment's voxel count times the voxel volume of the source series. The segmentation is stored in the archive as a DICOM SEG
        series of the study.
      </footer>
    </article>
  );
}

function KeySliceFigure({ slice, segment }: { slice: KeySlice; segment: Segment | undefined }) {
  const caption = sliceCaption(slice.label, slice.sliceIndex);
  return (
    <figure className="key-slice" data-testid="key-slice" data-segment={slice.segmentNumber}>
      <div className="key-slice-stack">
        <img src={slice.imageUrl} alt={`Source image at ${caption}`} decoding="async" />
        <img src={slice.maskUrl} alt={`${slice.label} mask over it`} className="key-slice-mask" decoding="async" data-testid="key-slice-mask" />
      </div>
      <figcaption>
        {segment && <span className="swatch" style={{ backgroundColor: rgbCss(segment.color) }} aria-hidden="true" />}
        {caption}
      </figcaption>
    </figure>
  );
}
