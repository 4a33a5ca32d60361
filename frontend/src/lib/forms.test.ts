import { describe, expect, it } from 'vitest';
import { localInputToIso, newPasswordProblem, pageFromParam, parseWholeNumber } from './forms';

describe('parseWholeNumber', () => {
  it('accepts whole numbers inside the range only', () => {
    expect(parseWholeNumber('30', 1, 365)).toBe(30);
    expect(parseWholeNumber(' 1 ', 1, 365)).toBe(1);
    expect(parseWholeNumber('365', 1, 365)).toBe(365);
    for (const text of ['0', '366', '1.5', '-3', '', 'ten', '1e2']) expect(parseWholeNumber(text, 1, 365)).toBeNull();
  });
});

describe('newPasswordProblem', () => {
  it('only checks that both copies agree; the server judges the password itself', () => {
    expect(newPasswordProblem('correct horse battery', 'correct horse battery')).toBeNull();
    expect(newPasswordProblem('correct horse battery', 'correct horse batery')).toBe('The new passwords do not match.');
    expect(newPasswordProblem('a', 'b', 'passwords')).toBe('The passwords do not match.');
  });
});

describe('localInputToIso', () => {
  it('reads a datetime-local value as local time', () => {
    expect(localInputToIso('2025-05-01T10:30')).toBe(new Date(2025, 4, 1, 10, 30).toISOString());
    expect(localInputToIso('')).toBeUndefined();
    expect(localInputToIso('garbage')).toBeUndefined();
  });
});

describe('pageFromParam', () => {
  it('is 1-based and forgiving', () => {
    expect(pageFromParam('3')).toBe(3);
    for (const value of [null, '', '0', '-1', '2.5', 'x']) expect(pageFromParam(value)).toBe(1);
  });
});
