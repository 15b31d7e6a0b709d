import { describe, expect, it } from 'vitest';
import type { AuditEventView } from '../../../shared/audit.ts';
import { fromLocalInput, matchesSearch, searchFrom, toLocalInput } from './filters.ts';

const event: AuditEventView = {
  seq: 7,
  time: '2026-11-30T10:00:00.000Z',
  actorId: '6f1c1c52-2a5b-4e4f-9a53-2f5d0b8b1e11',
  actorUsername: 'Alice',
  action: 'key.suspended',
  targetType: 'key',
  targetId: 'k1',
  outcome: 'success',
  severity: 'critical',
  ip: null,
  userAgent: null,
  model: null,
  details: {},
  prevHash: '0'.repeat(64),
  hash: '1'.repeat(64),
};

describe('audit search filters', () => {
  it('reads a URL query, dropping unknown and empty values', () => {
    expect(searchFrom({ action: 'key.suspended', severity: 'apocalyptic', outcome: '', actor: ' alice ', from: 'nonsense' })).toEqual({ action: 'key.suspended', actor: 'alice' });
    expect(searchFrom({ from: '2026-11-30T10:00:00Z' })).toEqual({ from: '2026-11-30T10:00:00.000Z' });
  });

  it('matches live events as the server filters them', () => {
    expect(matchesSearch(event, {})).toBe(true);
    expect(matchesSearch(event, { actor: 'alice', severity: 'critical', target: 'k1' })).toBe(true);
    expect(matchesSearch(event, { actor: '6F1C1C52-2A5B-4E4F-9A53-2F5D0B8B1E11' })).toBe(true);
    expect(matchesSearch(event, { action: 'key.renamed' })).toBe(false);
    expect(matchesSearch(event, { to: '2026-11-30T10:00:00.000Z' })).toBe(false);
    expect(matchesSearch(event, { from: '2026-11-30T10:00:00.001Z' })).toBe(false);
  });

  it('round-trips a datetime-local value', () => {
    const iso = fromLocalInput('2026-11-30T11:12:13')!;
    expect(toLocalInput(iso)).toBe('2026-11-30T11:12:13');
  });
});
