/** The two-person rule (threat model G9): request and response types of the JSON API. */
import type { ModelSettings } from './adminConsole.ts';
import type { Role, UserStatus } from './roles.ts';

/**
 * The changes a second admin must approve while two or more admins can approve:
 * - enrollment_link: a recovery enrollment link for a user who has active keys or is an admin;
 * - promote_admin: a user given the admin role (an admin created by another admin included), by an
 *   admin or by the groups of their own company sign-in (source company_groups);
 * - model_endpoint: a model's base URL or API-key variable changed.
 */
export const PENDING_CHANGE_KINDS = ['enrollment_link', 'promote_admin', 'model_endpoint'] as const;
export type PendingChangeKind = (typeof PENDING_CHANGE_KINDS)[number];

export const PENDING_CHANGE_STATUSES = ['pending', 'applied', 'rejected', 'cancelled', 'expired'] as const;
export type PendingChangeStatus = (typeof PENDING_CHANGE_STATUSES)[number];

/**
 * Who asked for a pending change: an admin, or (promote_admin only) the company sign-in of its
 * target, whose groups at the provider name an admin group (OIDC_ADMIN_GROUPS, threat model G20).
 */
export const PENDING_CHANGE_SOURCES = ['admin', 'company_groups'] as const;
export type PendingChangeSource = (typeof PENDING_CHANGE_SOURCES)[number];

/** How long a pending change may be approved, from the moment it is asked (issue #22: 24 h). */
export const PENDING_CHANGE_HOURS = 24;

/** A model change as it was asked (the PATCH body): the settings it sets. */
export type ModelChangeRequest = Partial<ModelSettings> & { enabled?: boolean };

interface PendingChangeBase {
  id: string;
  status: PendingChangeStatus;
  /** company_groups: `requestedBy` is the target, whose company sign-in asked. */
  source: PendingChangeSource;
  requestedBy: { id: string; username: string };
  requestedAt: string;
  /** Until when a second admin may approve it. */
  expiresAt: string;
  /** Who approved, rejected or cancelled it (null while pending, and when it expired). */
  decidedBy: { id: string; username: string } | null;
  decidedAt: string | null;
}

/** A change waiting for (or decided by) a second admin, as the console shows it. */
export type PendingChangeView = PendingChangeBase &
  (
    | { kind: 'enrollment_link'; target: { type: 'user'; id: string; username: string; role: Role } }
    | {
        kind: 'promote_admin';
        target: { type: 'user'; id: string; username: string; role: Role };
        change: { role: 'admin'; status?: UserStatus };
        /** source company_groups: the groups the provider named at that sign-in. */
        groups?: string[];
      }
    | {
        kind: 'model_endpoint';
        target: { type: 'model'; id: string; displayName: string };
        change: ModelChangeRequest;
        /** The model's settings when it was asked, for a before → after. */
        before: ModelSettings & { enabled: boolean };
      }
  );

/** GET /api/admin/pending-changes: the changes waiting for approval, newest first. */
export interface PendingChangeListResponse {
  pendingChanges: PendingChangeView[];
}

/** POST /api/admin/pending-changes/:id/approve, /reject, /cancel: the change as it now stands. */
export interface PendingChangeResponse {
  pendingChange: PendingChangeView;
}

/**
 * 202 from POST /api/admin/users/:id/enrollment when a second admin must approve: the link is
 * shown now, once, to the admin who asked (only its hash is kept), and works once approved,
 * for ENROLLMENT_TTL_HOURS from the approval.
 */
export interface PendingEnrollmentLinkResponse extends PendingChangeResponse {
  enrollment: { url: string; validHoursAfterApproval: number };
}

/** Whether the answer to a change the rule covers is a pending change (202) rather than the change made. */
export function isPendingChangeAnswer(answer: unknown): answer is PendingChangeResponse {
  return typeof answer === 'object' && answer !== null && 'pendingChange' in answer;
}
