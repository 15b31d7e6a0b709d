import { action, json, query } from '@solidjs/router';
import type { AdminGrantListResponse, AdminSessionListResponse } from '../../shared/api.ts';
import type { AuditListResponse } from '../../shared/audit.ts';
import { request, withQuery } from './http.ts';
import { withStepUp } from './stepUp.ts';

/** How many recent audit events the live feed starts with, before live ones arrive. */
export const FEED_BACKLOG = 20;

/** GET /api/admin/sessions: signed-in sessions of every user, most recently seen first. */
export const listAdminSessions = query(
  () => request<AdminSessionListResponse>('GET', '/api/admin/sessions'),
  'adminSessions',
);

/** DELETE /api/admin/sessions/:id: signs that browser out everywhere. */
export const endAdminSession = action(async (id: string) => {
  await withStepUp(() => request<void>('DELETE', `/api/admin/sessions/${encodeURIComponent(id)}`));
  // An action answering nothing counts as never submitted: say what happened.
  return json({ ended: id }, { revalidate: [listAdminSessions.key, listAdminGrants.key] });
}, 'endAdminSession');

/** GET /api/admin/grants: every live grant. */
export const listAdminGrants = query(
  () => request<AdminGrantListResponse>('GET', '/api/admin/grants'),
  'adminGrants',
);

/** DELETE /api/admin/grants/:id: the grant ends now, its session is told. */
export const revokeAdminGrant = action(async (id: string) => {
  await withStepUp(() => request<void>('DELETE', `/api/admin/grants/${encodeURIComponent(id)}`));
  return json({ revoked: id }, { revalidate: listAdminGrants.key });
}, 'revokeAdminGrant');

/** GET /api/audit/events: the newest few, for the feed to start with. */
export const listRecentSecurityEvents = query(
  () => request<AuditListResponse>('GET', withQuery('/api/audit/events', { limit: FEED_BACKLOG })),
  'recentSecurityEvents',
);
