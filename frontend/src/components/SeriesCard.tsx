import { useState } from 'react';
import type { SeriesSummary } from '../api/types';
import { thumbnailAlt } from '../lib/patients';

/** A tick box on the card choosing the series as model input; `reason` says why it cannot be chosen. */
export type SeriesSelection = { checked: boolean; reason: string | null; disabled?: boolean; onChange: (checked: boolean) => void };

/**
 * One series: its thumbnail (a placeholder when it has none, e.g. SEG or SR), and what it is;
 * with `selection`, a box to choose it for segmentation.
 */
export function SeriesCard({ series, selection }: { series: SeriesSummary; selection?: SeriesSelection }) {
  const [failed, setFailed] = useState(false);
  const alt = thumbnailAlt(series);
  const checkId = `select-${series.seriesInstanceUid}`;
  return (
    <li className={selection?.checked ? 'series-card selected' : 'series-card'} data-series-uid={series.seriesInstanceUid} data-modality={series.modality} data-testid="series-card">
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
        {selection &&
          (selection.reason ? (
            <div className="muted small-text series-select" data-testid="series-not-selectable">
              {selection.reason}
            </div>
          ) : (
            <label className="check series-select" htmlFor={checkId}>
              <input
                id={checkId}
                type="checkbox"
                checked={selection.checked}
                disabled={selection.disabled && !selection.checked}
                onChange={(event) => selection.onChange(event.target.checked)}
                data-testid="series-select"
              />
              Use for segmentation<span className="visually-hidden"> ({alt})</span>
            </label>
          ))}
      </div>
    </li>
  );
}
