import type { AuditEventView, Severity } from '../../../shared/audit.ts';
import { attemptedUsernameOf, attemptedUsernameText } from '../attemptedUsername.ts';

/**
 * Argus audit events as OCSF 1.3 events. Each action maps to the closest class:
 * - sign-in, sign-out, step-up, WebAuthn challenges and assertions → Authentication (3002);
 * - users, enrollment, security keys and key registration → Account Change (3001);
 * - model access, grants and everything else → API Activity (6003).
 * Every record carries the base event's required attributes (activity_id, category_uid,
 * class_uid, type_uid, severity_id, time, metadata) and its class's required ones
 * (3002/3001: user; 6003: actor, api, src_endpoint). `unmapped.argus` keeps what has no
 * OCSF attribute: seq, action, target type and id, model, details, prevHash and hash — not
 * the whole event (time, actor, outcome, severity, IP and user agent are mapped, reshaped).
 */
export const OCSF_VERSION = '1.3.0';

export const OCSF_CLASSES = {
  authentication: { class_uid: 3002, category_uid: 3, class_name: 'Authentication', category_name: 'Identity & Access Management' },
  accountChange: { class_uid: 3001, category_uid: 3, class_name: 'Account Change', category_name: 'Identity & Access Management' },
  apiActivity: { class_uid: 6003, category_uid: 6, class_name: 'API Activity', category_name: 'Application Activity' },
} as const;

type OcsfClass = keyof typeof OCSF_CLASSES;

/** OCSF severity_id: 1 Informational … 5 Critical. */
const SEVERITY_ID: Record<Severity, number> = { info: 1, low: 2, medium: 3, high: 4, critical: 5 };

// Activity ids per class (OCSF 1.3): 3002 Logon 1, Logoff 2, Preauth 6; 3001 Create 1, Enable 2,
// Password Change 3, Disable 5, Delete 6, MFA Factor Enable 10, MFA Factor Disable 11;
// 6003 Create 1, Read 2, Update 3, Delete 4; 99 Other everywhere.
const OTHER = 99;
const ACTIVITIES: Record<string, [OcsfClass, number]> = {
  'auth.signin': ['authentication', 1],
  'auth.signin_failed': ['authentication', 1],
  'auth.signout': ['authentication', 2],
  'auth.session_ended': ['authentication', 2],
  'auth.password_verified': ['authentication', 6],
  'auth.step_up': ['authentication', 1],
  'auth.key_mismatch': ['authentication', 1],
  'webauthn.options_issued': ['authentication', 6],
  'webauthn.assertion_failed': ['authentication', 1],
  'device_info_mismatch': ['authentication', OTHER],
  'webauthn.registration_failed': ['accountChange', 10],
  'key.registered': ['accountChange', 10],
  'key.reactivated': ['accountChange', 10],
  'key.removed': ['accountChange', 11],
  'key.deleted': ['accountChange', 11],
  'key.deactivated': ['accountChange', 11],
  'key.suspended': ['accountChange', 11],
  'user.created': ['accountChange', 1],
  'user.admin_created': ['accountChange', 1],
  'user.enabled': ['accountChange', 2],
  'user.disabled': ['accountChange', 5],
  'enrollment.password_set': ['accountChange', 3],
  'grant.issued': ['apiActivity', 1],
  'grant.denied': ['apiActivity', 1],
  'grant.renewed': ['apiActivity', 3],
  'grant.revoked': ['apiActivity', 4],
  'grant.expired': ['apiActivity', 4],
  'model.access': ['apiActivity', 2],
  'audit.export': ['apiActivity', 2],
  'user.deleted': ['accountChange', 6],
  'auth.rate_limited': ['authentication', OTHER],
  'detector.paired': ['apiActivity', 1],
  'detector.revoked': ['apiActivity', 4],
  'detector.key_mismatch': ['authentication', OTHER],
  'model.added': ['apiActivity', 1],
  'model.changed': ['apiActivity', 3],
  'model.enabled': ['apiActivity', 3],
  'model.disabled': ['apiActivity', 3],
  'model.tested': ['apiActivity', 2],
};

/** Actions without their own entry fall to their family's class with activity Other. */
function classify(action: string): [OcsfClass, number] {
  const known = ACTIVITIES[action];
  if (known) return known;
  const family = action.split('.')[0];
  if (family === 'auth' || family === 'webauthn') return ['authentication', OTHER];
  if (family === 'user' || family === 'key' || family === 'enrollment') return ['accountChange', OTHER];
  return ['apiActivity', OTHER];
}

export interface OcsfEvent {
  activity_id: number;
  category_uid: number;
  class_uid: number;
  type_uid: number;
  severity_id: number;
  time: number;
  status_id: number;
  [attribute: string]: unknown;
}

/**
 * Authentication steps in which the security key took part: only these claim `is_mfa`. The
 * password step (accepted, refused or throttled) is one factor; other events say nothing.
 */
const KEY_STEP_ACTIONS: ReadonlySet<string> = new Set(['auth.signin', 'auth.step_up', 'auth.key_mismatch', 'webauthn.assertion_failed']);
const PASSWORD_STEP_ACTIONS: ReadonlySet<string> = new Set(['auth.password_verified', 'auth.signin_failed', 'auth.rate_limited']);

interface OcsfUser {
  uid?: string;
  name?: string;
  type_id: number;
  type?: string;
}

/**
 * Who acted: the signed-in user; with no user, the system when there was no client (a timer,
 * the CLI) and an unknown user when a request came from somewhere (a sign-in attempt).
 */
function actorUserOf(e: AuditEventView): OcsfUser {
  if (e.actorId || e.actorUsername) return { uid: e.actorId ?? undefined, name: e.actorUsername ?? undefined, type_id: 1, type: 'User' };
  return e.ip ? { type_id: 0, type: 'Unknown' } : { name: 'system', type_id: 3, type: 'System' };
}

/**
 * Authentication's `user`: the account someone authenticated or tried to, which for a failed
 * sign-in is not the (anonymous) actor. A name that matched no account is given as its keyed
 * hash (hmac-sha256:…, see attemptedUsername.ts), never as typed.
 */
function authenticationUserOf(e: AuditEventView, actorUser: OcsfUser): OcsfUser {
  const attempted = attemptedUsernameOf(e);
  if (e.targetType === 'user' && e.targetId) {
    const name = attempted?.known ? attempted.username : e.actorId === e.targetId ? e.actorUsername : null;
    return { uid: e.targetId, name: name ?? undefined, type_id: 1, type: 'User' };
  }
  if (attempted) return attempted.known ? { name: attempted.username, type_id: 1, type: 'User' } : { name: attemptedUsernameText(attempted), type_id: 0, type: 'Unknown' };
  return actorUser;
}

function isMfa(action: string): boolean | undefined {
  if (KEY_STEP_ACTIONS.has(action)) return true;
  if (PASSWORD_STEP_ACTIONS.has(action)) return false;
  return undefined;
}

export function toOcsf(e: AuditEventView): OcsfEvent {
  const [klass, activityId] = classify(e.action);
  const { class_uid, category_uid, class_name, category_name } = OCSF_CLASSES[klass];
  const actorUser = actorUserOf(e);
  // Account Change: the user whose account changed is the target when it is a user.
  const subject = e.targetType === 'user' && e.targetId ? { uid: e.targetId, type_id: 1 } : actorUser;
  const srcEndpoint = { ip: e.ip ?? undefined, name: e.ip ? undefined : 'unknown' };
  const base: OcsfEvent = {
    activity_id: activityId,
    category_uid,
    category_name,
    class_uid,
    class_name,
    type_uid: class_uid * 100 + activityId,
    severity_id: SEVERITY_ID[e.severity],
    time: Date.parse(e.time),
    status_id: e.outcome === 'success' ? 1 : 2,
    status: e.outcome === 'success' ? 'Success' : 'Failure',
    status_detail: e.outcome,
    message: e.action,
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'Argus', vendor_name: 'Argus', version: '0.1.0' },
      uid: String(e.seq),
      log_name: 'audit_event',
      original_time: e.time,
      event_code: e.action,
    },
    actor: { user: actorUser },
    src_endpoint: srcEndpoint,
    http_request: e.userAgent ? { user_agent: e.userAgent } : undefined,
    unmapped: {
      argus: {
        seq: e.seq,
        action: e.action,
        target_type: e.targetType,
        target_id: e.targetId,
        model: e.model,
        details: e.details,
        prev_hash: e.prevHash,
        hash: e.hash,
      },
    },
  };
  if (klass === 'authentication') {
    const mfa = isMfa(e.action);
    return { ...base, user: authenticationUserOf(e, actorUser), ...(mfa === undefined ? {} : { is_mfa: mfa }) };
  }
  if (klass === 'accountChange') return { ...base, user: subject };
  return {
    ...base,
    api: { operation: e.action, service: { name: 'argus' } },
    resources: e.targetId || e.model ? [{ type: e.model ? 'model' : (e.targetType ?? 'resource'), uid: e.model ?? e.targetId }] : undefined,
  };
}
