import { validationBadge } from '../lib/segmentation';

/** Where a segmentation stands with the radiologists: pending review, approved or rejected. */
export function ValidationBadge({ status, testId = 'validation-status' }: { status: string; testId?: string }) {
  const badge = validationBadge(status);
  return (
    <span className={`badge ${badge.tone}`} data-testid={testId} data-status={status}>
      {badge.label}
    </span>
  );
}
