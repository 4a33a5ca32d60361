import { describe, expect, it } from 'vitest';
import { CHANGE_PASSWORD_PATH, mustChangePasswordFirst } from './passwordGate';

describe('mustChangePasswordFirst', () => {
  it('keeps a user with a password to change on the password page', () => {
    const user = { mustChangePassword: true };
    expect(mustChangePasswordFirst(user, '/studies')).toBe(true);
    expect(mustChangePasswordFirst(user, '/admin/users')).toBe(true);
    expect(mustChangePasswordFirst(user, CHANGE_PASSWORD_PATH)).toBe(false);
  });

  it('lets everyone else go anywhere', () => {
    expect(mustChangePasswordFirst({ mustChangePassword: false }, '/studies')).toBe(false);
    expect(mustChangePasswordFirst(null, '/studies')).toBe(false);
  });
});
