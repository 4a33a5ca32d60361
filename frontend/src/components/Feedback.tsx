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
