import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { appendableEvent } from '../audit/testing/auditTestKit.ts';
import { seedChain } from '../audit/testing/seedChain.ts';
import { verifyAuditChain } from '../audit/verify.ts';
import { useTestDatabase } from '../test/testDatabase.ts';
import { appendAuditEvents } from './audit.ts';
import { pgErrorCode, PG_CHECK_VIOLATION, query, withTransaction } from './pool.ts';

const db = useTestDatabase();

const GOOD = 'a'.repeat(32) + '0123456789abcdef'.repeat(2);

/**
 * Inserts one row straight into audit_event as the owner (the server's role may not), in a
 * transaction that is always rolled back; the SQLSTATE it was refused with, or null.
 */
async function refusal(hash: string, prevHash: string): Promise<string | null> {
  const rolledBack = new Error('roll back');
  const error = await withTransaction(db.ownerPool, async (client) => {
    await query(
      client,
      't',
      `INSERT INTO audit_event (seq, time, action, outcome, severity, details, prev_hash, hash)
       VALUES (1000000, now(), 'auth.signout', 'success', 'info', '{}', $1::text, $2::text)`,
      [prevHash, hash],
    );
    throw rolledBack;
  }).catch((caught: unknown) => caught);
  return error === rolledBack ? null : (pgErrorCode(error) ?? String(error));
}

describe('what audit_event accepts as a hash (sql/000025)', () => {
  it('takes exactly 64 lowercase hex digits, for hash and prev_hash', async () => {
    expect(GOOD).toHaveLength(64);
    expect(await refusal(GOOD, GOOD)).toBeNull();
  });

  it.each([
    ['63 digits', GOOD.slice(1)],
    ['65 digits', `${GOOD}0`],
    ['an uppercase digit', `A${GOOD.slice(1)}`],
    ['a letter past f', `g${GOOD.slice(1)}`],
    ['a trailing newline', `${GOOD.slice(1)}\n`],
    ['a space', ` ${GOOD.slice(1)}`],
    ['a multibyte character', `é${GOOD.slice(2)}`],
    ['nothing', ''],
  ])('refuses %s (23514 check_violation), in hash and in prev_hash', async (_, bad) => {
    expect(await refusal(bad, GOOD)).toBe(PG_CHECK_VIOLATION);
    expect(await refusal(GOOD, bad)).toBe(PG_CHECK_VIOLATION);
  });
});

describe('the partial indexes of audit_event (sql/000028)', () => {
  const PARTIAL = ['audit_event_target', 'audit_event_outcome', 'audit_event_severity'] as const;

  async function indexBytes(): Promise<Record<string, number>> {
    const { rows } = await query<{ name: string; bytes: string }>(
      db.ownerPool,
      't',
      `SELECT c.relname AS name, pg_relation_size(c.oid)::text AS bytes FROM pg_class c
        WHERE c.relname = ANY($1::text[])`,
      [[...PARTIAL, 'audit_event_action']],
    );
    return Object.fromEntries(rows.map((row) => [row.name, Number(row.bytes)]));
  }

  it('take no entry for an event without a target, succeeding, of severity info (the common case)', async () => {
    const before = await indexBytes();
    for (let batch = 0; batch < 2; batch += 1) {
      const events = Array.from({ length: 500 }, (_, n) => appendableEvent({ action: 'model.access', actorUsername: 'writer', model: 'demo', details: { n } }));
      await appendAuditEvents(db.pool, randomUUID(), events);
    }
    const after = await indexBytes();
    // 1,000 entries of (text, bigint) fill several 8 KiB pages of a full index.
    expect(after.audit_event_action! - before.audit_event_action!).toBeGreaterThanOrEqual(16_384);
    for (const name of PARTIAL) expect({ name, grew: after[name]! - before[name]! }).toEqual({ name, grew: 0 });
    expect((await verifyAuditChain(db.pool)).intact).toBe(true);
  });

  it('still serve the searches for a target, a rare outcome and a rare severity (newest first, as the audit search asks)', async () => {
    // seedChain: every event targets one of 1,000 users; 1 in 6 failed, 1 in 6 is high severity.
    await seedChain(db.ownerPool, 12_000);
    await query(db.ownerPool, 't', 'ANALYZE audit_event');
    const indexOf = async (where: string, value: string) => {
      const { rows } = await query<{ 'QUERY PLAN': Array<{ Plan: unknown }> }>(
        db.ownerPool,
        't',
        `EXPLAIN (FORMAT JSON) SELECT seq FROM audit_event WHERE ${where} = $1::text ORDER BY seq DESC LIMIT $2::int`,
        [value, 51],
      );
      return [...JSON.stringify(rows[0]!['QUERY PLAN']).matchAll(/"Index Name":"([a-z_]+)"/g)].map((match) => match[1]);
    };
    expect(await indexOf('target_id', '00000000-0000-4000-8000-000000000123')).toEqual(['audit_event_target']);
    expect(await indexOf('outcome', 'denied')).toEqual(['audit_event_outcome']);
    expect(await indexOf('severity', 'critical')).toEqual(['audit_event_severity']);
    // The common values are found newest first along the primary key, a page within its first rows.
    expect(await indexOf('outcome', 'success')).toEqual(['audit_event_pkey']);
    expect(await indexOf('severity', 'info')).toEqual(['audit_event_pkey']);
  });
});
