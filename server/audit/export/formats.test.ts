import { describe, expect, it } from 'vitest';
import type { AuditEventView } from '../../../shared/audit.ts';
import { canonicalJson } from '../canonicalJson.ts';
import { csvField, eventJson, EXPORT_WRITERS } from './formats.ts';

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

describe('export formats', () => {
  it('writes JSON Lines records byte-identical to RFC 8785 canonical JSON', () => {
    expect(eventJson(event)).toBe(canonicalJson(event));
    expect(EXPORT_WRITERS.jsonl.record(event)).toBe(`${canonicalJson(event)}\n`);
  });

  it('quotes CSV fields per RFC 4180 and defuses formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('=1+1')).toBe("'=1+1");
    expect(csvField('-2')).toBe("'-2");
    expect(csvField(null)).toBe('');
    expect(csvField(-2)).toBe('-2');
  });

  it('keeps a CEF record on one line with escaped header and extension', () => {
    const record = EXPORT_WRITERS.cef.record(event);
    expect(record.split('\n')).toHaveLength(2);
    expect(record).toContain('requestClientApplication=line\\r\\nbreak \\=x|y\\\\z');
    expect(record.startsWith('CEF:0|Argus|Argus|0.1.0|auth.signin_failed|auth.signin_failed|5|')).toBe(true);
  });
});
