import { useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { apiFetch, messageOf } from '../api/client';
import { queryString } from '../api/query';
import type { AdminSession, AdminUser } from '../api/types';
import { useLoad } from '../api/useLoad';
import { ErrorText, LoadError, StatusText } from '../components/Feedback';
import { formatDateTime, summarizeUserAgent } from '../lib/format';

export function AdminSessionsPage() {
  // The chosen user lives in the address, so a filtered view can be linked to.
  const [params, setParams] = useSearchParams();
  const userId = params.get('userId') ?? '';
  const sessions = useLoad(
    (signal) => apiFetch<{ sessions: AdminSession[] }>(`/api/admin/sessions${queryString({ userId })}`, { signal }).then((body) => body.sessions),
    [userId],
    'The sessions could not be loaded.',
  );
  const users = useLoad((signal) => apiFetch<{ users: AdminUser[] }>('/api/admin/users', { signal }).then((body) => body.users), []);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const revoke = async (session: AdminSession) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      await apiFetch(`/api/admin/sessions/${encodeURIComponent(session.id)}`, { method: 'DELETE' });
      setNotice(`Signed out ${session.user.email} on ${summarizeUserAgent(session.userAgent)}.`);
      sessions.reload();
    } catch (caught) {
      setError(messageOf(caught, 'The session could not be revoked.'));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1>Active sessions</h1>
      <p className="muted">Everyone signed in right now, one row per browser or device. Revoking a session signs that browser out.</p>
      <div className="form-row filter-row">
        <div className="field">
          <label htmlFor="sessions-user">User</label>
          <select id="sessions-user" value={userId} onChange={(e) => setParams(e.target.value ? { userId: e.target.value } : {})}>
            <option value="">All users</option>
            {/* Keep a linked-to user selectable even before (or without) the user list. */}
            {userId && !users.data?.some((u) => u.id === userId) && <option value={userId}>{userId}</option>}
            {users.data?.map((user) => (
              <option key={user.id} value={user.id}>
                {user.email}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorText message={error} testId="admin-sessions-error" />
      <StatusText message={notice} testId="admin-sessions-notice" />
      <LoadError message={sessions.error} />
      {!sessions.data && !sessions.error && <p className="muted">Loading…</p>}
      {sessions.data && sessions.data.length === 0 && <p className="muted">No active sessions.</p>}
      {sessions.data && sessions.data.length > 0 && (
        <div className="table-scroll">
          <table className="table" data-testid="admin-sessions-table">
            <thead>
              <tr>
                <th scope="col">User</th>
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
                <tr key={session.id} data-session-id={session.id} data-user-email={session.user.email}>
                  <th scope="row">{session.user.email}</th>
                  <td title={session.userAgent ?? undefined}>{summarizeUserAgent(session.userAgent)}</td>
                  <td>{session.ip ?? '—'}</td>
                  <td className="number">{formatDateTime(session.createdAt)}</td>
                  <td className="number">{formatDateTime(session.lastSeenAt)}</td>
                  <td className="actions">
                    <button type="button" className="secondary small" disabled={busy} onClick={() => void revoke(session)}>
                      Revoke<span className="visually-hidden"> session of {session.user.email}</span>
                    </button>
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
