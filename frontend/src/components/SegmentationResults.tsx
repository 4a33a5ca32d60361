import { Link } from 'react-router-dom';
import type { SegmentationResult, SeriesSummary } from '../api/types';
import { formatDateTime } from '../lib/format';
import { thumbnailAlt } from '../lib/patients';
import { reportPath, resultPath, segmentCount } from '../lib/segmentation';
import { DataTable } from './DataTable';
import { ValidationBadge } from './ValidationBadge';

/** The segmentation results of one study, newest first, each linking to its page and report. */
export function SegmentationResults({ results, series }: { results: SegmentationResult[]; series: SeriesSummary[] }) {
  if (results.length === 0) {
    return (
      <p className="muted" data-testid="segmentation-results-empty">
        No segmentation results for this study.
      </p>
    );
  }
  const sourceName = (uid: string) => {
    const source = series.find((s) => s.seriesInstanceUid === uid);
    return source ? thumbnailAlt(source) : '—';
  };
  return (
    <DataTable testId="segmentation-results" columns={['Model', 'Created', 'Source series', 'Validation', 'Segments']} actions compact>
      {results.map((result) => (
        <tr key={result.id} data-testid="segmentation-result-row" data-result-id={result.id}>
          <td>
            <Link to={resultPath(result.id)} data-testid="segmentation-result-link">
              {result.model}
            </Link>{' '}
            <span className="muted small-text">{result.modelVersion}</span>
          </td>
          <td className="number">{formatDateTime(result.createdAt)}</td>
          <td className="wrap-anywhere">{sourceName(result.sourceSeriesUid)}</td>
          <td>
            <ValidationBadge status={result.validation.status} />
          </td>
          <td>{segmentCount(result)}</td>
          <td className="actions">
            <Link className="button-link small" to={reportPath(result.id)} data-testid="segmentation-report-link">
              Report<span className="visually-hidden"> of {result.model}, {formatDateTime(result.createdAt)}</span>
            </Link>
          </td>
        </tr>
      ))}
    </DataTable>
  );
}
