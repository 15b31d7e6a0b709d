import { action, json, query } from '@solidjs/router';
import type { AuditListResponse, ChainVerification } from '../../shared/audit.ts';
import { request, withQuery } from './http.ts';

const AUDIT_PAGE_SIZE = 50;

/** GET /api/audit/events: one page, newest first, older than the keyset cursor `after`. */
export const listAuditEvents = query(
  (after: string | null) =>
    request<AuditListResponse>('GET', withQuery('/api/audit/events', { after, limit: AUDIT_PAGE_SIZE })),
  'auditEvents',
);

/**
 * GET /api/audit/verify. An action although it reads: it runs when a reviewer asks, and its
 * submission carries the pending state and the answer.
 */
export const verifyAuditChain = action(async () => {
  const verification = await request<ChainVerification>('GET', '/api/audit/verify');
  return json(verification, { revalidate: [] });
}, 'verifyAuditChain');
