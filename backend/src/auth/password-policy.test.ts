import { describe, expect, it } from 'vitest';
import { passwordProblem } from './password-policy.js';

describe('password policy', () => {
  const options = { minLength: 12, email: 'maria.rossi@hospital.org' };

  it('accepts a long, uncommon password', () => {
    expect(passwordProblem('correct horse battery staple', options)).toBeNull();
  });

  it('refuses short, common, repeated and e-mail-based passwords with a reason', () => {
    expect(passwordProblem('short', options)).toMatch(/at least 12 characters/);
    expect(passwordProblem('password1234', options)).toMatch(/most common/);
    expect(passwordProblem('Qwertyuiop123', options)).toMatch(/most common/);
    expect(passwordProblem('aaaaaaaaaaaaaaa', options)).toMatch(/repeated/);
    expect(passwordProblem('maria.rossi-2026!', options)).toMatch(/e-mail name/);
  });
});
