import { describe, expect, it } from 'vitest';
import { isOutsideDashboard, returnPathFrom } from './returnPath';

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

  it('takes the ?next= path the gateway adds for /viewer/, with the same checks', () => {
    expect(returnPathFrom(null, '?next=%2Fviewer%2Fviewer%3FStudyInstanceUIDs%3D1.2.3')).toBe('/viewer/viewer?StudyInstanceUIDs=1.2.3');
    expect(returnPathFrom(null, '?next=%2F%2Fevil.example')).toBe('/');
    expect(returnPathFrom({ from: '/status' }, '?next=%2Fviewer%2F')).toBe('/status');
    expect(returnPathFrom(null, '?next=/viewer/viewer?StudyInstanceUIDs=1.2&hangingprotocolId=mpr')).toBe('/viewer/viewer?StudyInstanceUIDs=1.2&hangingprotocolId=mpr');
    expect(returnPathFrom(null, '?next=%E0%A4%A')).toBe('/');
  });

  it('knows which paths leave the dashboard router', () => {
    expect(isOutsideDashboard('/viewer/')).toBe(true);
    expect(isOutsideDashboard('/viewer/viewer?StudyInstanceUIDs=1')).toBe(true);
    expect(isOutsideDashboard('/api/docs')).toBe(true);
    expect(isOutsideDashboard('/status')).toBe(false);
    expect(isOutsideDashboard('/viewerish')).toBe(false);
  });
});
