import { useNavigate } from 'react-router-dom';
import { apiFetch } from '../api/client';
import type { MySession } from '../api/types';
import { useAction } from '../api/useAction';
import { useLoad } from '../api/useLoad';
import { useSession } from '../auth/session';
import { DataTable, LoadStatus, RowButton } from '../components/DataTable';
import { ActionFeedback } from '../components/Feedback';
import { formatDateTime, summarizeUserAgent } from '../lib/format';

export function MySessionsPage() {
  const { signOutEverywhere } = useSession();
  const navigate = useNavigate();
  const sessions = useLoad((signal) => apiFetch<{ sessions: MySession[] }>('/api/auth/sessions', { signal }).then((body) => body.sessions), []);
  // One action at a time: revoking a session and signing out everywhere share the busy state.
  const action = useAction();

  const revoke = (session: MySession) =>
    void action.run(async () => {
      await apiFetch(`/api/auth/sessions/${encodeURIComponent(session.id)}`, { method: 'DELETE' });
      sessions.reload();
      return `Signed out the session on ${summarizeUserAgent(session.userAgent)}.`;
    }, 'The session could not be revoked.');

  const onSignOutEverywhere = () =>
    void action.run(async () => {
      await signOutEverywhere();
      navigate('/login', { replace: true });
    }, 'Could not sign out everywhere.');

  return (
    <section>
      <div className="page-header">
        <h1>My sessions</h1>
        <button type="button" className="danger" disabled={action.busy} onClick={onSignOutEverywhere}>
          Sign out everywhere
        </button>
      </div>
      <p className="muted">Every browser or device signed in to your account. Revoke any you do not recognise.</p>
      <ActionFeedback action={action} errorTestId="sessions-error" noticeTestId="sessions-notice" />
      <LoadStatus state={sessions} />
      {sessions.data && (
        <DataTable testId="my-sessions-table" columns={['Device', 'IP address', 'Signed in', 'Last active']} actions>
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
                  <RowButton label="Revoke" disabled={action.busy} onClick={() => revoke(session)} />
                )}
              </td>
            </tr>
          ))}
        </DataTable>
      )}
    </section>
  );
}
