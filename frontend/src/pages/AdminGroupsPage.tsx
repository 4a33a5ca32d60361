import { Fragment, useState, type FormEvent } from 'react';
import { apiFetch, messageOf } from '../api/client';
import type { Group } from '../api/types';
import { useLoad } from '../api/useLoad';
import { ErrorText, LoadError, StatusText } from '../components/Feedback';

const COLUMNS = 5;

export function AdminGroupsPage() {
  const groups = useLoad((signal) => apiFetch<{ groups: Group[] }>('/api/admin/groups', { signal }).then((body) => body.groups), [], 'The groups could not be loaded.');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [createError, setCreateError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<{ id: string; name: string; description: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const onCreate = async (event: FormEvent) => {
    event.preventDefault();
    setCreating(true);
    setCreateError(null);
    setNotice(null);
    try {
      const body = await apiFetch<{ group: Group }>('/api/admin/groups', { method: 'POST', body: { name, description } });
      setName('');
      setDescription('');
      setNotice(`Created the group ${body.group.name}.`);
      groups.reload();
    } catch (caught) {
      setCreateError(messageOf(caught, 'The group could not be created.'));
    } finally {
      setCreating(false);
    }
  };

  const act = async (action: () => Promise<string>, failure: string) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      setNotice(await action());
      groups.reload();
      return true;
    } catch (caught) {
      // A group that still owns studies or has members is refused (409); the server says which.
      setError(messageOf(caught, failure));
      return false;
    } finally {
      setBusy(false);
    }
  };

  const onSave = async (event: FormEvent, group: Group) => {
    event.preventDefault();
    if (!editing) return;
    const changes: { name?: string; description?: string } = {};
    if (editing.name.trim() !== group.name) changes.name = editing.name.trim();
    if (editing.description.trim() !== group.description) changes.description = editing.description.trim();
    if (Object.keys(changes).length === 0) {
      setEditing(null);
      return;
    }
    const saved = await act(async () => {
      const body = await apiFetch<{ group: Group }>(`/api/admin/groups/${encodeURIComponent(group.id)}`, { method: 'PATCH', body: changes });
      return `Saved the group ${body.group.name}.`;
    }, 'The group could not be saved.');
    if (saved) setEditing(null);
  };

  const onDelete = (group: Group) =>
    void act(async () => {
      await apiFetch(`/api/admin/groups/${encodeURIComponent(group.id)}`, { method: 'DELETE' });
      return `Deleted the group ${group.name}.`;
    }, 'The group could not be deleted.');

  return (
    <section>
      <h1>Groups</h1>
      <p className="muted">Every study belongs to one group; members of a group see its studies and those shared with it.</p>

      <form className="panel" data-testid="create-group-form" onSubmit={onCreate} noValidate aria-busy={creating}>
        <h2>Create a group</h2>
        <div className="form-row">
          <div className="field">
            <label htmlFor="group-name">Name</label>
            <input id="group-name" required value={name} onChange={(e) => setName(e.target.value)} />
          </div>
          <div className="field grow">
            <label htmlFor="group-description">Description</label>
            <input id="group-description" value={description} onChange={(e) => setDescription(e.target.value)} />
          </div>
          <button type="submit" disabled={creating}>
            {creating ? 'Creating…' : 'Create group'}
          </button>
        </div>
        <ErrorText message={createError} testId="create-group-error" />
      </form>

      <ErrorText message={error} testId="groups-error" />
      <StatusText message={notice} testId="groups-notice" />
      <LoadError message={groups.error} />
      {!groups.data && !groups.error && <p className="muted">Loading…</p>}
      {groups.data && groups.data.length === 0 && <p className="muted">There are no groups yet.</p>}
      {groups.data && groups.data.length > 0 && (
        <div className="table-scroll">
          <table className="table" data-testid="groups-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Description</th>
                <th scope="col">Members</th>
                <th scope="col">Studies</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {groups.data.map((group) => {
                const open = editing?.id === group.id;
                const panelId = `edit-group-${group.id}`;
                return (
                  <Fragment key={group.id}>
                    <tr data-group-id={group.id} data-group-name={group.name}>
                      <th scope="row">{group.name}</th>
                      <td>{group.description || <span className="muted">—</span>}</td>
                      <td className="number">{group.memberCount}</td>
                      <td className="number">{group.studyCount}</td>
                      <td className="actions">
                        <button
                          type="button"
                          className="secondary small"
                          aria-expanded={open}
                          aria-controls={open ? panelId : undefined}
                          disabled={busy}
                          onClick={() => setEditing(open ? null : { id: group.id, name: group.name, description: group.description })}
                        >
                          Edit<span className="visually-hidden"> {group.name}</span>
                        </button>
                        <button type="button" className="danger small" disabled={busy} onClick={() => onDelete(group)}>
                          Delete<span className="visually-hidden"> {group.name}</span>
                        </button>
                      </td>
                    </tr>
                    {open && editing && (
                      <tr className="row-details" id={panelId}>
                        <td colSpan={COLUMNS}>
                          <form className="form-row" data-testid="edit-group-form" onSubmit={(event) => void onSave(event, group)} noValidate>
                            <div className="field">
                              <label htmlFor={`${panelId}-name`}>Name</label>
                              <input id={`${panelId}-name`} required value={editing.name} onChange={(e) => setEditing({ ...editing, name: e.target.value })} />
                            </div>
                            <div className="field grow">
                              <label htmlFor={`${panelId}-description`}>Description</label>
                              <input
                                id={`${panelId}-description`}
                                value={editing.description}
                                onChange={(e) => setEditing({ ...editing, description: e.target.value })}
                              />
                            </div>
                            <button type="submit" disabled={busy}>
                              Save changes
                            </button>
                            <button type="button" className="secondary" onClick={() => setEditing(null)}>
                              Cancel
                            </button>
                          </form>
                        </td>
                      </tr>
                    )}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
