import { useState, type FormEvent } from 'react';
import { useLocation, useNavigate } from 'react-router-dom';
import { apiFetch, messageOf } from '../api/client';
import { isOutsideDashboard, returnPathFrom } from '../auth/returnPath';
import { useSession } from '../auth/session';
import { ErrorText, StatusText } from '../components/Feedback';
import { newPasswordProblem } from '../lib/forms';

export function ChangePasswordPage() {
  const { user, reload } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const [currentPassword, setCurrentPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [repeated, setRepeated] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const forced = Boolean(user?.mustChangePassword);

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    setNotice(null);
    const problem = newPasswordProblem(newPassword, repeated);
    if (problem) {
      setError(problem);
      return;
    }
    setSubmitting(true);
    setError(null);
    try {
      await apiFetch('/api/auth/change-password', { method: 'POST', body: { currentPassword, newPassword } });
    } catch (caught) {
      setError(messageOf(caught, 'The password could not be changed. Try again.'));
      setSubmitting(false);
      return;
    }
    setCurrentPassword('');
    setNewPassword('');
    setRepeated('');
    setSubmitting(false);
    // The server no longer demands a change; the session says so once re-read.
    await reload();
    if (forced) {
      // Now go where the user was heading when they were sent here.
      const next = returnPathFrom(location.state);
      if (isOutsideDashboard(next)) window.location.replace(next);
      else navigate(next, { replace: true });
      return;
    }
    setNotice('Your password was changed. Your other sessions were signed out; this one stays signed in.');
  };

  return (
    <section className="narrow">
      <h1>{forced ? 'Choose a new password' : 'Change password'}</h1>
      {forced && <p>Before you continue, replace the password this account was created with by one only you know.</p>}
      {/* noValidate: the server judges the password, and its message is the one shown. */}
      <form className="panel form-stack" data-testid="change-password-form" onSubmit={onSubmit} noValidate aria-busy={submitting}>
        <div className="field">
          <label htmlFor="current-password">Current password</label>
          <input
            id="current-password"
            type="password"
            autoComplete="current-password"
            required
            value={currentPassword}
            onChange={(e) => setCurrentPassword(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="new-password">New password</label>
          <input id="new-password" type="password" autoComplete="new-password" required value={newPassword} onChange={(e) => setNewPassword(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="repeat-password">Repeat new password</label>
          <input id="repeat-password" type="password" autoComplete="new-password" required value={repeated} onChange={(e) => setRepeated(e.target.value)} />
        </div>
        <p className="muted hint">Changing your password signs out your other sessions.</p>
        <ErrorText message={error} testId="change-password-error" />
        <StatusText message={notice} testId="change-password-done" />
        <div>
          <button type="submit" disabled={submitting}>
            {submitting ? 'Changing…' : 'Change password'}
          </button>
        </div>
      </form>
    </section>
  );
}
