import { useSearchParams } from 'react-router-dom';
import { apiFetch } from '../api/client';
import { queryString } from '../api/query';
import type { AdminSession, AdminUser } from '../api/types';
import { useAction } from '../api/useAction';
import { useLoad } from '../api/useLoad';
import { DataTable, LoadStatus, RowButton } from '../components/DataTable';
import { ActionFeedback } from '../components/Feedback';
import { Field } from '../components/Field';
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
  const revoking = useAction();

  const revoke = (session: AdminSession) =>
    void revoking.run(async () => {
      await apiFetch(`/api/admin/sessions/${encodeURIComponent(session.id)}`, { method: 'DELETE' });
      sessions.reload();
      return `Signed out ${session.user.email} on ${summarizeUserAgent(session.userAgent)}.`;
    }, 'The session could not be revoked.');

  return (
    <section>
      <h1>Active sessions</h1>
      <p className="muted">Everyone signed in right now, one row per browser or device. Revoking a session signs that browser out.</p>
      <div className="form-row filter-row">
        <Field id="sessions-user" label="User">
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
        </Field>
      </div>
      <ActionFeedback action={revoking} errorTestId="admin-sessions-error" noticeTestId="admin-sessions-notice" />
      <LoadStatus state={sessions} isEmpty={sessions.data?.length === 0} empty="No active sessions." />
      {sessions.data && sessions.data.length > 0 && (
        <DataTable testId="admin-sessions-table" columns={['User', 'Device', 'IP address', 'Signed in', 'Last active']} actions>
          {sessions.data.map((session) => (
            <tr key={session.id} data-session-id={session.id} data-user-email={session.user.email}>
              <th scope="row">{session.user.email}</th>
              <td title={session.userAgent ?? undefined}>{summarizeUserAgent(session.userAgent)}</td>
              <td>{session.ip ?? '—'}</td>
              <td className="number">{formatDateTime(session.createdAt)}</td>
              <td className="number">{formatDateTime(session.lastSeenAt)}</td>
              <td className="actions">
                <RowButton label="Revoke" hidden={`session of ${session.user.email}`} disabled={revoking.busy} onClick={() => revoke(session)} />
              </td>
            </tr>
          ))}
        </DataTable>
      )}
    </section>
  );
}
