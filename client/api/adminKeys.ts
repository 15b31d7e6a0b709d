import { action, json, query } from '@solidjs/router';
import type {
  KeyListResponse,
  KeyStatus,
  KeyStatusChangeRequest,
  ReassignKeyRequest,
  SecurityKeyView,
} from '../../shared/api.ts';
import { request, withQuery } from './http.ts';
import { withStepUp } from './stepUp.ts';

const KEY_PAGE_SIZE = 50;

const keyPath = (id: string) => `/api/admin/keys/${encodeURIComponent(id)}`;

/** What the admin key table is narrowed to; an empty string means any. */
export interface KeyFilters {
  /** The owner's username, exactly (any case). */
  owner: string;
  status: KeyStatus | '';
  /** One key by id, from a link (the audit log's); the filter bar never sets it. */
  key?: string;
}

export const ALL_KEYS: KeyFilters = { owner: '', status: '' };

export function sameKeyFilters(a: KeyFilters, b: KeyFilters): boolean {
  return a.owner === b.owner && a.status === b.status && a.key === b.key;
}

/** GET /api/admin/keys: one page of every user's keys, after the keyset cursor `after`. */
export const listAdminKeys = query(
  (filters: KeyFilters, after: string | null) =>
    request<KeyListResponse>('GET', withQuery('/api/admin/keys', { ...filters, after, limit: KEY_PAGE_SIZE })),
  'adminKeys',
);

/*
 * Each change below ends the grants and sessions the key opened (the server decides which),
 * and needs a fresh step-up: `withStepUp` asks for the touch and sends the change again.
 */

/** POST /api/admin/keys/:id/status: deactivate, or reactivate (a suspended key needs a reason). */
export const setAdminKeyStatus = action(async (id: string, change: KeyStatusChangeRequest) => {
  const changed = await withStepUp(() =>
    request<{ key: SecurityKeyView }>('POST', `${keyPath(id)}/status`, { body: change }),
  );
  return json(changed, { revalidate: listAdminKeys.key });
}, 'setAdminKeyStatus');

/** POST /api/admin/keys/:id/reassign */
export const reassignAdminKey = action(async (id: string, to: ReassignKeyRequest) => {
  const moved = await withStepUp(() =>
    request<{ key: SecurityKeyView }>('POST', `${keyPath(id)}/reassign`, { body: to }),
  );
  return json(moved, { revalidate: listAdminKeys.key });
}, 'reassignAdminKey');

/** DELETE /api/admin/keys/:id */
export const deleteAdminKey = action(async (id: string) => {
  await withStepUp(() => request<void>('DELETE', keyPath(id)));
  return json({ deleted: id }, { revalidate: listAdminKeys.key });
}, 'deleteAdminKey');
