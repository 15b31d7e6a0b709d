import { describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS, type AuditEventView } from '../../../shared/audit.ts';
import { unknownUsernameDetails } from '../attemptedUsername.ts';
import { canonicalJson } from '../canonicalJson.ts';
import { cefExtensionValue, cefHeaderField, CSV_FORMULA, csvField, eventJson, EXPORT_WRITERS } from './formats.ts';
import { ocsfJson, toOcsf } from './ocsf.ts';

const event: AuditEventView = {
  seq: 42,
  time: '2026-11-30T10:00:00.123Z',
  actorId: null,
  actorUsername: 'zoë "z" \u2028',
  action: 'auth.signin_failed',
  targetType: 'user',
  targetId: 'u\u0001',
  outcome: 'failure',
  severity: 'medium',
  ip: '2001:db8::1',
  userAgent: 'line\r\nbreak =x|y\\z',
  model: null,
  details: { '\u20ac': 1, b: [1.5, 1e21, null, { z: true, a: '\ud83d\ude00' }], a: 'x' },
  prevHash: 'a'.repeat(64),
  hash: 'b'.repeat(64),
};

/** A failed sign-in as signIn.ts records it: no actor (nobody is signed in), the account tried as the target. */
const failedSignIn = (details: Record<string, unknown>, target: string | null = null): AuditEventView => ({
  ...event,
  actorUsername: null,
  targetType: target ? 'user' : null,
  targetId: target,
  ip: '203.0.113.7',
  userAgent: 'curl/8',
  details,
});

const unknownName = unknownUsernameDetails('s'.repeat(32), 'hunter2 my password');

/** Splits a CEF record's extension into key/value pairs, unescaping as a CEF reader does. */
function cefExtension(record: string): Map<string, string> {
  const extension = record.replace(/\n$/, '').split(/(?<!\\)\|/).slice(7).join('|');
  const pairs = new Map<string, string>();
  for (const match of extension.matchAll(/([A-Za-z0-9]+)=((?:\\.|[^\\])*?)(?= [A-Za-z0-9]+=|$)/g)) {
    pairs.set(match[1]!, match[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c)));
  }
  return pairs;
}

describe('JSON Lines', () => {
  it('writes records byte-identical to RFC 8785 canonical JSON', () => {
    expect(eventJson(event)).toBe(canonicalJson(event));
    expect(EXPORT_WRITERS.jsonl.record(event)).toBe(`${canonicalJson(event)}\n`);
  });
});

describe('CSV', () => {
  it('quotes fields per RFC 4180 and defuses formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('=1+1')).toBe("'=1+1");
    expect(csvField('-2')).toBe("'-2");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('\tx')).toBe("'\tx");
    expect(csvField('\rx')).toBe(`"'\rx"`);
    expect(csvField(-2)).toBe('-2');
  });

  it('tells a null (empty field) from an empty string (quoted empty field)', () => {
    expect(csvField(null)).toBe('');
    expect(csvField('')).toBe('""');
    const record = EXPORT_WRITERS.csv.record({ ...event, model: null, targetType: '' });
    const fields = record.replace(/\r\n$/, '').split(',');
    // Columns: … target_type (5) … model (11) …
    expect(fields[5]).toBe('""');
    expect(fields[11]).toBe('');
  });

  it('guards reversibly: dropping one leading apostrophe where the documented pattern matches gives the value back', () => {
    const undo = (field: string) => (CSV_FORMULA.test(field) && field.startsWith("'") ? field.slice(1) : field);
    for (const value of ['=cmd', "'=cmd", "''+1", "'plain", 'plain', "'", '-', "'@x"]) {
      const written = csvField(value);
      const unquoted = written.startsWith('"') ? written.slice(1, -1).replaceAll('""', '"') : written;
      expect(undo(unquoted), value).toBe(value);
    }
    // An apostrophe already in front of a formula gets one more, so it is not mistaken for the guard.
    expect(csvField("'=cmd")).toBe("''=cmd");
    expect(csvField("'plain")).toBe("'plain");
  });
});

describe('CEF', () => {
  it('keeps a record on one line, escaping per the CEF spec', () => {
    const record = EXPORT_WRITERS.cef.record(event);
    expect(record.split('\n')).toHaveLength(2);
    expect(record).toContain('requestClientApplication=line\\r\\nbreak \\=x|y\\\\z');
    expect(record.startsWith('CEF:0|Argus|Argus|0.1.0|auth.signin_failed|Sign-in failed|5|')).toBe(true);
  });

  it('writes every line break in an extension value as an escaped newline: CR, LF, VT, FF, NEL, U+2028, U+2029', () => {
    expect(cefExtensionValue('a\rb\nc\r\nd')).toBe('a\\rb\\nc\\r\\nd');
    expect(cefExtensionValue('a\u0085b\u2028c\u2029d\u000be\u000cf')).toBe('a\\nb\\nc\\nd\\ne\\nf');
    expect(cefExtensionValue('k=v\\')).toBe('k\\=v\\\\');
    // A pipe needs no escape in the extension.
    expect(cefExtensionValue('a|b')).toBe('a|b');
    const record = EXPORT_WRITERS.cef.record({ ...event, userAgent: 'x\u0085y\u2028z\u2029w' });
    expect(record.slice(0, -1)).not.toMatch(/[\r\n\u000b\u000c\u0085\u2028\u2029]/);
    expect(cefExtension(record).get('requestClientApplication')).toBe('x\ny\nz\nw');
  });

  it('escapes backslash and pipe in header fields, and never lets a line break into one', () => {
    expect(cefHeaderField('a|b\\c')).toBe('a\\|b\\\\c');
    expect(cefHeaderField('a\nb\u2028c\u0085d')).toBe('a b c d');
    // An action the label table does not know (a newer server, or a forged row) is the header's name as is, escaped.
    const record = EXPORT_WRITERS.cef.record({ ...event, action: 'x|y\u2029z' });
    expect(record.startsWith('CEF:0|Argus|Argus|0.1.0|x\\|y z|x\\|y z|5|')).toBe(true);
    expect(record.slice(0, -1)).not.toMatch(/[\n\u2029]/);
  });

  it('names the event in words, and writes a custom string label only with its value', () => {
    const record = EXPORT_WRITERS.cef.record({ ...event, action: 'grant.issued', model: null, targetType: null, targetId: null });
    expect(record.split('|')[5]).toBe('Restricted models unlocked');
    expect(record).not.toMatch(/cs[123]Label=/);
    expect(record).not.toMatch(/cs[123]=/);
    const pairs = cefExtension(record);
    expect(pairs.get('cs4Label')).toBe('details');
    expect(pairs.get('cs6')).toBe(event.hash);
    // No label names nothing: every csNLabel has its csN.
    for (const [key] of pairs) if (/^cs\dLabel$/.test(key)) expect(pairs.has(key.replace('Label', ''))).toBe(true);
  });

  it('puts the username a failed sign-in tried in suser: the account name, or the keyed hash of an unknown one', () => {
    const known = cefExtension(EXPORT_WRITERS.cef.record(failedSignIn({ username: 'bob', reason: 'bad_password' }, 'u-1')));
    expect(known.get('suser')).toBe('bob');
    const unknown = EXPORT_WRITERS.cef.record(failedSignIn({ ...unknownName, reason: 'unknown_user' }));
    expect(cefExtension(unknown).get('suser')).toBe(`hmac-sha256:${unknownName.usernameHmac}`);
    expect(unknown).not.toContain('hunter2');
    // Whoever acted stays the source user of everything else.
    expect(cefExtension(EXPORT_WRITERS.cef.record({ ...event, actorUsername: 'ada', action: 'user.created', details: { username: 'bob' } })).get('suser')).toBe('ada');
  });
});

describe('OCSF', () => {
  it('names the account a failed sign-in tried as the user, and does not claim MFA for the password step', () => {
    const known = toOcsf(failedSignIn({ username: 'bob', reason: 'bad_password' }, 'u-1'));
    expect(known).toMatchObject({ class_uid: 3002, user: { uid: 'u-1', name: 'bob', type_id: 1 }, is_mfa: false });
    expect(known.actor).toEqual({ user: { type_id: 0, type: 'Unknown' } });
    const unknown = toOcsf(failedSignIn({ ...unknownName, reason: 'unknown_user' }));
    expect(unknown.user).toEqual({ name: `hmac-sha256:${unknownName.usernameHmac}`, type_id: 0, type: 'Unknown' });
    expect(unknown.is_mfa).toBe(false);
    expect(JSON.stringify(unknown)).not.toContain('system');
  });

  it('claims MFA only where the security key took part', () => {
    const actor = { ...event, actorId: 'u-1', actorUsername: 'bob', targetType: 'user', targetId: 'u-1' };
    expect(toOcsf({ ...actor, action: 'auth.signin', outcome: 'success' })).toMatchObject({ is_mfa: true, user: { uid: 'u-1', name: 'bob' } });
    expect(toOcsf({ ...actor, action: 'auth.step_up', outcome: 'success' }).is_mfa).toBe(true);
    expect(toOcsf({ ...actor, action: 'webauthn.assertion_failed' }).is_mfa).toBe(true);
    expect(toOcsf({ ...actor, action: 'auth.password_verified', outcome: 'success' }).is_mfa).toBe(false);
    expect(toOcsf({ ...actor, action: 'auth.rate_limited', details: { limiter: 'signin-ip' } }).is_mfa).toBe(false);
    // Not an authentication by anyone: no claim either way.
    expect(toOcsf({ ...actor, action: 'auth.signout' })).not.toHaveProperty('is_mfa');
  });

  it('calls an event with neither user nor client the system', () => {
    expect(toOcsf({ ...event, action: 'grant.expired', actorUsername: null, ip: null }).actor).toEqual({ user: { name: 'system', type_id: 3, type: 'System' } });
  });

  it('writes each record as the bytes of JSON.stringify(toOcsf(event)), for every action and every shape of event', () => {
    const shapes: Array<Partial<AuditEventView>> = [
      {},
      { actorId: 'u-1', actorUsername: 'bob', targetType: 'user', targetId: 'u-1' },
      { actorId: 'u-1', actorUsername: null, targetType: 'user', targetId: 'u-2', model: 'restricted-demo' },
      { actorId: '', actorUsername: '', ip: '', userAgent: '', targetType: null, targetId: '', model: '' },
      { actorUsername: null, ip: null, userAgent: null, targetType: 'grant', targetId: 'g-1', model: null, outcome: 'denied', severity: 'critical' },
      { ip: '203.0.113.7', targetType: null, targetId: null, model: 'demo', outcome: 'success', severity: 'low' },
      { time: 'not a time', details: { username: 'bob' }, targetType: 'user', targetId: 'u-9' },
      { details: { ...unknownName, reason: 'unknown_user' }, actorUsername: null, targetType: null, targetId: null },
    ];
    const actions = [...Object.keys(AUDIT_ACTIONS), 'auth.made_up', 'user.made_up', 'made.up', 'no-family'];
    for (const action of actions) {
      for (const shape of shapes) {
        const sample = { ...event, action, ...shape };
        expect(ocsfJson(sample), `${action} ${JSON.stringify(shape)}`).toBe(JSON.stringify(toOcsf(sample)));
      }
    }
    // A severity outside the taxonomy: still the same bytes (toOcsf leaves severity_id out).
    const odd = { ...event, severity: 'extreme' as AuditEventView['severity'] };
    expect(ocsfJson(odd)).toBe(JSON.stringify(toOcsf(odd)));
    expect(EXPORT_WRITERS.ocsf.record(event)).toBe(`${JSON.stringify(toOcsf(event))}\n`);
  });
});
