import type { Segment } from '../api/types';
import { formatVolume, formatVoxels, rgbCss } from '../lib/segmentation';
import { DataTable } from './DataTable';

/** The segments of a result: colour, label, volume (cm³, two decimals) and voxel count. */
export function SegmentTable({ segments }: { segments: Segment[] }) {
  if (segments.length === 0) return <p className="muted">This segmentation has no segments.</p>;
  return (
    <DataTable testId="segment-volume-table" columns={['Colour', 'Segment', 'Volume', 'Voxels']} compact>
      {segments.map((segment) => (
        <tr key={segment.number} data-testid="segment-row" data-label={segment.label} data-volume-cm3={segment.volumeCm3}>
          <td>
            <span className="swatch" style={{ backgroundColor: rgbCss(segment.color) }} role="img" aria-label={`Colour ${rgbCss(segment.color)}`} />
          </td>
          <th scope="row" data-testid="segment-label">
            {segment.label}
          </th>
          <td className="number" data-testid="segment-volume">
            {formatVolume(segment.volumeCm3)}
          </td>
          <td className="number">{formatVoxels(segment.voxelCount)}</td>
        </tr>
      ))}
    </DataTable>
  );
}
