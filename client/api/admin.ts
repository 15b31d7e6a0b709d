import { action, json, query } from '@solidjs/router';
import type {
  CreateUserRequest,
  CreateUserResponse,
  NewEnrollmentResponse,
  PublicUser,
  Role,
  UpdateUserRequest,
  UserListResponse,
  UserStatus,
} from '../../shared/api.ts';
import { request, withQuery } from './http.ts';

const USER_PAGE_SIZE = 50;

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

/** POST /api/admin/users */
export const createUser = action(async (user: CreateUserRequest) => {
  const created = await request<CreateUserResponse>('POST', '/api/admin/users', { body: user });
  return json(created, { revalidate: listUsers.key });
}, 'createUser');

/** PATCH /api/admin/users/:id */
export const updateUser = action(async (id: string, changes: UpdateUserRequest) => {
  const updated = await request<{ user: PublicUser }>(
    'PATCH',
    `/api/admin/users/${encodeURIComponent(id)}`,
    { body: changes },
  );
  return json(updated, { revalidate: listUsers.key });
}, 'updateUser');

/** POST /api/admin/users/:id/enrollment: a new one-time link, revoking the older ones. */
export const issueEnrollmentLink = action(async (id: string) => {
  const link = await request<NewEnrollmentResponse>(
    'POST',
    `/api/admin/users/${encodeURIComponent(id)}/enrollment`,
  );
  return json(link, { revalidate: [] });
}, 'issueEnrollmentLink');
