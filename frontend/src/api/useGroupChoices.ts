import { apiFetch } from './client';
import type { Group, GroupRef, SessionUser } from './types';
import { useLoad } from './useLoad';

/** Groups the user may pick (import into, filter by, move to): admins any group, everyone else their own. */
export function useGroupChoices(user: SessionUser | null) {
  return useLoad<GroupRef[]>(
    (signal) =>
      user?.role === 'admin'
        ? apiFetch<{ groups: Group[] }>('/api/admin/groups', { signal }).then((body) => body.groups.map(({ id, name }) => ({ id, name })))
        : Promise.resolve(user?.groups ?? []),
    [user?.role, user?.groups],
    'The groups could not be loaded.',
  );
}
