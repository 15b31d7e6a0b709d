/**
 * Audit events of every shape an OCSF record has a branch for, to pin the format's bytes
 * (ocsf.test.ts and ocsf.golden.jsonl): every action, nulls, empty strings, text that JSON
 * must escape (quotes, backslashes, control characters, U+2028, lone surrogates), other
 * scripts and emoji, times in and out of the usual form, outcomes and severities outside the
 * taxonomy. Deterministic: the same list every run.
 */
import { AUDIT_ACTIONS, type AuditEventView } from '../../../shared/audit.ts';

const base: AuditEventView = {
  seq: 1,
  time: '2026-11-30T10:00:00.123Z',
  actorId: '00000000-0000-4000-8000-000000000001',
  actorUsername: 'ada',
  action: 'auth.signin',
  targetType: 'user',
  targetId: '00000000-0000-4000-8000-000000000002',
  outcome: 'success',
  severity: 'info',
  ip: '203.0.113.7',
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0',
  model: null,
  details: { n: 1, note: 'seeded, "synthetic"' },
  prevHash: '0123456789abcdef',
  hash: 'fedcba9876543210',
};

/** The shapes, each a change to `base`. */
export const OCSF_SAMPLE_SHAPES: ReadonlyArray<Partial<AuditEventView>> = [
  {},
  // The actor is the target (their own sign-in), with a model.
  { targetId: base.actorId, model: 'restricted-demo', severity: 'low' },
  // A failed sign-in: nobody signed in, the account tried is the target and named in the details.
  { actorId: null, actorUsername: null, details: { username: 'bob', reason: 'bad_password' }, outcome: 'failure', severity: 'medium', userAgent: 'curl/8' },
  // A name that matched no account: only its keyed hash and length.
  { actorId: null, actorUsername: null, targetType: null, targetId: null, details: { usernameHmac: 'c'.repeat(64), usernameLength: 19, reason: 'unknown_user' }, outcome: 'failure' },
  // Argus itself (no client): a timer ending a grant.
  { actorId: null, actorUsername: null, ip: null, userAgent: null, targetType: 'grant', targetId: 'g-1', outcome: 'denied', severity: 'critical', details: {} },
  // Empty strings wherever a string may be.
  { actorId: '', actorUsername: '', ip: '', userAgent: '', targetType: null, targetId: '', model: '', severity: 'high' },
  // An actor with an id and no name; a model and no target.
  { actorUsername: null, targetType: null, targetId: null, model: 'demo', severity: 'high', outcome: 'denied' },
  // Text JSON must escape, other scripts, emoji, a lone surrogate, IPv6.
  {
    actorUsername: 'zoë "z" \\ \u2028 名前',
    targetType: 'us"er',
    targetId: 'u\u0001\u001f',
    ip: '2001:db8::1',
    userAgent: 'line\r\nbreak =x|y\\z \u2029 \ud83d\ude00 \ud800',
    model: 'modèle\t1',
    details: { '\u20ac': 1, b: [1.5, 1e21, -0, null, { z: true, a: '\ud83d\ude00', '"': '\\' }], a: 'x\u0000y', empty: {}, list: [] },
    prevHash: 'p"h',
    hash: 'h\\h',
  },
  // The same actor id under another name (a renamed user): the name the event holds is written.
  { actorUsername: 'ada-renamed', seq: 9_007_199_254_740_991 },
  // Times: without milliseconds, with an offset, a leap second, nothing like a time, one needing escapes, an early year, a letter for a digit.
  { time: '2026-11-30T10:00:00Z' },
  { time: '2026-11-30T10:00:00.123+01:00', outcome: 'failure' },
  { time: '2026-12-31T23:59:60.000Z' },
  { time: 'not a time' },
  { time: '2026-11-30T10:00:00.123Z"\n' },
  { time: '0001-01-01T00:00:00.000Z' },
  { time: '2026-11-30T10:00:0x.123Z' },
  // Around the epoch (the seconds since it written in front of the milliseconds), hour 24, a day February lacks.
  { time: '1970-01-01T00:00:59.999Z' },
  { time: '1970-01-01T00:01:00.001Z' },
  { time: '1969-12-31T23:59:59.999Z' },
  { time: '2026-11-30T24:00:00.000Z' },
  { time: '2026-02-30T10:00:00.000Z' },
  // Outside the taxonomy (a row written by hand): a severity and an outcome Argus never writes, a seq past 2^53.
  { severity: 'extreme' as AuditEventView['severity'] },
  { outcome: 'weird' as AuditEventView['outcome'] },
  { seq: 2 ** 60 },
];

/** Actions outside the taxonomy: each family's fallback and none. */
export const MADE_UP_ACTIONS = ['auth.made_up', 'webauthn.made_up', 'user.made_up', 'key.made_up', 'enrollment.made_up', 'made.up', 'no-family', 'x"y\u2028'];

/**
 * Actions added to the taxonomy after ocsf.test.ts pinned the hash of every sample, with the
 * OCSF class their records take: they come last, so every sample before them keeps its bytes.
 */
export const ADDED_SINCE_PIN: Readonly<Record<string, number>> = { 'session.forged_record': 6003 };

/** Every action of the taxonomy as pinned, then the made-up ones, then the actions added since. */
export const OCSF_SAMPLE_ACTIONS: readonly string[] = [
  ...Object.keys(AUDIT_ACTIONS).filter((action) => !(action in ADDED_SINCE_PIN)),
  ...MADE_UP_ACTIONS,
  ...Object.keys(ADDED_SINCE_PIN),
];

/**
 * Every shape for one action of each class (Authentication, Account Change, API Activity, the
 * last a conversation read), then each made-up action once: few enough to keep as a file.
 */
export function ocsfGoldenSamples(): AuditEventView[] {
  const samples: AuditEventView[] = [];
  for (const action of ['auth.signin_failed', 'user.disabled', 'conversation.read']) for (const shape of OCSF_SAMPLE_SHAPES) samples.push({ ...base, seq: samples.length + 1, action, ...shape });
  for (const action of MADE_UP_ACTIONS) samples.push({ ...base, seq: samples.length + 1, action });
  return samples;
}

/** Every action with every shape (for a hash of the whole, too large to keep as a file). */
export function* ocsfEverySample(): Generator<AuditEventView> {
  let seq = 0;
  for (const action of OCSF_SAMPLE_ACTIONS) for (const shape of OCSF_SAMPLE_SHAPES) yield { ...base, seq: (seq += 1), action, ...shape };
}
