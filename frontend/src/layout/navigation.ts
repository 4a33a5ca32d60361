import type { Role } from '../api/types';
import { importRoles } from '../lib/imports';
import { exportRoles } from '../lib/exports';

export type NavSectionTitle = 'Account' | 'Admin';

export type NavItem = { label: string; to: string; external?: boolean; roles?: Role[]; section?: NavSectionTitle };

export type NavSection = { title: NavSectionTitle | null; items: NavItem[] };

// Pages add themselves here; `roles` limits an entry to those roles, `section` groups it under a heading.
export const navigation: NavItem[] = [
  { label: 'Patients', to: '/patients' },
  { label: 'Studies', to: '/studies' },
  { label: 'Import', to: '/import', roles: importRoles },
  { label: 'Export', to: '/exports', roles: exportRoles },
  { label: 'System status', to: '/status' },
  { label: 'Viewer', to: '/viewer/', external: true },
  { label: 'Password', to: '/account/password', section: 'Account' },
  { label: 'Sessions', to: '/account/sessions', section: 'Account' },
  { label: 'API tokens', to: '/account/tokens', section: 'Account' },
  { label: 'Users', to: '/admin/users', section: 'Admin', roles: ['admin'] },
  { label: 'Groups', to: '/admin/groups', section: 'Admin', roles: ['admin'] },
  { label: 'Sessions', to: '/admin/sessions', section: 'Admin', roles: ['admin'] },
  { label: 'Audit log', to: '/admin/audit', section: 'Admin', roles: ['admin'] },
  { label: 'Data-use ledger', to: '/admin/ledger', section: 'Admin', roles: ['admin'] },
];

export function visibleNavigation(role: Role, items: NavItem[] = navigation): NavItem[] {
  return items.filter((item) => !item.roles || item.roles.includes(role));
}

/** The visible entries grouped for the sidebar: ungrouped first, then each section in order; empty sections are left out. */
export function navigationSections(role: Role, items: NavItem[] = navigation): NavSection[] {
  const visible = visibleNavigation(role, items);
  const titles: (NavSectionTitle | null)[] = [null, 'Account', 'Admin'];
  return titles
    .map((title) => ({ title, items: visible.filter((item) => (item.section ?? null) === title) }))
    .filter((section) => section.items.length > 0);
}
