import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS } from '../../shared/audit.ts';
import { toOcsf } from './export/ocsf.ts';

const doc = readFileSync(new URL('../../docs/audit-actions.md', import.meta.url), 'utf8');
/** Rows of the table: | `action` | severity | when | OCSF class |. */
const rows = [...doc.matchAll(/^\| `([^`]+)` \| (\w+) \| [^|]+ \| [^|]+ (\d{4}) \|$/gm)].map((m) => ({ action: m[1]!, severity: m[2]!, ocsfClass: Number(m[3]) }));

describe('docs/audit-actions.md', () => {
  it('lists every action of the taxonomy with its severity, and nothing else', () => {
    expect(Object.fromEntries(rows.map((row) => [row.action, row.severity]))).toEqual(AUDIT_ACTIONS);
    expect(rows).toHaveLength(Object.keys(AUDIT_ACTIONS).length);
  });

  it('names the OCSF class each action is exported as', () => {
    for (const row of rows) {
      const ocsf = toOcsf({
        seq: 1, time: '2026-01-01T00:00:00.000Z', actorId: null, actorUsername: null, action: row.action, targetType: null, targetId: null,
        outcome: 'success', severity: 'info', ip: null, userAgent: null, model: null, details: {}, prevHash: '0'.repeat(64), hash: '1'.repeat(64),
      });
      expect(ocsf.class_uid, row.action).toBe(row.ocsfClass);
    }
  });
});
