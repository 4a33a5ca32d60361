import { useEffect, useState, type FormEvent } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router-dom';
import { useAction } from '../api/useAction';
import { CHANGE_PASSWORD_PATH } from '../auth/passwordGate';
import { isOutsideDashboard, returnPathFrom, type LoginRedirectState } from '../auth/returnPath';
import { useSession } from '../auth/session';
import { ErrorText } from '../components/Feedback';
import { SubmitButton } from '../components/Field';

export function LoginPage() {
  const { user, signIn } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const returnTo = returnPathFrom(location.state, location.search);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { busy: submitting, error, run } = useAction();

  // A password that must change comes first; the page asked for is remembered for afterwards.
  const passwordState: LoginRedirectState = { from: returnTo };

  // Pages outside the dashboard (OHIF) need a full page load; exactly one, from here.
  const leavingForOutside = Boolean(user && !user.mustChangePassword && isOutsideDashboard(returnTo));
  useEffect(() => {
    if (leavingForOutside) window.location.replace(returnTo);
  }, [leavingForOutside, returnTo]);

  if (user) {
    if (user.mustChangePassword) return <Navigate to={CHANGE_PASSWORD_PATH} replace state={passwordState} />;
    if (leavingForOutside) return <p className="page-loading">Opening…</p>;
    return <Navigate to={returnTo} replace />;
  }

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    // Wrong password, lockout (429, saying how long) or an unavailable service: the server's words.
    void run(async () => {
      const signedIn = await signIn(email, password);
      if (signedIn.mustChangePassword) navigate(CHANGE_PASSWORD_PATH, { replace: true, state: passwordState });
      else if (!isOutsideDashboard(returnTo)) navigate(returnTo, { replace: true });
    }, 'Sign-in failed. Try again.');
  };

  return (
    <main className="login">
      {/* noValidate: the server validates, and its message is the one shown. */}
      <form className="login-card" data-testid="login-form" onSubmit={onSubmit} noValidate aria-busy={submitting}>
        <h1>Sign in to Preview-DICOM</h1>
        <label htmlFor="login-email">E-mail</label>
        <input id="login-email" name="email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <label htmlFor="login-password">Password</label>
        <input
          id="login-password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <ErrorText message={error} testId="login-error" />
        <SubmitButton busy={submitting} label="Sign in" busyLabel="Signing in…" />
      </form>
    </main>
  );
}
