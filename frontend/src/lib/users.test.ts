import { describe, expect, it } from 'vitest';
import type { AdminUser } from '../api/types';
import { draftOf, userChanges } from './users';

const user: AdminUser = {
  id: 'u1',
  email: 'ana@example.org',
  displayName: 'Ana',
  role: 'researcher',
  isActive: true,
  mustChangePassword: false,
  createdAt: '2025-01-01T00:00:00Z',
  groups: [
    { id: 'g1', name: 'Radiology' },
    { id: 'g2', name: 'Oncology' },
  ],
};

describe('userChanges', () => {
  it('is empty when nothing changed, whatever the order of the groups', () => {
    expect(userChanges(user, draftOf(user))).toEqual({});
    expect(userChanges(user, { ...draftOf(user), groupIds: ['g2', 'g1'] })).toEqual({});
  });

  it('sends only the fields that changed', () => {
    expect(userChanges(user, { ...draftOf(user), role: 'admin' })).toEqual({ role: 'admin' });
    expect(userChanges(user, { ...draftOf(user), displayName: '  Ana Lopez ' })).toEqual({ displayName: 'Ana Lopez' });
    expect(userChanges(user, { ...draftOf(user), groupIds: ['g1'] })).toEqual({ groupIds: ['g1'] });
    expect(userChanges(user, { ...draftOf(user), groupIds: ['g1', 'g3'] })).toEqual({ groupIds: ['g1', 'g3'] });
  });
});
