import { describe, expect, it } from 'vitest';
import { queryString } from './query';

describe('queryString', () => {
  it('encodes the given parameters and leaves out blank ones', () => {
    expect(queryString({ q: 'Doe John', limit: 25, offset: 0, empty: '', missing: undefined, none: null, spaces: '  ' })).toBe('?q=Doe+John&limit=25&offset=0');
    expect(queryString({})).toBe('');
  });
});
