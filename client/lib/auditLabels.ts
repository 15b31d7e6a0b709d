import type { AuditAction } from '../../shared/audit.ts';

/**
 * What each audit action means, in words a reviewer reads at a glance: the audit table, an
 * event's drawer and the live security feed all say it this way. Typed against the taxonomy,
 * so an action added to AUDIT_ACTIONS without its label here does not compile.
 */
export const AUDIT_ACTION_LABELS = {
  'auth.signin': 'Signed in',
  'auth.signin_failed': 'Sign-in failed',
  'auth.signout': 'Signed out',
  'auth.session_ended': 'Session ended',
  'auth.password_verified': 'Password accepted',
  'auth.step_up': 'Confirmed with key',
  'auth.key_mismatch': 'Key registered to another account was used',
  'auth.rate_limited': 'Sign-in rate limit tripped',
  'webauthn.options_issued': 'Key challenge issued',
  'webauthn.assertion_failed': 'Security key check failed',
  'webauthn.registration_failed': 'Key registration failed',
  'key.registered': 'Key registered',
  'key.renamed': 'Key renamed',
  'key.removed': 'Key removed',
  'key.deactivated': 'Key deactivated',
  'key.reactivated': 'Key reactivated',
  'key.reassigned': 'Key moved to another user',
  'key.deleted': 'Key deleted',
  'key.suspended': 'Clone detected: key suspended',
  'enrollment.created': 'Enrollment link issued',
  'enrollment.resumed': 'Enrollment resumed',
  'enrollment.password_set': 'Password chosen',
  'enrollment.completed': 'Enrollment completed',
  'grant.issued': 'Restricted models unlocked',
  'grant.renewed': 'Restricted access renewed',
  'grant.revoked': 'Restricted access ended',
  'grant.expired': 'Restricted access expired',
  'grant.denied': 'Restricted access refused',
  'device_info_mismatch': 'Key hardware did not match its registration',
  'model.access': 'Restricted model used',
  'model.stream_cut': 'Restricted answer cut off',
  'model.added': 'Model added',
  'model.changed': 'Model changed',
  'model.enabled': 'Model enabled',
  'model.disabled': 'Model disabled',
  'model.tested': 'Model tested',
  'user.created': 'User created',
  'user.admin_created': 'Admin created',
  'user.disabled': 'User disabled',
  'user.enabled': 'User enabled',
  'user.role_changed': 'Role changed',
  'user.password_rehashed': 'Password hash upgraded',
  'user.deleted': 'User deleted',
  'audit.export': 'Audit log exported',
  'detector.pairing_code_issued': 'Detector pairing code issued',
  'detector.paired': 'Detector paired',
  'detector.pairing_failed': 'Detector pairing failed',
  'detector.revoked': 'Detector revoked',
  'detector.auth_failed': 'Detector sign-in failed',
  'detector.serial_bound': 'Key serial number learned',
  'detector.key_mismatch': 'Detector saw another account’s key',
} as const satisfies Record<AuditAction, string>;

function isKnownAction(action: string): action is AuditAction {
  return Object.hasOwn(AUDIT_ACTION_LABELS, action);
}

/** An action's label; an action this build does not know yet (a newer server) shows its code. */
export function actionLabel(action: string): string {
  return isKnownAction(action) ? AUDIT_ACTION_LABELS[action] : action;
}
