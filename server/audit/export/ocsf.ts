import type { AuditEventView, Severity } from '../../../shared/audit.ts';
import { attemptedUsernameOf, attemptedUsernameText } from '../attemptedUsername.ts';
import { jsonString } from '../canonicalJson.ts';

/**
 * Argus audit events as OCSF 1.3 events. Each action maps to the closest class:
 * - sign-in, sign-out, step-up, WebAuthn challenges and assertions → Authentication (3002);
 * - users, enrollment, security keys and key registration → Account Change (3001);
 * - model access, conversation reads, grants and everything else → API Activity (6003).
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
  // A restricted conversation opened, or refused: a read of a stored resource through the API,
  // like model.access (the refusal is the same activity with status Failure, as grant.denied is).
  'conversation.read': ['apiActivity', 2],
  'conversation.read_denied': ['apiActivity', 2],
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
//
// Exports and sinks write millions of records, and what costs is every piece of text joined and
// every string scanned for escapes (each piece is a string the collector meets again): so the
// parts an action fixes are joined once per action, the quotes around a value sit in the
// constants on either side of it, and what a run of events repeats (the actor, the minute of
// the time) is remembered.

/** What JSON.stringify escapes in a string: quote, backslash, control characters and (lone) surrogates (as jsonString tests). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `JSON.stringify(text)` without its quotes: the text itself when nothing in it needs escaping. */
function jsonInner(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text).slice(1, -1) : text;
}

/** OCSF severity_id for ours, or 0 for a severity outside the taxonomy (a row written by hand). */
function severityIdOf(severity: string): number {
  switch (severity) {
    case 'info':
      return 1;
    case 'low':
      return 2;
    case 'medium':
      return 3;
    case 'high':
      return 4;
    case 'critical':
      return 5;
    default:
      return 0;
  }
}

const OUTCOME_TEXTS = ['success', 'failure', 'denied'] as const;

/** The outcome's index in OUTCOME_TEXTS, or -1 for one outside the taxonomy. */
function outcomeIndexOf(outcome: string): number {
  if (outcome === 'success') return 0;
  if (outcome === 'failure') return 1;
  return outcome === 'denied' ? 2 : -1;
}

/** The members of a record fixed by its action: joined once per action, not once per event. */
interface OcsfActionText {
  klass: OcsfClass;
  /** Per severity_id (index 1 to 5): from `{"activity_id"` up to the value of `"time":`. */
  head: string[];
  /** Per outcome (OUTCOME_TEXTS): from `,"status_id":` up to the value of the metadata's `"uid":"`. */
  status: string[];
  /** From the closing quote of `original_time` up to the actor user's value. */
  eventCode: string;
  /** From `,"action":` up to the value of `"target_type":`, with its opening quote if a string (index 1), not if null (0). */
  unmappedAction: string[];
  /** After the hash's value (from its closing quote): the end of `unmapped`, then `,"user":` (Authentication, Account Change) or the `api` member. */
  afterHash: string;
  /** For Authentication: `,"is_mfa":true|false` or nothing, and the record's closing brace; then a line end (index 1) or not (0). */
  close: string[];
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
      klass,
      head: [0, 1, 2, 3, 4, 5].map((severityId) => `${head},"severity_id":${severityId},"time":`),
      status: OUTCOME_TEXTS.map(
        (outcome) =>
          `,"status_id":${outcome === 'success' ? 1 : 2},"status":"${outcome === 'success' ? 'Success' : 'Failure'}","status_detail":"${outcome}","message":${quoted}${METADATA}`,
      ),
      eventCode: `","event_code":${quoted}},"actor":{"user":`,
      unmappedAction: [`,"action":${quoted},"target_type":`, `,"action":${quoted},"target_type":"`],
      afterHash: klass === 'apiActivity' ? `"}},"api":{"operation":${quoted},"service":{"name":"argus"}}` : '"}},"user":',
      close: ['', '\n'].map((end) => (mfa === undefined ? `}${end}` : `,"is_mfa":${mfa}}${end}`)),
    };
    // Actions come from the taxonomy, so this stays small; a log full of made-up ones only skips the cache.
    if (actionTexts.size < 1_000) actionTexts.set(action, text);
  }
  return text;
}

/** An OcsfUser as JSON.stringify writes it (undefined members left out, in the order uid, name, type_id, type). */
function userJson(user: OcsfUser): string {
  let out = '{';
  if (user.uid !== undefined) out += `"uid":${jsonString(user.uid)},`;
  if (user.name !== undefined) out += `"name":${jsonString(user.name)},`;
  out += `"type_id":${user.type_id}`;
  if (user.type !== undefined) out += `,"type":${JSON.stringify(user.type)}`;
  return `${out}}`;
}

/**
 * The actor's JSON, remembered: an export holds the same few actors again and again. Keyed by
 * the username (short, so quick to look up), and only used for the same id and username.
 */
const actorJsonCache = new Map<string, { id: string; username: string | null; text: string }>();

function actorUserJson(e: AuditEventView): string {
  const { actorId, actorUsername } = e;
  // Without an id the JSON depends on more than the id and the username (the IP): not remembered.
  if (!actorId) return userJson(actorUserOf(e));
  const key = actorUsername ?? actorId;
  const cached = actorJsonCache.get(key);
  if (cached && cached.id === actorId && cached.username === actorUsername) return cached.text;
  const text = userJson(actorUserOf(e));
  if (actorJsonCache.size >= 10_000) actorJsonCache.clear();
  actorJsonCache.set(key, { id: actorId, username: actorUsername, text });
  return text;
}

/**
 * jsonInner for texts that come again and again in a row: an event's prevHash is the hash of
 * the event before it, and a client's user agent stays the same from one event to the next.
 * Checking that a text is the one before is quicker than scanning it for escapes.
 */
class RepeatedText {
  private text = '';
  private inner = '';

  innerOf(text: string): string {
    if (text !== this.text) {
      this.text = text;
      this.inner = jsonInner(text);
    }
    return this.inner;
  }
}

/** The hash of the event before (its prevHash is that hash), and the user agent. */
const previousHash = new RepeatedText();
const previousUserAgent = new RepeatedText();

const DIGIT_0 = 48;
const isDigit = (code: number) => code >= DIGIT_0 && code <= DIGIT_0 + 9;
/** Where `YYYY-MM-DDTHH:MM` has its digits. */
const MINUTE_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15];
/** The last minute seen, as text (`YYYY-MM-DDTHH:MM`) and as ms since the epoch. */
let minuteText = '';
let minuteMs = 0;
/** Its seconds since the epoch as text, by the second of the minute (filled as they come). */
let secondTexts: string[] = [];
/** '000' to '999': a time's milliseconds as written after its seconds since the epoch. */
const MILLIS_TEXT = Array.from({ length: 1000 }, (_, millis) => String(millis).padStart(3, '0'));

/** Remembers `time`'s minute, if its first 16 characters are one Date.parse reads as such. */
function learnMinute(time: string): boolean {
  if (time.charCodeAt(4) !== 45 /* - */ || time.charCodeAt(7) !== 45 || time.charCodeAt(10) !== 84 /* T */ || time.charCodeAt(13) !== 58 /* : */) return false;
  for (const at of MINUTE_DIGITS) if (!isDigit(time.charCodeAt(at))) return false;
  // Hour 24 is midnight to Date.parse only as 24:00:00.000: leave it (and every odd case) to Date.parse.
  if ((time.charCodeAt(11) - DIGIT_0) * 10 + (time.charCodeAt(12) - DIGIT_0) > 23) return false;
  const minute = Date.parse(`${time.slice(0, 16)}:00.000Z`);
  if (!Number.isFinite(minute)) return false;
  minuteText = time.slice(0, 16);
  minuteMs = minute;
  secondTexts = [];
  return true;
}

/**
 * String(Date.parse(time)), with the date and the minute parsed once for all the events of one
 * minute: only for the exact form `YYYY-MM-DDTHH:MM:SS.mmmZ` (which needs no JSON escaping
 * either); null for any other text, which the caller hands to Date.parse. Written as the
 * seconds since the epoch (remembered per second) and three digits of milliseconds: a 13-digit
 * number is no small integer, and turning one into text costs more than the rest of the time
 * members together.
 */
function isoMillisText(time: string): string | null {
  if (time.length !== 24 || time.charCodeAt(23) !== 90 /* Z */ || time.charCodeAt(19) !== 46 /* . */ || time.charCodeAt(16) !== 58 /* : */) return null;
  const s1 = time.charCodeAt(17) - DIGIT_0;
  const s2 = time.charCodeAt(18) - DIGIT_0;
  const m1 = time.charCodeAt(20) - DIGIT_0;
  const m2 = time.charCodeAt(21) - DIGIT_0;
  const m3 = time.charCodeAt(22) - DIGIT_0;
  // Unsigned: a character below '0' wraps round to a large number.
  if ((s1 >>> 0) > 5 || (s2 >>> 0) > 9 || (m1 >>> 0) > 9 || (m2 >>> 0) > 9 || (m3 >>> 0) > 9) return null;
  if (!(minuteText !== '' && time.startsWith(minuteText)) && !learnMinute(time)) return null;
  // Seconds 60 and over are refused above (s1 <= 5), as Date.parse refuses them.
  const second = s1 * 10 + s2;
  const millis = m1 * 100 + m2 * 10 + m3;
  // Before 1970-01-01T00:01 there are no whole seconds in front to write the milliseconds after.
  if (minuteMs < 60_000) return String(minuteMs + second * 1000 + millis);
  const secondText = (secondTexts[second] ??= String(minuteMs / 1000 + second));
  return secondText + MILLIS_TEXT[millis]!;
}

const ORIGINAL_TIME = '","log_name":"audit_event","original_time":"';
const SRC_NO_IP = '},"src_endpoint":{"name":"unknown"}';
const SRC_EMPTY_IP = '},"src_endpoint":{"ip":"","name":"unknown"}';
const SRC_IP = '},"src_endpoint":{"ip":"';
const SRC_IP_END = '"}';
const USER_AGENT = '"},"http_request":{"user_agent":"';
const UNMAPPED = ',"unmapped":{"argus":{"seq":';
const UNMAPPED_AFTER_USER_AGENT = `"}${UNMAPPED}`;
/**
 * `,"name":` between two members whose values may be null or a string, with the closing quote
 * of the value before and the opening quote of the value after where those are strings:
 * index 2 × (the one before is a string) + (the one after is).
 */
function joints(name: string): string[] {
  return ['', '"'].flatMap((close) => ['', '"'].map((open) => `${close},"${name}":${open}`));
}
const TARGET_ID = joints('target_id');
const MODEL = joints('model');
/** After the model: `,"details":` (details are never a string). */
const DETAILS = [',"details":', '","details":'];
const HASHES = '","hash":"';
/** A nullable member's value between the quotes its joints supply: null, or the text escaped. */
const valueText = (text: string | null): string => (text === null ? 'null' : jsonInner(text));
/** The end of a record (index 0), and of a line of JSON Lines (1). */
const END = ['}', '}\n'];
/** After the uid of Account Change's user when it is the target. */
const SUBJECT_END = ['","type_id":1}}', '","type_id":1}}\n'];
/** After the uid and name of a User. */
const USER_END = '","type_id":1,"type":"User"}';
const RESOURCE_END = ['"}]}', '"}]}\n'];
const RESOURCE_MODEL = ',"resources":[{"type":"model","uid":"';

/**
 * `JSON.stringify(toOcsf(e))`, byte for byte (ocsf.test.ts and formats.test.ts hold them to it
 * over every action and every shape of event), without building the nested objects.
 */
export function ocsfJson(e: AuditEventView): string {
  return ocsfText(e, 0);
}

/** ocsfJson(e) and a line end: one line of the OCSF export. */
export function ocsfLine(e: AuditEventView): string {
  return ocsfText(e, 1);
}

/** The record, then a line end if `line` is 1 (written with the closing brace: one piece fewer to join). */
function ocsfText(e: AuditEventView, line: 0 | 1): string {
  const severityId = severityIdOf(e.severity);
  const outcome = outcomeIndexOf(e.outcome);
  // Outside the taxonomy (a row written by hand): the general path writes what toOcsf does.
  if (severityId === 0 || outcome < 0 || !Number.isSafeInteger(e.seq) || typeof e.details !== 'object' || typeof e.prevHash !== 'string' || typeof e.hash !== 'string') {
    return JSON.stringify(toOcsf(e)) + (line ? '\n' : '');
  }
  const action = actionTextOf(e.action);
  const seq = String(e.seq);
  let millis = isoMillisText(e.time);
  // The usual form is digits and -T:.Z only: nothing to escape.
  let timeText = e.time;
  if (millis === null) {
    const parsed = Date.parse(e.time);
    millis = Number.isFinite(parsed) ? String(parsed) : 'null';
    timeText = jsonInner(e.time);
  }
  const { ip, userAgent } = e;
  let out =
    action.head[severityId]! +
    millis +
    action.status[outcome]! +
    seq +
    ORIGINAL_TIME +
    timeText +
    action.eventCode +
    actorUserJson(e);
  // { ip: e.ip ?? undefined, name: e.ip ? undefined : 'unknown' }, then the user agent if there is one.
  if (ip === null || ip === '') out += ip === null ? SRC_NO_IP : SRC_EMPTY_IP;
  else out += SRC_IP + jsonInner(ip) + (userAgent ? '' : SRC_IP_END);
  if (userAgent) out += (ip ? USER_AGENT : `,"http_request":{"user_agent":"`) + previousUserAgent.innerOf(userAgent) + UNMAPPED_AFTER_USER_AGENT;
  else out += UNMAPPED;
  const { targetType, targetId, model } = e;
  const typeIsText = targetType === null ? 0 : 1;
  const idIsText = targetId === null ? 0 : 1;
  const modelIsText = model === null ? 0 : 1;
  out +=
    seq +
    action.unmappedAction[typeIsText]! +
    valueText(targetType) +
    TARGET_ID[2 * typeIsText + idIsText]! +
    valueText(targetId) +
    MODEL[2 * idIsText + modelIsText]! +
    valueText(model) +
    DETAILS[modelIsText]! +
    JSON.stringify(e.details) +
    ',"prev_hash":"' +
    previousHash.innerOf(e.prevHash) +
    HASHES +
    previousHash.innerOf(e.hash) +
    action.afterHash;
  switch (action.klass) {
    case 'authentication': {
      // authenticationUserOf's usual case written directly: the target user, named by the attempt or as the actor.
      if (targetType === 'user' && targetId) {
        const attempted = attemptedUsernameOf(e);
        const name = attempted?.known ? attempted.username : e.actorId === targetId ? e.actorUsername : null;
        return out + '{"uid":"' + jsonInner(targetId) + (name === null ? USER_END : '","name":"' + jsonInner(name) + USER_END) + action.close[line]!;
      }
      return out + userJson(authenticationUserOf(e, actorUserOf(e))) + action.close[line]!;
    }
    case 'accountChange':
      return out + (targetType === 'user' && targetId ? '{"uid":"' + jsonInner(targetId) + SUBJECT_END[line]! : actorUserJson(e) + END[line]!);
    default: {
      if (model) return out + RESOURCE_MODEL + jsonInner(model) + RESOURCE_END[line]!;
      // { type: e.model ? 'model' : …, uid: e.model ?? e.targetId }: an empty model is the uid.
      if (targetId) return out + `,"resources":[{"type":${jsonString(targetType ?? 'resource')},"uid":${jsonString(model ?? targetId)}}]` + END[line]!;
      return out + END[line]!;
    }
  }
}
