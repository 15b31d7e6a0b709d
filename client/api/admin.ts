import { action, json, query } from '@solidjs/router';
import type {
  CreateUserRequest,
  CreateUserResponse,
  NewEnrollmentResponse,
  PendingChangeResponse,
  PendingEnrollmentLinkResponse,
  PublicUser,
  Role,
  UpdateUserRequest,
  UserListResponse,
  UserStatus,
} from '../../shared/api.ts';
import { request, withQuery } from './http.ts';
import { listAdminKeys } from './adminKeys.ts';
import { withStepUp } from './stepUp.ts';

const USER_PAGE_SIZE = 50;
/** listPendingChanges' key (client/api/pendingChanges.ts), named here: that module reads this one's lists. */
const PENDING_CHANGES_KEY = 'pendingChanges';

/** What the users table is narrowed to; an empty string means any. */
export interface UserFilters {
  q: string;
  role: Role | '';
  status: UserStatus | '';
}

export const ALL_USERS: UserFilters = { q: '', role: '', status: '' };

export function sameFilters(a: UserFilters, b: UserFilters): boolean {
  return a.q === b.q && a.role === b.role && a.status === b.status;
}

/** GET /api/admin/users: one page, after the keyset cursor `after`. */
export const listUsers = query(
  (filters: UserFilters, after: string | null) =>
    request<UserListResponse>(
      'GET',
      withQuery('/api/admin/users', { ...filters, after, limit: USER_PAGE_SIZE }),
    ),
  'users',
);

/*
 * Every admin change needs a fresh step-up: `withStepUp` asks for the touch when the server
 * answers STEP_UP_REQUIRED and sends the change once more.
 */

/** POST /api/admin/users. An admin may be created as a user whose promotion waits for a second admin. */
export const createUser = action(async (user: CreateUserRequest) => {
  const created = await withStepUp(() => request<CreateUserResponse>('POST', '/api/admin/users', { body: user }));
  return json(created, { revalidate: created.pendingChange ? [listUsers.key, PENDING_CHANGES_KEY] : listUsers.key });
}, 'createUser');

/**
 * PATCH /api/admin/users/:id. A promotion to admin may answer a pending change instead (202):
 * it waits for a second admin (the two-person rule).
 */
export const updateUser = action(async (id: string, changes: UpdateUserRequest) => {
  const updated = await withStepUp(() =>
    request<{ user: PublicUser } | PendingChangeResponse>('PATCH', `/api/admin/users/${encodeURIComponent(id)}`, { body: changes }),
  );
  return json(updated, { revalidate: 'pendingChange' in updated ? PENDING_CHANGES_KEY : listUsers.key });
}, 'updateUser');

/**
 * POST /api/admin/users/:id/enrollment: a new one-time link, revoking the older ones. For a user
 * with keys or an admin it may answer a pending change with the link (202): the link works once
 * a second admin approves.
 */
export const issueEnrollmentLink = action(async (id: string) => {
  const link = await withStepUp(() =>
    request<NewEnrollmentResponse | PendingEnrollmentLinkResponse>('POST', `/api/admin/users/${encodeURIComponent(id)}/enrollment`),
  );
  return json(link, { revalidate: 'pendingChange' in link ? PENDING_CHANGES_KEY : [] });
}, 'issueEnrollmentLink');

/** DELETE /api/admin/users/:id: the user and their keys go; their audit history stays. */
export const deleteUser = action(async (id: string) => {
  await withStepUp(() => request<void>('DELETE', `/api/admin/users/${encodeURIComponent(id)}`));
  // An action answering nothing counts as never submitted: say what happened.
  return json({ deleted: id }, { revalidate: [listUsers.key, listAdminKeys.key] });
}, 'deleteUser');
