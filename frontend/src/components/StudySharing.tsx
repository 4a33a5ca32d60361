import { useState, type FormEvent } from 'react';
import { apiFetch } from '../api/client';
import type { Group, GroupRef, SessionUser, ShareLink, Study } from '../api/types';
import { useAction } from '../api/useAction';
import { useLoad } from '../api/useLoad';
import { formatDateTime, lifecycleOf } from '../lib/format';
import { parseWholeNumber } from '../lib/forms';
import { shareCandidates } from '../lib/studies';
import { CopyField } from './CopyField';
import { DataTable, RowButton } from './DataTable';
import { ActionFeedback, LoadError } from './Feedback';
import { Field } from './Field';

/**
 * Sharing one study: with other groups (their members then see it like their own), and by
 * read-only links that open it in the viewer without an account.
 */
export function StudySharing({ study, user, onStudyChanged }: { study: Study; user: SessionUser; onStudyChanged: () => void }) {
  const uidPath = `/api/studies/${encodeURIComponent(study.studyInstanceUid)}`;
  // Admins may share with any group; everyone else with the groups they belong to.
  const groups = useLoad<GroupRef[]>(
    (signal) =>
      user.role === 'admin'
        ? apiFetch<{ groups: Group[] }>('/api/admin/groups', { signal }).then((body) => body.groups.map(({ id, name }) => ({ id, name })))
        : Promise.resolve(user.groups),
    [user.role, user.groups],
    'The groups could not be loaded.',
  );
  const links = useLoad((signal) => apiFetch<{ links: ShareLink[] }>(`${uidPath}/share-links`, { signal }).then((body) => body.links), [uidPath]);

  const candidates = shareCandidates(groups.data ?? [], study);
  const [groupId, setGroupId] = useState('');
  const chosenGroupId = candidates.some((group) => group.id === groupId) ? groupId : (candidates[0]?.id ?? '');
  const [hours, setHours] = useState('72');
  const action = useAction();
  const { busy, run } = action;
  const [newLink, setNewLink] = useState<ShareLink | null>(null);

  const share = (event: FormEvent) => {
    event.preventDefault();
    const group = candidates.find((candidate) => candidate.id === chosenGroupId);
    if (!group) return;
    void run(async () => {
      await apiFetch(`${uidPath}/shares`, { method: 'POST', body: { groupId: group.id } });
      onStudyChanged();
      return `Shared with ${group.name}.`;
    }, 'The study could not be shared.');
  };

  const unshare = (group: GroupRef) =>
    void run(async () => {
      await apiFetch(`${uidPath}/shares/${encodeURIComponent(group.id)}`, { method: 'DELETE' });
      onStudyChanged();
      return `No longer shared with ${group.name}.`;
    }, 'The study could not be unshared.');

  const createLink = (event: FormEvent) => {
    event.preventDefault();
    const expiresInHours = parseWholeNumber(hours, 1, 720);
    if (expiresInHours === null) {
      action.setError('A share link lasts a whole number of hours from 1 to 720 (30 days).');
      action.setNotice(null);
      return;
    }
    void run(async () => {
      const body = await apiFetch<{ link: ShareLink }>(`${uidPath}/share-links`, { method: 'POST', body: { expiresInHours } });
      setNewLink(body.link);
      links.reload();
      return `Share link created; it works until ${formatDateTime(body.link.expiresAt)}.`;
    }, 'The share link could not be created.');
  };

  const revokeLink = (link: ShareLink) =>
    void run(async () => {
      await apiFetch(`/api/share-links/${encodeURIComponent(link.id)}`, { method: 'DELETE' });
      if (newLink?.id === link.id) setNewLink(null);
      links.reload();
      return 'Share link revoked; it no longer opens the study.';
    }, 'The share link could not be revoked.');

  return (
    <div className="sharing" data-testid="study-sharing">
      <ActionFeedback action={action} errorTestId="sharing-error" noticeTestId="sharing-notice" />

      <div className="sharing-columns">
        <div>
          <h3>Groups</h3>
          <p className="muted">
            Owned by <strong>{study.ownerGroup.name}</strong>. Members of the groups below see this study too.
          </p>
          {study.sharedWith.length === 0 ? (
            <p className="muted">Not shared with any other group.</p>
          ) : (
            <ul className="plain-list" data-testid="shared-groups">
              {study.sharedWith.map((group) => (
                <li key={group.id}>
                  <span>{group.name}</span>
                  <RowButton label={`Stop sharing with ${group.name}`} disabled={busy} onClick={() => unshare(group)} />
                </li>
              ))}
            </ul>
          )}
          <LoadError message={groups.error} />
          {groups.data && candidates.length === 0 && <p className="muted">There is no other group to share it with.</p>}
          {candidates.length > 0 && (
            <form className="form-row" onSubmit={share}>
              <Field id={`share-group-${study.studyInstanceUid}`} label="Share with group">
                <select id={`share-group-${study.studyInstanceUid}`} data-testid="share-group-select" value={chosenGroupId} onChange={(e) => setGroupId(e.target.value)}>
                  {candidates.map((group) => (
                    <option key={group.id} value={group.id}>
                      {group.name}
                    </option>
                  ))}
                </select>
              </Field>
              <button type="submit" disabled={busy}>
                Share
              </button>
            </form>
          )}
        </div>

        <div>
          <h3>Share links</h3>
          <p className="muted">Anyone with a link can view this study, read-only, until it expires or is revoked.</p>
          <form className="form-row" onSubmit={createLink} noValidate>
            <Field id={`link-hours-${study.studyInstanceUid}`} label="Expires in (hours)" size="narrow">
              <input
                id={`link-hours-${study.studyInstanceUid}`}
                type="number"
                inputMode="numeric"
                min={1}
                max={720}
                step={1}
                value={hours}
                onChange={(e) => setHours(e.target.value)}
              />
            </Field>
            <button type="submit" disabled={busy}>
              Create share link
            </button>
          </form>
          {newLink && <CopyField id={`new-link-${newLink.id}`} label="New share link" value={newLink.url} testId="new-share-link" />}
        </div>
      </div>

      <LoadError message={links.error} />
      {links.data && links.data.length > 0 && (
        <DataTable testId="share-links-table" columns={['Link', 'Created', 'Expires', 'Uses', 'Last used', 'Status']} actions compact>
          {links.data.map((link) => {
            const state = lifecycleOf(link);
            return (
              <tr key={link.id} data-link-id={link.id}>
                <td className="link-cell">
                  {state.active ? <CopyField id={`link-${link.id}`} label="Share link" value={link.url} compact /> : <span className="muted">{link.url}</span>}
                </td>
                <td className="number">{formatDateTime(link.createdAt)}</td>
                <td className="number">{formatDateTime(link.expiresAt)}</td>
                <td className="number">{link.useCount}</td>
                <td className="number">{link.lastUsedAt ? formatDateTime(link.lastUsedAt) : 'Never'}</td>
                <td>
                  <span className={`badge ${state.tone}`}>{state.label}</span>
                </td>
                <td className="actions">
                  {state.active && (
                    <RowButton label="Revoke" disabled={busy} onClick={() => revokeLink(link)} />
                  )}
                </td>
              </tr>
            );
          })}
        </DataTable>
      )}
    </div>
  );
}
