import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiError, apiFetch, onSessionEvent } from '../api/client';
import type { SessionUser } from '../api/types';

type SessionState = {
  user: SessionUser | null;
  loading: boolean;
  signIn: (email: string, password: string) => Promise<SessionUser>;
  signOut: () => Promise<void>;
  /** Ends every session of this user, this one included. */
  signOutEverywhere: () => Promise<void>;
  /** Asks the server again who is signed in (after a password change, say). */
  reload: () => Promise<SessionUser | null>;
  /** Takes the user a call already returned as the signed-in one (accepting an invitation signs in). */
  adoptUser: (user: SessionUser) => void;
};

const SessionContext = createContext<SessionState | null>(null);

async function fetchSessionUser(): Promise<SessionUser | null> {
  try {
    return (await apiFetch<{ user: SessionUser }>('/api/auth/session')).user;
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) console.warn('session check failed', error);
    return null;
  }
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<SessionUser | null>(null);
  const [loading, setLoading] = useState(true);

  useEffect(() => {
    void fetchSessionUser()
      .then(setUser)
      .finally(() => setLoading(false));
  }, []);

  // The API client notices when the session ends or the server demands a new password;
  // either changes which pages may be shown (RequireSession acts on it).
  useEffect(
    () =>
      onSessionEvent((event) => {
        if (event === 'ended') setUser(null);
        else setUser((current) => (current && !current.mustChangePassword ? { ...current, mustChangePassword: true } : current));
      }),
    [],
  );

  const signIn = useCallback(async (email: string, password: string) => {
    const body = await apiFetch<{ user: SessionUser }>('/api/auth/login', { method: 'POST', body: { email, password } });
    setUser(body.user);
    return body.user;
  }, []);

  const signOut = useCallback(async () => {
    try {
      await apiFetch('/api/auth/logout', { method: 'POST' });
    } finally {
      setUser(null);
    }
  }, []);

  const signOutEverywhere = useCallback(async () => {
    await apiFetch('/api/auth/logout-all', { method: 'POST' });
    setUser(null);
  }, []);

  const reload = useCallback(async () => {
    const next = await fetchSessionUser();
    setUser(next);
    return next;
  }, []);

  const adoptUser = useCallback((next: SessionUser) => setUser(next), []);

  const value = useMemo(
    () => ({ user, loading, signIn, signOut, signOutEverywhere, reload, adoptUser }),
    [user, loading, signIn, signOut, signOutEverywhere, reload, adoptUser],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error('useSession must be used inside <SessionProvider>');
  return state;
}
