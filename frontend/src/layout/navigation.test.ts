import { describe, expect, it } from 'vitest';
import { navigationSections, visibleNavigation, type NavItem } from './navigation';

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

describe('navigationSections', () => {
  const titlesAndLabels = (role: Parameters<typeof navigationSections>[0]) =>
    navigationSections(role).map((section) => [section.title, section.items.map((item) => item.label)]);

  it('lists the main pages, then Account, then Admin for admins', () => {
    expect(titlesAndLabels('admin')).toEqual([
      [null, ['Patients', 'Studies', 'Import', 'Export', 'System status', 'Viewer']],
      ['Account', ['Password', 'Sessions', 'API tokens']],
      ['Admin', ['Users', 'Groups', 'Sessions', 'Audit log', 'Data-use ledger']],
    ]);
  });

  it('offers Import to the roles that may import, not to radiologists', () => {
    expect(titlesAndLabels('researcher')[0]).toEqual([null, ['Patients', 'Studies', 'Import', 'Export', 'System status', 'Viewer']]);
    expect(titlesAndLabels('radiologist')[0]).toEqual([null, ['Patients', 'Studies', 'System status', 'Viewer']]);
  });

  it('hides the Admin section from everyone else', () => {
    for (const role of ['researcher', 'radiologist'] as const) {
      expect(titlesAndLabels(role).map(([title]) => title)).toEqual([null, 'Account']);
      expect(visibleNavigation(role).some((item) => item.to.startsWith('/admin/'))).toBe(false);
    }
  });
});
