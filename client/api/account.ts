import { action, json, query } from '@solidjs/router';
import type { KeyListResponse, RenameKeyRequest, SecurityKeyView, SessionListResponse } from '../../shared/api.ts';
import { request, withQuery } from './http.ts';
import { registrationCeremony } from './keyCeremonies.ts';
import { withStepUp } from './stepUp.ts';
import { changeWithStepUp, deleteWithStepUp } from './stepUpChanges.ts';

const keyPath = (id: string) => `/api/account/keys/${encodeURIComponent(id)}`;

/** GET /api/account/keys: the signed-in user's keys, one page after the keyset cursor `after`. */
export const listMyKeys = query(
  (after: string | null) => request<KeyListResponse>('GET', withQuery('/api/account/keys', { after })),
  'myKeys',
);

/**
 * Step-up if needed (a touch of a registered key), then POST /api/account/keys/options, a
 * touch of the new key, POST /api/account/keys.
 */
export const addMyKey = action(async (nickname: string) => {
  const added = await withStepUp(
    () => registrationCeremony<{ key: SecurityKeyView }>('/api/account/keys', nickname),
    { checkFirst: true },
  );
  return json(added, { revalidate: listMyKeys.key });
}, 'addMyKey');

/** PATCH /api/account/keys/:id */
export const renameMyKey = action((id: string, nickname: string) => {
  const body: RenameKeyRequest = { nickname };
  return changeWithStepUp<{ key: SecurityKeyView }>({ method: 'PATCH', path: keyPath(id), body, revalidate: listMyKeys.key });
}, 'renameMyKey');

/** DELETE /api/account/keys/:id; 409 LAST_KEY for the last active one. */
export const removeMyKey = action(
  (id: string) => deleteWithStepUp({ path: keyPath(id), done: { removed: id }, revalidate: listMyKeys.key }),
  'removeMyKey',
);

/** GET /api/account/sessions */
export const listMySessions = query(() => request<SessionListResponse>('GET', '/api/account/sessions'), 'mySessions');

/** DELETE /api/account/sessions/:id: signs that browser out. */
export const endMySession = action(
  (id: string) =>
    deleteWithStepUp({ path: `/api/account/sessions/${encodeURIComponent(id)}`, done: { ended: id }, revalidate: listMySessions.key }),
  'endMySession',
);
