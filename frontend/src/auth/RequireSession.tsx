import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router-dom';
import { CHANGE_PASSWORD_PATH, mustChangePasswordFirst } from './passwordGate';
import type { LoginRedirectState } from './returnPath';
import { useSession } from './session';

/**
 * Sends signed-out visitors to the login page, and users whose password must change to the
 * password page, remembering where they wanted to go.
 */
export function RequireSession({ children }: { children: ReactNode }) {
  const { user, loading } = useSession();
  const location = useLocation();
  if (loading) return <p className="page-loading">Loading…</p>;
  const state: LoginRedirectState = { from: `${location.pathname}${location.search}${location.hash}` };
  if (!user) return <Navigate to="/login" replace state={state} />;
  if (mustChangePasswordFirst(user, location.pathname)) return <Navigate to={CHANGE_PASSWORD_PATH} replace state={state} />;
  return children;
}
