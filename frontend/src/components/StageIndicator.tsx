import type { InferenceJob } from '../api/types';
import { jobSummary, stageSteps, type StepState } from '../lib/segmentation';

const marks: Record<StepState, string> = { complete: '✓', active: '●', pending: '', failed: '✕', cancelled: '■' };
const spoken: Record<StepState, string> = { complete: 'done', active: 'in progress', pending: 'not yet', failed: 'failed here', cancelled: 'cancelled here' };

/**
 * A job's six stages as numbered steps, the current one highlighted; failed and cancelled jobs
 * show where they stopped and why.
 */
export function StageIndicator({ job }: { job: InferenceJob }) {
  const steps = stageSteps(job);
  const summary = jobSummary(job);
  const stopped = job.status === 'failed' || job.status === 'cancelled';
  return (
    <div className="stage-indicator" data-testid="stage-indicator" data-stage={job.stage} data-status={job.status}>
      <ol className="stage-steps" aria-label={`Stages: ${summary}`}>
        {steps.map((step, index) => (
          <li key={step.stage} className={`stage-step ${step.state}`} aria-current={step.current ? 'step' : undefined} data-state={step.state}>
            <span className="stage-mark" aria-hidden="true">
              {marks[step.state] || index + 1}
            </span>
            <span className="stage-label">
              {step.label}
              <span className="visually-hidden"> ({spoken[step.state]})</span>
            </span>
          </li>
        ))}
      </ol>
      <p className={stopped ? 'stage-summary bad-text' : 'stage-summary muted'} data-testid="stage-summary">
        {summary}
        {job.error && (
          <>
            {': '}
            <span data-testid="job-error">{job.error}</span>
          </>
        )}
      </p>
    </div>
  );
}
