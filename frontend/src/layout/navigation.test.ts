import { describe, expect, it } from 'vitest';
import { visibleNavigation, type NavItem } from './navigation';

describe('navigation', () => {
  const items: NavItem[] = [
    { label: 'Everyone', to: '/a' },
    { label: 'Admins', to: '/b', roles: ['admin'] },
  ];

  it('shows role-limited entries only to those roles', () => {
    expect(visibleNavigation('admin', items).map((i) => i.label)).toEqual(['Everyone', 'Admins']);
    expect(visibleNavigation('researcher', items).map((i) => i.label)).toEqual(['Everyone']);
  });

  it('links the viewer as a full page load, outside the dashboard router', () => {
    const viewer = visibleNavigation('radiologist').find((i) => i.label === 'Viewer');
    expect(viewer).toMatchObject({ to: '/viewer/', external: true });
  });
});
