import { Fragment, useState, type FormEvent } from 'react';
import { apiFetch } from '../api/client';
import type { Group } from '../api/types';
import { useAction } from '../api/useAction';
import { useLoad } from '../api/useLoad';
import { DataTable, LoadStatus, RowButton } from '../components/DataTable';
import { ActionFeedback, ErrorText } from '../components/Feedback';
import { Field, SubmitButton } from '../components/Field';

const COLUMNS = 5;

export function AdminGroupsPage() {
  const groups = useLoad((signal) => apiFetch<{ groups: Group[] }>('/api/admin/groups', { signal }).then((body) => body.groups), [], 'The groups could not be loaded.');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const creating = useAction();
  const [editing, setEditing] = useState<{ id: string; name: string; description: string } | null>(null);
  // Row actions; their notice line also reports a group the form created.
  const rowAction = useAction();

  const onCreate = (event: FormEvent) => {
    event.preventDefault();
    rowAction.setNotice(null);
    void creating.run(async () => {
      const body = await apiFetch<{ group: Group }>('/api/admin/groups', { method: 'POST', body: { name, description } });
      setName('');
      setDescription('');
      rowAction.setNotice(`Created the group ${body.group.name}.`);
      groups.reload();
    }, 'The group could not be created.');
  };

  // A group that still owns studies or has members is refused (409); the server says which.
  const act = (action: () => Promise<string>, failure: string) =>
    rowAction.run(async () => {
      const done = await action();
      groups.reload();
      return done;
    }, failure);

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

      <form className="panel" data-testid="create-group-form" onSubmit={onCreate} noValidate aria-busy={creating.busy}>
        <h2>Create a group</h2>
        <div className="form-row">
          <Field id="group-name" label="Name">
            <input id="group-name" required value={name} onChange={(e) => setName(e.target.value)} />
          </Field>
          <Field id="group-description" label="Description" size="grow">
            <input id="group-description" value={description} onChange={(e) => setDescription(e.target.value)} />
          </Field>
          <SubmitButton busy={creating.busy} label="Create group" busyLabel="Creating…" />
        </div>
        <ErrorText message={creating.error} testId="create-group-error" />
      </form>

      <ActionFeedback action={rowAction} errorTestId="groups-error" noticeTestId="groups-notice" />
      <LoadStatus state={groups} isEmpty={groups.data?.length === 0} empty="There are no groups yet." />
      {groups.data && groups.data.length > 0 && (
        <DataTable testId="groups-table" columns={['Name', 'Description', 'Members', 'Studies']} actions>
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
                      disabled={rowAction.busy}
                      onClick={() => setEditing(open ? null : { id: group.id, name: group.name, description: group.description })}
                    >
                      Edit<span className="visually-hidden"> {group.name}</span>
                    </button>
                    <RowButton label="Delete" hidden={group.name} danger disabled={rowAction.busy} onClick={() => onDelete(group)} />
                  </td>
                </tr>
                {open && editing && (
                  <tr className="row-details" id={panelId}>
                    <td colSpan={COLUMNS}>
                      <form className="form-row" data-testid="edit-group-form" onSubmit={(event) => void onSave(event, group)} noValidate>
                        <Field id={`${panelId}-name`} label="Name">
                          <input id={`${panelId}-name`} required value={editing.name} onChange={(e) => setEditing({ ...editing, name: e.target.value })} />
                        </Field>
                        <Field id={`${panelId}-description`} label="Description" size="grow">
                          <input
                            id={`${panelId}-description`}
                            value={editing.description}
                            onChange={(e) => setEditing({ ...editing, description: e.target.value })}
                          />
                        </Field>
                        <button type="submit" disabled={rowAction.busy}>
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
        </DataTable>
      )}
    </section>
  );
}
