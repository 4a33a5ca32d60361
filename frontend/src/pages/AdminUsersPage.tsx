import { Fragment, useState, type FormEvent } from 'react';
import { apiFetch } from '../api/client';
import type { AdminUser, Group, GroupRef, Invitation, Role } from '../api/types';
import { useAction } from '../api/useAction';
import { useLoad } from '../api/useLoad';
import { useSession } from '../auth/session';
import { CopyField } from '../components/CopyField';
import { DataTable, LoadStatus, RowButton } from '../components/DataTable';
import { ActionFeedback, ErrorText, LoadError } from '../components/Feedback';
import { Field, SubmitButton } from '../components/Field';
import { GroupChecklist } from '../components/GroupChecklist';
import { RoleSelect } from '../components/RoleSelect';
import { formatDateTime, lifecycleOf, roleLabel } from '../lib/format';
import { draftOf, userChanges, type UserDraft } from '../lib/users';

const COLUMNS = 6;

type CreatedUser = { user: AdminUser; password: string };
type SentInvitation = { invitation: Pick<Invitation, 'id' | 'email' | 'role' | 'expiresAt'>; link: string; emailed: boolean };

export function AdminUsersPage() {
  const { user: me } = useSession();
  const users = useLoad((signal) => apiFetch<{ users: AdminUser[] }>('/api/admin/users', { signal }).then((body) => body.users), [], 'The users could not be loaded.');
  const groups = useLoad(
    (signal) => apiFetch<{ groups: Group[] }>('/api/admin/groups', { signal }).then((body) => body.groups.map(({ id, name }): GroupRef => ({ id, name }))),
    [],
    'The groups could not be loaded.',
  );
  const invitations = useLoad(
    (signal) => apiFetch<{ invitations: Invitation[] }>('/api/admin/invitations', { signal }).then((body) => body.invitations),
    [],
    'The invitations could not be loaded.',
  );
  const groupList = groups.data ?? [];

  return (
    <section>
      <h1>Users</h1>
      <LoadError message={groups.error} />
      <div className="panel-columns">
        <CreateUserForm groups={groupList} onCreated={users.reload} />
        <InviteForm groups={groupList} onInvited={invitations.reload} />
      </div>

      <h2>Accounts</h2>
      <LoadStatus state={users} errorTestId="users-error" />
      {users.data && (
        <UsersTable
          users={users.data}
          groups={groupList}
          myId={me?.id ?? ''}
          onUpdated={(updated) => users.setData((list) => list?.map((u) => (u.id === updated.id ? updated : u)) ?? null)}
        />
      )}

      <h2>Invitations</h2>
      <LoadError message={invitations.error} />
      {invitations.data && <InvitationsTable invitations={invitations.data} onRevoked={invitations.reload} />}
    </section>
  );
}

function CreateUserForm({ groups, onCreated }: { groups: GroupRef[]; onCreated: () => void }) {
  const [email, setEmail] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [role, setRole] = useState<Role>('researcher');
  const [groupIds, setGroupIds] = useState<string[]>([]);
  const { busy, error, run } = useAction();
  const [created, setCreated] = useState<CreatedUser | null>(null);

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setCreated(null);
    void run(async () => {
      const body = await apiFetch<CreatedUser>('/api/admin/users', { method: 'POST', body: { email, displayName, role, groupIds } });
      setCreated(body);
      setEmail('');
      setDisplayName('');
      setGroupIds([]);
      onCreated();
    }, 'The user could not be created.');
  };

  return (
    <form className="panel form-stack" data-testid="create-user-form" onSubmit={onSubmit} noValidate aria-busy={busy}>
      <h2>Create a user</h2>
      <p className="muted hint">The account gets a generated password, shown once, which the user must change at first sign-in.</p>
      <Field id="new-user-email" label="E-mail">
        <input id="new-user-email" type="email" autoComplete="off" required value={email} onChange={(e) => setEmail(e.target.value)} />
      </Field>
      <Field id="new-user-name" label="Display name">
        <input id="new-user-name" autoComplete="off" required value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
      </Field>
      <Field id="new-user-role" label="Role">
        <RoleSelect id="new-user-role" value={role} onChange={setRole} />
      </Field>
      <GroupChecklist legend="Groups" groups={groups} selected={groupIds} onChange={setGroupIds} testId="new-user-groups" />
      <ErrorText message={error} testId="create-user-error" />
      <div>
        <SubmitButton busy={busy} label="Create user" busyLabel="Creating…" />
      </div>
      {created && (
        <div className="secret-panel" data-testid="user-created">
          <p role="status">
            Created <strong>{created.user.email}</strong>. Give them this password over a safe channel; <strong>it is not shown again</strong>, and they
            must change it when they first sign in.
          </p>
          <CopyField id="generated-password" label="One-time password" value={created.password} testId="generated-password" />
          <button type="button" className="secondary" onClick={() => setCreated(null)}>
            I have passed it on
          </button>
        </div>
      )}
    </form>
  );
}

function InviteForm({ groups, onInvited }: { groups: GroupRef[]; onInvited: () => void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('researcher');
  const [groupIds, setGroupIds] = useState<string[]>([]);
  const { busy, error, run } = useAction();
  const [sent, setSent] = useState<SentInvitation | null>(null);

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setSent(null);
    void run(async () => {
      const body = await apiFetch<SentInvitation>('/api/admin/invitations', { method: 'POST', body: { email, role, groupIds } });
      setSent(body);
      setEmail('');
      setGroupIds([]);
      onInvited();
    }, 'The invitation could not be created.');
  };

  return (
    <form className="panel form-stack" data-testid="invite-form" onSubmit={onSubmit} noValidate aria-busy={busy}>
      <h2>Invite someone</h2>
      <p className="muted hint">They choose their own name and password from a one-time link.</p>
      <Field id="invite-email" label="E-mail">
        <input id="invite-email" type="email" autoComplete="off" required value={email} onChange={(e) => setEmail(e.target.value)} />
      </Field>
      <Field id="invite-role" label="Role">
        <RoleSelect id="invite-role" value={role} onChange={setRole} />
      </Field>
      <GroupChecklist legend="Groups" groups={groups} selected={groupIds} onChange={setGroupIds} testId="invite-groups" />
      <ErrorText message={error} testId="invite-error" />
      <div>
        <SubmitButton busy={busy} label="Send invitation" busyLabel="Inviting…" />
      </div>
      {sent?.emailed && (
        <p role="status" className="form-status" data-testid="invitation-emailed">
          Invitation e-mailed to {sent.invitation.email}. It can be used once, until {formatDateTime(sent.invitation.expiresAt)}.
        </p>
      )}
      {sent && !sent.emailed && (
        <div className="secret-panel" data-testid="invitation-not-emailed">
          <p role="status">
            The invitation was not e-mailed. Pass this link on to <strong>{sent.invitation.email}</strong> yourself; it can be used once, until{' '}
            {formatDateTime(sent.invitation.expiresAt)}.
          </p>
          <CopyField id="invitation-link" label="Invitation link" value={sent.link} testId="invitation-link" />
        </div>
      )}
    </form>
  );
}

function UsersTable({ users, groups, myId, onUpdated }: { users: AdminUser[]; groups: GroupRef[]; myId: string; onUpdated: (user: AdminUser) => void }) {
  const [editingId, setEditingId] = useState<string | null>(null);
  const [draft, setDraft] = useState<UserDraft | null>(null);
  const action = useAction();
  const busy = action.busy;

  const update = (user: AdminUser, changes: object, done: string) =>
    action.run(async () => {
      const body = await apiFetch<{ user: AdminUser }>(`/api/admin/users/${encodeURIComponent(user.id)}`, { method: 'PATCH', body: changes });
      onUpdated(body.user);
      return done;
    }, `${user.email} could not be updated.`);

  const startEditing = (user: AdminUser) => {
    setEditingId(user.id);
    setDraft(draftOf(user));
    action.setError(null);
    action.setNotice(null);
  };

  const save = async (event: FormEvent, user: AdminUser) => {
    event.preventDefault();
    if (!draft) return;
    const changes = userChanges(user, draft);
    if (Object.keys(changes).length === 0) {
      setEditingId(null);
      return;
    }
    if (await update(user, changes, `Saved the changes to ${user.email}.`)) setEditingId(null);
  };

  return (
    <>
      <ActionFeedback action={action} errorTestId="users-action-error" noticeTestId="users-notice" />
      <DataTable testId="users-table" columns={['User', 'Role', 'Groups', 'Status', 'Created']} actions>
        {users.map((user) => {
          const editing = editingId === user.id && draft;
          const panelId = `edit-user-${user.id}`;
          return (
            <Fragment key={user.id}>
              <tr data-user-id={user.id} data-user-email={user.email}>
                <th scope="row">
                  {user.displayName}
                  {user.id === myId && <span className="muted"> (you)</span>}
                  <div className="muted small-text">{user.email}</div>
                </th>
                <td>{roleLabel(user.role)}</td>
                <td>{user.groups.map((group) => group.name).join(', ') || <span className="muted">—</span>}</td>
                <td>
                  <span className={`badge ${user.isActive ? 'ok' : 'muted'}`}>{user.isActive ? 'Active' : 'Disabled'}</span>
                  {user.mustChangePassword && user.isActive && <div className="muted small-text">Must change password</div>}
                </td>
                <td className="number">{formatDateTime(user.createdAt)}</td>
                <td className="actions">
                  <button
                    type="button"
                    className="secondary small"
                    aria-expanded={Boolean(editing)}
                    aria-controls={editing ? panelId : undefined}
                    disabled={busy}
                    onClick={() => (editing ? setEditingId(null) : startEditing(user))}
                  >
                    Edit<span className="visually-hidden"> {user.email}</span>
                  </button>
                  {/* Disabling yourself would lock you out of this page; another admin can do it. */}
                  {user.id !== myId && (
                    <RowButton
                      label={user.isActive ? 'Disable' : 'Enable'}
                      hidden={user.email}
                      danger={user.isActive}
                      disabled={busy}
                      onClick={() =>
                        void update(
                          user,
                          { isActive: !user.isActive },
                          user.isActive ? `Disabled ${user.email}; they can no longer sign in.` : `Enabled ${user.email}.`,
                        )
                      }
                    />
                  )}
                </td>
              </tr>
              {editing && (
                <tr className="row-details" id={panelId}>
                  <td colSpan={COLUMNS}>
                    <form className="form-stack" data-testid="edit-user-form" onSubmit={(event) => void save(event, user)} noValidate>
                      <div className="form-row">
                        <Field id={`${panelId}-name`} label="Display name" size="grow">
                          <input id={`${panelId}-name`} value={draft.displayName} onChange={(e) => setDraft({ ...draft, displayName: e.target.value })} />
                        </Field>
                        <Field id={`${panelId}-role`} label="Role">
                          <RoleSelect id={`${panelId}-role`} value={draft.role} onChange={(role) => setDraft({ ...draft, role })} />
                        </Field>
                      </div>
                      <GroupChecklist legend="Groups" groups={groups} selected={draft.groupIds} onChange={(groupIds) => setDraft({ ...draft, groupIds })} />
                      <div className="button-row">
                        <button type="submit" disabled={busy}>
                          Save changes
                        </button>
                        <button type="button" className="secondary" onClick={() => setEditingId(null)}>
                          Cancel
                        </button>
                      </div>
                    </form>
                  </td>
                </tr>
              )}
            </Fragment>
          );
        })}
      </DataTable>
    </>
  );
}

function InvitationsTable({ invitations, onRevoked }: { invitations: Invitation[]; onRevoked: () => void }) {
  const revoking = useAction();

  const revoke = (invitation: Invitation) =>
    void revoking.run(async () => {
      await apiFetch(`/api/admin/invitations/${encodeURIComponent(invitation.id)}`, { method: 'DELETE' });
      onRevoked();
      return `Revoked the invitation for ${invitation.email}; its link no longer works.`;
    }, 'The invitation could not be revoked.');

  return (
    <>
      <ActionFeedback action={revoking} errorTestId="invitations-error" noticeTestId="invitations-notice" />
      {invitations.length === 0 ? (
        <p className="muted">No invitations yet.</p>
      ) : (
        <DataTable testId="invitations-table" columns={['E-mail', 'Role', 'Sent', 'Expires', 'Status']} actions>
          {invitations.map((invitation) => {
            const state = lifecycleOf(invitation, Date.now(), 'Pending');
            return (
              <tr key={invitation.id} data-invitation-id={invitation.id}>
                <th scope="row">{invitation.email}</th>
                <td>{roleLabel(invitation.role)}</td>
                <td className="number">{formatDateTime(invitation.createdAt)}</td>
                <td className="number">{formatDateTime(invitation.expiresAt)}</td>
                <td>
                  <span className={`badge ${state.active ? 'warn' : state.tone}`}>{state.label}</span>
                </td>
                <td className="actions">
                  {state.active && (
                    <RowButton
                      label="Revoke"
                      hidden={`invitation for ${invitation.email}`}
                      disabled={revoking.busy}
                      onClick={() => revoke(invitation)}
                    />
                  )}
                </td>
              </tr>
            );
          })}
        </DataTable>
      )}
    </>
  );
}
