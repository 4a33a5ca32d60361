import { describe, expect, it } from 'vitest';
import { returnPathFrom } from './returnPath';

describe('returnPathFrom', () => {
  it('returns to the page the visitor asked for, with its query and hash', () => {
    expect(returnPathFrom({ from: '/status' })).toBe('/status');
    expect(returnPathFrom({ from: '/studies?page=2#top' })).toBe('/studies?page=2#top');
  });

  it('falls back to the home page without a usable path', () => {
    for (const state of [null, undefined, {}, { from: 42 }, { from: '' }, { from: 'status' }]) expect(returnPathFrom(state)).toBe('/');
  });

  it('never leaves the app or loops back to the login page', () => {
    for (const from of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', '/login', '/login?x=1']) expect(returnPathFrom({ from })).toBe('/');
  });
});
