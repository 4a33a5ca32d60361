import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { apiFetch, messageOf } from '../api/client';
import type { InvitationPreview, SessionUser } from '../api/types';
import { useLoad } from '../api/useLoad';
import { useSession } from '../auth/session';
import { ErrorText } from '../components/Feedback';
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
  const [error, setError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    const problem = newPasswordProblem(password, repeated, 'passwords');
    if (problem) {
      setError(problem);
      return;
    }
    setSubmitting(true);
    setError(null);
    try {
      const body = await apiFetch<{ user: SessionUser }>(`${invitationPath}/accept`, { method: 'POST', body: { displayName, password } });
      adoptUser(body.user);
      navigate('/', { replace: true });
    } catch (caught) {
      setError(messageOf(caught, 'The account could not be created. Try again.'));
      setSubmitting(false);
    }
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
            <div className="field">
              <label htmlFor="invite-name">Display name</label>
              <input id="invite-name" autoComplete="name" required value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
            </div>
            {/* Lets password managers file the new password under the right account. */}
            <input type="email" name="email" autoComplete="username" value={invitation.data.email} readOnly hidden />
            <div className="field">
              <label htmlFor="invite-password">Password</label>
              <input id="invite-password" type="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
            </div>
            <div className="field">
              <label htmlFor="invite-repeat">Repeat password</label>
              <input id="invite-repeat" type="password" autoComplete="new-password" required value={repeated} onChange={(e) => setRepeated(e.target.value)} />
            </div>
            <ErrorText message={error} testId="accept-invitation-error" />
            <button type="submit" disabled={submitting}>
              {submitting ? 'Creating account…' : 'Create account'}
            </button>
          </form>
        )}
      </div>
    </main>
  );
}
