/**
 * Models and presence-bound grants: which models there are, the grant that unlocks the
 * restricted ones, and the two ways it ends early from this browser.
 */
import { query } from '@solidjs/router';
import type {
  GrantResponse,
  ModelListResponse,
  RevokeGrantRequest,
  VerifyKeyOwnershipRequest,
} from '../../shared/api.ts';
import { request } from './http.ts';
import { assertionCeremony } from './keyCeremonies.ts';

/** GET /api/models */
export const listModels = query(() => request<ModelListResponse>('GET', '/api/models'), 'models');

/** GET /api/grants/current: this session's live grant, if any. */
export function fetchCurrentGrant(): Promise<GrantResponse> {
  return request<GrantResponse>('GET', '/api/grants/current');
}

/** What an unlock says about the key's presence besides the assertion itself. */
export type PresenceClaim = Omit<VerifyKeyOwnershipRequest, 'response'>;

/**
 * POST /api/verify-key-ownership/options, a touch of one of the user's own hardware keys,
 * POST /api/verify-key-ownership. A fresh assertion is the only thing that creates (or
 * renews) a grant; `presence` describes what the browser sees, looked up after the touch.
 */
export function verifyKeyOwnership(presence: () => Promise<PresenceClaim>): Promise<GrantResponse> {
  return assertionCeremony<GrantResponse, PresenceClaim>('/api/verify-key-ownership', presence);
}

/** DELETE /api/grants/current: ends this session's grant (the key was removed, or the person locked). */
export function revokeGrant(reason: RevokeGrantRequest['reason']): Promise<void> {
  const body: RevokeGrantRequest = { reason };
  return request<void>('DELETE', '/api/grants/current', { body });
}
