/**
 * The audit taxonomy: every action Argus records, with its default severity.
 * One list, used by the server when writing and by the SPA when showing.
 */
export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const OUTCOMES = ['success', 'failure', 'denied'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const AUDIT_ACTIONS = {
  'auth.signin': 'info',
  'auth.signin_failed': 'medium',
  'auth.signout': 'info',
  'auth.session_ended': 'low',
  'auth.password_verified': 'info',
  'auth.step_up': 'info',
  'auth.key_mismatch': 'high',
  'webauthn.options_issued': 'info',
  'webauthn.assertion_failed': 'medium',
  'webauthn.registration_failed': 'medium',
  'key.registered': 'medium',
  'key.renamed': 'low',
  'key.removed': 'medium',
  'key.deactivated': 'high',
  'key.reactivated': 'high',
  'key.reassigned': 'high',
  'key.deleted': 'high',
  'key.suspended': 'critical',
  'enrollment.resumed': 'info',
  'grant.issued': 'medium',
  'grant.renewed': 'low',
  'grant.revoked': 'medium',
  'grant.expired': 'info',
  'grant.denied': 'medium',
  'device_info_mismatch': 'medium',
  'model.access': 'low',
  'model.stream_cut': 'medium',
  'enrollment.created': 'medium',
  'enrollment.password_set': 'info',
  'enrollment.completed': 'medium',
  'user.created': 'medium',
  'user.admin_created': 'high',
  'user.disabled': 'high',
  'user.enabled': 'medium',
  'user.role_changed': 'high',
  'user.password_rehashed': 'info',
  'detector.pairing_code_issued': 'low',
  'detector.paired': 'medium',
  'detector.pairing_failed': 'medium',
  'detector.revoked': 'medium',
  'detector.auth_failed': 'medium',
  'detector.serial_bound': 'medium',
  'detector.key_mismatch': 'high',
  'user.deleted': 'high',
  'model.added': 'medium',
  'model.changed': 'medium',
  'model.enabled': 'medium',
  'model.disabled': 'medium',
  'model.tested': 'info',
  'auth.rate_limited': 'high',
} as const satisfies Record<string, Severity>;

export type AuditAction = keyof typeof AUDIT_ACTIONS;

/** One audit event as the API returns it. */
export interface AuditEventView {
  seq: number;
  time: string;
  actorId: string | null;
  actorUsername: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  outcome: Outcome;
  severity: Severity;
  ip: string | null;
  userAgent: string | null;
  model: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** GET /api/audit/events */
export interface AuditListResponse {
  events: AuditEventView[];
  nextCursor: string | null;
}

/** GET /api/audit/verify */
export type ChainVerification =
  | { intact: true; checked: number; headSeq: number | null; headHash: string | null }
  | {
      intact: false;
      checked: number;
      brokenAt: number;
      reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'sequence_gap';
    };
