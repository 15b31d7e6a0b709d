import { action, json, query } from '@solidjs/router';
import type { DetectorListResponse, PairingCodeResponse } from '../../shared/detector.ts';
import { request, withQuery } from './http.ts';
import { withStepUp } from './stepUp.ts';

/** GET /api/detectors: the signed-in user's paired detectors, with online status and keys seen. */
export const listMyDetectors = query(() => request<DetectorListResponse>('GET', '/api/detectors'), 'myDetectors');

/**
 * POST /api/detectors/pairing-codes: a one-time code and the command that pairs a detector
 * with it. A paired detector can end the owner's grants, so it needs a fresh step-up.
 */
export function createPairingCode(): Promise<PairingCodeResponse> {
  return withStepUp(() => request<PairingCodeResponse>('POST', '/api/detectors/pairing-codes'));
}

/** DELETE /api/detectors/:id: its connection closes at once. */
export const revokeMyDetector = action(async (id: string) => {
  await request<void>('DELETE', `/api/detectors/${encodeURIComponent(id)}`);
  return json({ revoked: id }, { revalidate: listMyDetectors.key });
}, 'revokeMyDetector');

/** GET /api/admin/detectors: every detector, one keyset page after `after`. */
export const listAllDetectors = query(
  (after: string | null) => request<DetectorListResponse>('GET', withQuery('/api/admin/detectors', { after })),
  'allDetectors',
);

/** DELETE /api/admin/detectors/:id: an admin change, so it needs a fresh step-up. */
export const revokeAnyDetector = action(async (id: string) => {
  await withStepUp(() => request<void>('DELETE', `/api/admin/detectors/${encodeURIComponent(id)}`));
  return json({ revoked: id }, { revalidate: listAllDetectors.key });
}, 'revokeAnyDetector');
