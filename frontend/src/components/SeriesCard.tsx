import { useState } from 'react';
import type { SeriesSummary } from '../api/types';
import { thumbnailAlt } from '../lib/patients';

/** One series: its thumbnail (a placeholder when it has none, e.g. SEG or SR), and what it is. */
export function SeriesCard({ series }: { series: SeriesSummary }) {
  const [failed, setFailed] = useState(false);
  const alt = thumbnailAlt(series);
  return (
    <li className="series-card" data-series-uid={series.seriesInstanceUid} data-testid="series-card">
      <div className="thumbnail">
        {failed || !series.thumbnailUrl ? (
          <div className="thumbnail-placeholder" role="img" aria-label={`${alt} (no preview)`} data-testid="series-thumbnail-placeholder">
            <span aria-hidden="true">{series.modality || '?'}</span>
          </div>
        ) : (
          <img src={series.thumbnailUrl} alt={alt} loading="lazy" decoding="async" width={160} height={160} onError={() => setFailed(true)} data-testid="series-thumbnail" />
        )}
      </div>
      <div className="series-meta">
        <div className="series-title">
          <span className="badge muted">{series.modality || '—'}</span>
          {series.seriesNumber !== null && <span className="muted"> #{series.seriesNumber}</span>}
        </div>
        <div className="wrap-anywhere">{series.seriesDescription || <span className="muted">No description</span>}</div>
        <div className="muted small-text">
          {series.instanceCount} instance{series.instanceCount === 1 ? '' : 's'}
        </div>
      </div>
    </li>
  );
}
