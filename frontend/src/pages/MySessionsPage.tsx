import { useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { apiFetch, messageOf } from '../api/client';
import type { MySession } from '../api/types';
import { useLoad } from '../api/useLoad';
import { useSession } from '../auth/session';
import { ErrorText, LoadError, StatusText } from '../components/Feedback';
import { formatDateTime, summarizeUserAgent } from '../lib/format';

export function MySessionsPage() {
  const { signOutEverywhere } = useSession();
  const navigate = useNavigate();
  const sessions = useLoad((signal) => apiFetch<{ sessions: MySession[] }>('/api/auth/sessions', { signal }).then((body) => body.sessions), []);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const revoke = async (session: MySession) => {
    setBusy(session.id);
    setError(null);
    setNotice(null);
    try {
      await apiFetch(`/api/auth/sessions/${encodeURIComponent(session.id)}`, { method: 'DELETE' });
      setNotice(`Signed out the session on ${summarizeUserAgent(session.userAgent)}.`);
      sessions.reload();
    } catch (caught) {
      setError(messageOf(caught, 'The session could not be revoked.'));
    } finally {
      setBusy(null);
    }
  };

  const onSignOutEverywhere = async () => {
    setBusy('all');
    setError(null);
    setNotice(null);
    try {
      await signOutEverywhere();
      navigate('/login', { replace: true });
    } catch (caught) {
      setError(messageOf(caught, 'Could not sign out everywhere.'));
      setBusy(null);
    }
  };

  return (
    <section>
      <div className="page-header">
        <h1>My sessions</h1>
        <button type="button" className="danger" disabled={busy !== null} onClick={() => void onSignOutEverywhere()}>
          Sign out everywhere
        </button>
      </div>
      <p className="muted">Every browser or device signed in to your account. Revoke any you do not recognise.</p>
      <ErrorText message={error} testId="sessions-error" />
      <StatusText message={notice} testId="sessions-notice" />
      <LoadError message={sessions.error} />
      {!sessions.data && !sessions.error && <p className="muted">Loading…</p>}
      {sessions.data && (
        <div className="table-scroll">
          <table className="table" data-testid="my-sessions-table">
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">IP address</th>
                <th scope="col">Signed in</th>
                <th scope="col">Last active</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sessions.data.map((session) => (
                <tr key={session.id} data-session-id={session.id} data-current={session.current || undefined}>
                  <th scope="row" title={session.userAgent ?? undefined}>
                    {summarizeUserAgent(session.userAgent)}{' '}
                    {session.current && (
                      <span className="badge ok" data-testid="current-session">
                        This device
                      </span>
                    )}
                  </th>
                  <td>{session.ip ?? '—'}</td>
                  <td className="number">{formatDateTime(session.createdAt)}</td>
                  <td className="number">{formatDateTime(session.lastSeenAt)}</td>
                  <td className="actions">
                    {!session.current && (
                      <button type="button" className="secondary small" disabled={busy !== null} onClick={() => void revoke(session)}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
