/** Form errors: always rendered, so screen readers already watch it when a message arrives. */
export function ErrorText({ message, testId }: { message: string | null; testId?: string }) {
  return (
    <div role="alert" className="form-error" data-testid={testId}>
      {message}
    </div>
  );
}

/** Success notices, announced politely. Always rendered for the same reason. */
export function StatusText({ message, testId }: { message: string | null; testId?: string }) {
  return (
    <div role="status" className="form-status" data-testid={testId}>
      {message}
    </div>
  );
}

/** A page that could not load its data says why, in place of the data. */
export function LoadError({ message, testId }: { message: string | null; testId?: string }) {
  if (!message) return null;
  return (
    <p role="alert" className="form-error" data-testid={testId}>
      {message}
    </p>
  );
}

/** The error and notice lines under a form or above a table, as one action reports them. */
export function ActionFeedback({ action, errorTestId, noticeTestId }: { action: { error: string | null; notice: string | null }; errorTestId: string; noticeTestId: string }) {
  return (
    <>
      <ErrorText message={action.error} testId={errorTestId} />
      <StatusText message={action.notice} testId={noticeTestId} />
    </>
  );
}
