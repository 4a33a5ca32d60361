import type { Role } from '../api/types';

export type NavItem = { label: string; to: string; external?: boolean; roles?: Role[] };

// Pages add themselves here; `roles` limits an entry to those roles.
export const navigation: NavItem[] = [
  { label: 'System status', to: '/status' },
  { label: 'Viewer', to: '/viewer/', external: true },
];

export function visibleNavigation(role: Role, items: NavItem[] = navigation): NavItem[] {
  return items.filter((item) => !item.roles || item.roles.includes(role));
}
