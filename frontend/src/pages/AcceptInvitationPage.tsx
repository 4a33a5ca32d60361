import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { apiFetch } from '../api/client';
import type { InvitationPreview, SessionUser } from '../api/types';
import { useAction } from '../api/useAction';
import { useLoad } from '../api/useLoad';
import { useSession } from '../auth/session';
import { ErrorText } from '../components/Feedback';
import { Field, PasswordField, SubmitButton } from '../components/Field';
import { formatDateTime, roleLabel } from '../lib/format';
import { newPasswordProblem } from '../lib/forms';

/** Public: someone with an invitation link sets up their account here and is signed in. */
export function AcceptInvitationPage() {
  const { token = '' } = useParams();
  const { user, adoptUser } = useSession();
  const navigate = useNavigate();
  const invitationPath = `/api/invitations/${encodeURIComponent(token)}`;
  const invitation = useLoad((signal) => apiFetch<InvitationPreview>(invitationPath, { signal }), [invitationPath], 'The invitation could not be read.');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [repeated, setRepeated] = useState('');
  const { busy: submitting, error, run, setError } = useAction();

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const problem = newPasswordProblem(password, repeated, 'passwords');
    if (problem) {
      setError(problem);
      return;
    }
    void run(async () => {
      const body = await apiFetch<{ user: SessionUser }>(`${invitationPath}/accept`, { method: 'POST', body: { displayName, password } });
      adoptUser(body.user);
      navigate('/', { replace: true });
    }, 'The account could not be created. Try again.');
  };

  return (
    <main className="login">
      <div className="login-card">
        <h1>Join Preview-DICOM</h1>
        {invitation.error && (
          <>
            <p role="alert" className="form-error" data-testid="invitation-error">
              {invitation.error}
            </p>
            <p>
              Already have an account? <Link to="/login">Sign in</Link>.
            </p>
          </>
        )}
        {!invitation.data && !invitation.error && <p className="muted">Checking the invitation…</p>}
        {invitation.data && (
          // noValidate: the server judges the password, and its message is the one shown.
          <form className="form-stack" data-testid="accept-invitation-form" onSubmit={onSubmit} noValidate aria-busy={submitting}>
            <p data-testid="invitation-summary">
              You were invited as <strong>{roleLabel(invitation.data.role)}</strong> with the e-mail address{' '}
              <strong data-testid="invitation-email">{invitation.data.email}</strong>. The invitation is valid until {formatDateTime(invitation.data.expiresAt)}.
            </p>
            {user && (
              <p className="muted">
                You are signed in as {user.email}. Creating this account signs you in as {invitation.data.email} instead.
              </p>
            )}
            <Field id="invite-name" label="Display name">
              <input id="invite-name" autoComplete="name" required value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
            </Field>
            {/* Lets password managers file the new password under the right account. */}
            <input type="email" name="email" autoComplete="username" value={invitation.data.email} readOnly hidden />
            <PasswordField id="invite-password" label="Password" autoComplete="new-password" value={password} onChange={setPassword} />
            <PasswordField id="invite-repeat" label="Repeat password" autoComplete="new-password" value={repeated} onChange={setRepeated} />
            <ErrorText message={error} testId="accept-invitation-error" />
            <SubmitButton busy={submitting} label="Create account" busyLabel="Creating account…" />
          </form>
        )}
      </div>
    </main>
  );
}
