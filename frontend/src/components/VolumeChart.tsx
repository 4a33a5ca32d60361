import type { Segment, VolumeHistory } from '../api/types';
import { chartSummary, fallbackPalette, volumeChart } from '../lib/chart';
import { formatStudyDate } from '../lib/format';
import { formatVolume, rgbCss, validationBadge } from '../lib/segmentation';

const dateText = (date: string) => (date ? formatStudyDate(date) : 'No date');

/**
 * Each segment's volume across the patient's studies (same model), one line per label in the
 * segment's colour, drawn as inline SVG. The same numbers follow in a table for screen readers.
 */
export function VolumeChart({ history, segments, currentResultId }: { history: VolumeHistory; segments: Segment[]; currentResultId: string }) {
  if (history.length === 0 || history.every((series) => series.points.length === 0)) {
    return (
      <p className="muted" data-testid="volume-chart-empty">
        No volumes to compare: this patient has no other result of this model (or the study has no patient record).
      </p>
    );
  }
  const colorOf = (label: string, index: number) => {
    const segment = segments.find((s) => s.label === label);
    return segment ? rgbCss(segment.color) : fallbackPalette[index % fallbackPalette.length]!;
  };
  const chart = volumeChart(history, { colorOf, currentResultId, formatDate: dateText });
  const { box } = chart;
  const single = chart.rows.length === 1;
  return (
    <figure className="volume-chart" data-testid="volume-chart">
      <svg
        viewBox={`0 0 ${box.width} ${box.height}`}
        role="img"
        aria-label={chartSummary(history, dateText)}
        className="chart-svg"
        preserveAspectRatio="xMidYMid meet"
        data-points={chart.lines.reduce((sum, line) => sum + line.points.length, 0)}
      >
        <g className="chart-grid" aria-hidden="true">
          {chart.yTicks.map((tick) => (
            <g key={tick.value}>
              <line x1={box.left} x2={box.right} y1={tick.y} y2={tick.y} className={tick.value === 0 ? 'chart-axis' : 'chart-gridline'} />
              <text x={box.left - 8} y={tick.y} dy="0.32em" textAnchor="end" className="chart-tick">
                {tick.label}
              </text>
            </g>
          ))}
          <text x={14} y={(box.top + box.bottom) / 2} transform={`rotate(-90 14 ${(box.top + box.bottom) / 2})`} textAnchor="middle" className="chart-axis-title">
            cm³
          </text>
          <line x1={box.left} x2={box.left} y1={box.top} y2={box.bottom} className="chart-axis" />
          {chart.xTicks.map((tick) => (
            <g key={tick.x}>
              <line x1={tick.x} x2={tick.x} y1={box.bottom} y2={box.bottom + 5} className="chart-axis" />
              <text x={tick.x} y={box.bottom + 20} textAnchor="middle" className="chart-tick">
                {tick.label}
              </text>
            </g>
          ))}
        </g>
        {chart.lines.map((line) => (
          <g key={line.label} data-label={line.label} aria-hidden="true">
            {line.points.length > 1 && <path d={line.path} fill="none" stroke={line.color} strokeWidth={2.5} strokeLinejoin="round" strokeLinecap="round" />}
            {line.points.map((point) => (
              <circle
                key={point.resultId}
                cx={point.x}
                cy={point.y}
                r={point.current || single ? 5.5 : 4}
                fill={line.color}
                stroke={point.current ? '#1c2330' : '#fff'}
                strokeWidth={point.current ? 2 : 1.5}
              >
                <title>{point.title}</title>
              </circle>
            ))}
          </g>
        ))}
      </svg>
      <figcaption className="chart-caption">
        <ul className="chart-legend" aria-label="Segments">
          {chart.lines.map((line) => (
            <li key={line.label}>
              <span className="swatch" style={{ backgroundColor: line.color }} aria-hidden="true" />
              {line.label}
            </li>
          ))}
        </ul>
        <span className="muted small-text">
          {single ? 'One study so far: later results of this model for the patient will extend the lines.' : 'The ringed points are this result.'}
          {!chart.timeScale && ' Some studies have no date: results are evenly spaced.'}
        </span>
      </figcaption>
      <table className="visually-hidden" data-testid="volume-chart-table">
        <caption>Segment volumes by study date (cm³)</caption>
        <thead>
          <tr>
            <th scope="col">Study date</th>
            {history.map((series) => (
              <th scope="col" key={series.label}>
                {series.label}
              </th>
            ))}
            <th scope="col">Validation</th>
          </tr>
        </thead>
        <tbody>
          {chart.rows.map((row) => (
            <tr key={row.resultId}>
              <th scope="row">
                {dateText(row.studyDate)}
                {row.resultId === currentResultId ? ' (this result)' : ''}
              </th>
              {row.volumes.map((volume, index) => (
                <td key={history[index]!.label}>{volume === null ? '—' : formatVolume(volume)}</td>
              ))}
              <td>{validationBadge(row.validationStatus).label}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
