import { useState, type FormEvent } from 'react';
import { useLocation, useNavigate } from 'react-router-dom';
import { apiFetch } from '../api/client';
import { useAction } from '../api/useAction';
import { isOutsideDashboard, returnPathFrom } from '../auth/returnPath';
import { useSession } from '../auth/session';
import { ErrorText, StatusText } from '../components/Feedback';
import { PasswordField, SubmitButton } from '../components/Field';
import { newPasswordProblem } from '../lib/forms';

export function ChangePasswordPage() {
  const { user, reload } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const [currentPassword, setCurrentPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [repeated, setRepeated] = useState('');
  const { busy: submitting, error, notice, run, setError, setNotice } = useAction();
  const forced = Boolean(user?.mustChangePassword);

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    setNotice(null);
    const problem = newPasswordProblem(newPassword, repeated);
    if (problem) {
      setError(problem);
      return;
    }
    const changed = await run(async () => {
      await apiFetch('/api/auth/change-password', { method: 'POST', body: { currentPassword, newPassword } });
    }, 'The password could not be changed. Try again.');
    if (!changed) return;
    setCurrentPassword('');
    setNewPassword('');
    setRepeated('');
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
        <PasswordField id="current-password" label="Current password" autoComplete="current-password" value={currentPassword} onChange={setCurrentPassword} />
        <PasswordField id="new-password" label="New password" autoComplete="new-password" value={newPassword} onChange={setNewPassword} />
        <PasswordField id="repeat-password" label="Repeat new password" autoComplete="new-password" value={repeated} onChange={setRepeated} />
        <p className="muted hint">Changing your password signs out your other sessions.</p>
        <ErrorText message={error} testId="change-password-error" />
        <StatusText message={notice} testId="change-password-done" />
        <div>
          <SubmitButton busy={submitting} label="Change password" busyLabel="Changing…" />
        </div>
      </form>
    </section>
  );
}
