import type { AuditEventView, Severity } from '../../../shared/audit.ts';
import { attemptedUsernameOf, attemptedUsernameText } from '../attemptedUsername.ts';
import { jsonString } from '../canonicalJson.ts';

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

// The same record as JSON text, built directly ------------------------------------------------

/** The members of a record fixed by its action: written once per action, not once per event. */
interface OcsfActionText {
  /** From `{"activity_id"` up to `"severity_id":`. */
  head: string;
  /** The action as a JSON string. */
  action: string;
  klass: OcsfClass;
  /** For Authentication: `,"is_mfa":true|false` or empty. */
  mfa: string;
  /** `,"message":` up to the metadata's `"uid":"`. */
  message: string;
  /** `,"event_code":` up to the actor user's value. */
  eventCode: string;
  /** `,"action":` up to the target type's value. */
  unmappedAction: string;
  /** For API Activity: the `api` member. */
  api: string;
}

const METADATA = `,"metadata":{"version":${JSON.stringify(OCSF_VERSION)},"product":{"name":"Argus","vendor_name":"Argus","version":"0.1.0"},"uid":"`;

const actionTexts = new Map<string, OcsfActionText>();

function actionTextOf(action: string): OcsfActionText {
  let text = actionTexts.get(action);
  if (!text) {
    const [klass, activityId] = classify(action);
    const { class_uid, category_uid, class_name, category_name } = OCSF_CLASSES[klass];
    const head = JSON.stringify({ activity_id: activityId, category_uid, category_name, class_uid, class_name, type_uid: class_uid * 100 + activityId }).slice(0, -1);
    const mfa = isMfa(action);
    const quoted = JSON.stringify(action);
    text = {
      head: `${head},"severity_id":`,
      action: quoted,
      klass,
      mfa: mfa === undefined ? '' : `,"is_mfa":${mfa}`,
      message: `,"message":${quoted}${METADATA}`,
      eventCode: `,"event_code":${quoted}},"actor":{"user":`,
      unmappedAction: `,"action":${quoted},"target_type":`,
      api: `,"api":{"operation":${quoted},"service":{"name":"argus"}}`,
    };
    // Actions come from the taxonomy, so this stays small; a log full of made-up ones only skips the cache.
    if (actionTexts.size < 1_000) actionTexts.set(action, text);
  }
  return text;
}


/** status_id, status and status_detail for each outcome. */
const STATUS_TEXT: Record<string, string> = Object.fromEntries(
  ['success', 'failure', 'denied'].map((outcome) => [
    outcome,
    `,"status_id":${outcome === 'success' ? 1 : 2},"status":"${outcome === 'success' ? 'Success' : 'Failure'}","status_detail":"${outcome}"`,
  ]),
);

const json = JSON.stringify;

/** An OcsfUser as JSON.stringify writes it (undefined members left out, in the order uid, name, type_id, type). */
function userJson(user: OcsfUser): string {
  let out = '{';
  if (user.uid !== undefined) out += `"uid":${jsonString(user.uid)},`;
  if (user.name !== undefined) out += `"name":${jsonString(user.name)},`;
  out += `"type_id":${user.type_id}`;
  if (user.type !== undefined) out += `,"type":${json(user.type)}`;
  return `${out}}`;
}

/**
 * The actor's JSON, remembered per actor id: an export holds the same few actors again and again.
 * Only for actors with an id (the JSON then depends on the id and the username alone).
 */
const actorJsonCache = new Map<string, { username: string | null; text: string }>();

function actorUserJson(e: AuditEventView, actorUser: OcsfUser): string {
  if (!e.actorId) return userJson(actorUser);
  const cached = actorJsonCache.get(e.actorId);
  if (cached && cached.username === e.actorUsername) return cached.text;
  const text = userJson(actorUser);
  if (actorJsonCache.size >= 10_000) actorJsonCache.clear();
  actorJsonCache.set(e.actorId, { username: e.actorUsername, text });
  return text;
}

const DIGIT_0 = 48;
const isDigit = (code: number) => code >= DIGIT_0 && code <= DIGIT_0 + 9;
/** Where `YYYY-MM-DDTHH:MM:SS.mmmZ` has its digits (the form Postgres and toISOString write). */
const ISO_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];
let minuteText = '';
let minuteMs = 0;

/**
 * Date.parse(time), with the date and the minute parsed once for all the events of one minute:
 * only for the exact form `YYYY-MM-DDTHH:MM:SS.mmmZ` (which needs no JSON escaping either);
 * null for any other text, which the caller hands to Date.parse.
 */
function isoMillis(time: string): number | null {
  if (time.length !== 24 || time.charCodeAt(23) !== 90 /* Z */ || time.charCodeAt(19) !== 46 /* . */ || time.charCodeAt(16) !== 58 /* : */) return null;
  for (const at of ISO_DIGITS) if (!isDigit(time.charCodeAt(at))) return null;
  if (!time.startsWith(minuteText) || minuteText === '') {
    const minute = Date.parse(`${time.slice(0, 16)}:00.000Z`);
    if (!Number.isFinite(minute)) return null;
    minuteText = time.slice(0, 16);
    minuteMs = minute;
  }
  const seconds = (time.charCodeAt(17) - DIGIT_0) * 10 + (time.charCodeAt(18) - DIGIT_0);
  const millis = (time.charCodeAt(20) - DIGIT_0) * 100 + (time.charCodeAt(21) - DIGIT_0) * 10 + (time.charCodeAt(22) - DIGIT_0);
  // Seconds 60 and over: Date.parse refuses them, and so does this.
  return seconds < 60 ? minuteMs + seconds * 1000 + millis : null;
}

/**
 * `JSON.stringify(toOcsf(e))`, byte for byte (formats.test.ts compares them over every action),
 * without building the nested objects: the parts fixed by the action are written once, the rest
 * joined into one flat string. Exports and sinks write millions of these.
 */
export function ocsfJson(e: AuditEventView): string {
  // Outside the taxonomy (a row written by hand): the general path writes what toOcsf does.
  const status = STATUS_TEXT[e.outcome];
  if (SEVERITY_ID[e.severity] === undefined || status === undefined || !Number.isSafeInteger(e.seq)) return JSON.stringify(toOcsf(e));
  const action = actionTextOf(e.action);
  const actorUser = actorUserOf(e);
  const millis = isoMillis(e.time);
  let timeText: string;
  let timeJson: string;
  if (millis === null) {
    const time = Date.parse(e.time);
    timeText = Number.isFinite(time) ? String(time) : 'null';
    timeJson = json(e.time);
  } else {
    timeText = String(millis);
    // Digits and -T:.Z only: nothing to escape.
    timeJson = `"${e.time}"`;
  }
  const seq = String(e.seq);
  let out =
    action.head +
    SEVERITY_ID[e.severity] +
    ',"time":' +
    timeText +
    status +
    action.message +
    seq +
    '","log_name":"audit_event","original_time":' +
    timeJson +
    action.eventCode +
    actorUserJson(e, actorUser) +
    // { ip: e.ip ?? undefined, name: e.ip ? undefined : 'unknown' }
    (e.ip === null ? '},"src_endpoint":{"name":"unknown"}' : `},"src_endpoint":{"ip":${jsonString(e.ip)}${e.ip ? '}' : ',"name":"unknown"}'}`) +
    (e.userAgent ? `,"http_request":{"user_agent":${jsonString(e.userAgent)}}` : '') +
    ',"unmapped":{"argus":{"seq":' +
    seq +
    action.unmappedAction +
    jsonString(e.targetType) +
    ',"target_id":' +
    jsonString(e.targetId) +
    ',"model":' +
    jsonString(e.model) +
    ',"details":' +
    json(e.details) +
    ',"prev_hash":' +
    jsonString(e.prevHash) +
    ',"hash":' +
    jsonString(e.hash) +
    '}}';
  if (action.klass === 'authentication') {
    out += ',"user":' + userJson(authenticationUserOf(e, actorUser)) + action.mfa;
  } else if (action.klass === 'accountChange') {
    out += ',"user":' + (e.targetType === 'user' && e.targetId ? `{"uid":${jsonString(e.targetId)},"type_id":1}` : userJson(actorUser));
  } else {
    out += action.api;
    if (e.targetId || e.model) out += `,"resources":[{"type":${json(e.model ? 'model' : (e.targetType ?? 'resource'))},"uid":${json(e.model ?? e.targetId)}}]`;
  }
  return out + '}';
}
