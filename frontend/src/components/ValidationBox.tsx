import { useRef, useState } from 'react';
import { validateResult } from '../api/segmentation';
import type { SegmentationDetail, SegmentationResult } from '../api/types';
import { useAction } from '../api/useAction';
import { formatDateTime } from '../lib/format';
import { validationBody, validationNotice, validationProblem, type ValidationDecision } from '../lib/segmentation';
import { ActionFeedback } from './Feedback';
import { ValidationBadge } from './ValidationBadge';

/** Who validated a result, when, and what they said; "not reviewed yet" while pending. */
export function ValidationRecord({ validation }: { validation: SegmentationResult['validation'] }) {
  if (validation.status === 'pending') {
    return (
      <p className="muted" data-testid="validation-record">
        Not reviewed yet.
      </p>
    );
  }
  return (
    <div data-testid="validation-record">
      <p>
        <ValidationBadge status={validation.status} testId="validation-record-status" />{' '}
        {validation.by ? (
          <>
            by <strong data-testid="validation-by">{validation.by}</strong>
          </>
        ) : (
          'by a user no longer known'
        )}
        {validation.at ? `, ${formatDateTime(validation.at)}` : ''}
      </p>
      {validation.comment && (
        <blockquote className="validation-comment" data-testid="validation-comment-text">
          {validation.comment}
        </blockquote>
      )}
    </div>
  );
}

/**
 * Approve or reject a segmentation (radiologists and admins). Rejecting needs a comment; it is
 * checked here before the server is asked, and the server checks again.
 */
export function ValidationForm({ result, onValidated }: { result: SegmentationResult; onValidated: (detail: SegmentationDetail) => void }) {
  const action = useAction();
  const [comment, setComment] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const box = useRef<HTMLTextAreaElement>(null);
  const commentId = `validation-comment-${result.id}`;
  const problemId = `${commentId}-problem`;

  const decide = (decision: ValidationDecision) => {
    const found = validationProblem(decision, comment);
    setProblem(found);
    if (found) {
      box.current?.focus();
      return;
    }
    void action.run(async () => {
      onValidated(await validateResult(result.id, validationBody(decision, comment)));
      setComment('');
      return validationNotice(decision);
    }, 'The decision could not be saved.');
  };

  return (
    <form className="form-stack validation-form" onSubmit={(event) => event.preventDefault()} aria-label="Approve or reject this segmentation" data-testid="validation-form">
      <div className="field">
        <label htmlFor={commentId}>
          Comment <span className="muted">(required to reject)</span>
        </label>
        <textarea
          id={commentId}
          ref={box}
          rows={3}
          maxLength={2000}
          value={comment}
          onChange={(event) => {
            setComment(event.target.value);
            if (problem) setProblem(null);
          }}
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? problemId : undefined}
          data-testid="validation-comment"
        />
        {problem && (
          <span className="field-problem" id={problemId} role="alert" data-testid="validation-problem">
            {problem}
          </span>
        )}
      </div>
      <div className="button-row">
        <button type="button" disabled={action.busy} onClick={() => decide('approved')} data-testid="validation-approve">
          Approve
        </button>
        <button type="button" className="danger" disabled={action.busy} onClick={() => decide('rejected')} data-testid="validation-reject">
          Reject
        </button>
      </div>
      <ActionFeedback action={action} errorTestId="validation-error" noticeTestId="validation-notice" />
    </form>
  );
}
