import { ROLES, type Role } from '../shared/api.ts';

/** A part of the app that only some roles may open. The server enforces the same rule. */
export interface Section {
  path: string;
  title: string;
  summary: string;
  roles: readonly Role[];
}

/** The one list behind the navigation, the home page's cards and the route guard. */
export const SECTIONS: readonly Section[] = [
  {
    path: '/chat',
    title: 'Chat',
    summary: 'Talk to the models. Restricted ones open with a touch of your own security key.',
    roles: ROLES,
  },
  {
    path: '/admin',
    title: 'Admin console',
    summary: 'Create users, hand out enrollment links, change roles, disable accounts.',
    roles: ['admin'],
  },
  {
    path: '/audit',
    title: 'Audit log',
    summary: 'Browse security events and verify the tamper-evident chain.',
    roles: ['auditor', 'admin'],
  },
  {
    path: '/account',
    title: 'Account',
    summary: 'Your profile, your security keys and where you are signed in.',
    roles: ROLES,
  },
];

export function sectionsFor(role: Role): Section[] {
  return SECTIONS.filter((section) => section.roles.includes(role));
}

/** Whether `role` may open `pathname`; paths outside every section are open to anyone signed in. */
export function mayOpen(role: Role, pathname: string): boolean {
  const section = SECTIONS.find(
    (candidate) => pathname === candidate.path || pathname.startsWith(`${candidate.path}/`),
  );
  return !section || section.roles.includes(role);
}

export const ROLE_LABELS: Record<Role, string> = { user: 'User', admin: 'Admin', auditor: 'Auditor' };
