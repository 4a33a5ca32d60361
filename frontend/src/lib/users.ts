import type { AdminUser, Role } from '../api/types';

export type UserDraft = { displayName: string; role: Role; groupIds: string[] };

export function draftOf(user: AdminUser): UserDraft {
  return { displayName: user.displayName, role: user.role, groupIds: user.groups.map((group) => group.id) };
}

export type UserChanges = Partial<UserDraft>;

/** Only what the admin actually changed, so the audit log records just that. */
export function userChanges(user: AdminUser, draft: UserDraft): UserChanges {
  const changes: UserChanges = {};
  const displayName = draft.displayName.trim();
  if (displayName !== user.displayName) changes.displayName = displayName;
  if (draft.role !== user.role) changes.role = draft.role;
  const before = new Set(user.groups.map((group) => group.id));
  const after = new Set(draft.groupIds);
  if (before.size !== after.size || [...after].some((id) => !before.has(id))) changes.groupIds = [...after];
  return changes;
}
