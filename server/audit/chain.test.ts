import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../log.ts';
import { createPool, query, withTransaction } from '../db/pool.ts';
import { useTestDatabase } from '../test/testDatabase.ts';
import { recordAuditEvent, SYSTEM_CONTEXT } from './record.ts';
import { verifyAuditChain } from './verify.ts';
import { GENESIS_HASH, eventHash } from './chain.ts';
import { tamper as tamperWith } from './testing/auditTestKit.ts';

const db = useTestDatabase();

/** Tampering as an attacker with superuser access would: triggers bypassed for this session. */
const tamper = (sql: string, values: unknown[] = []) => tamperWith(db.ownerPool, sql, values);

async function appendEvents(count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    await withTransaction(db.pool, (client) =>
      recordAuditEvent(client, { actor: { id: '00000000-0000-4000-8000-000000000001', username: 'alice' }, ip: '10.0.0.1', userAgent: 'test' }, {
        action: 'auth.signin',
        outcome: 'success',
        details: { n: i, nested: { z: 1, a: [true, null, 'é'] } },
      }),
    );
  }
}

describe('audit chain', () => {
  beforeEach(async () => {
    await tamper('DELETE FROM audit_event');
    await appendEvents(5);
  });

  it('links each event to the one before, from the genesis value, and verifies intact', async () => {
    const { rows } = await query<{ seq: string; prev_hash: string; hash: string }>(db.pool, 't', 'SELECT seq, prev_hash, hash FROM audit_event ORDER BY seq');
    expect(rows.map((r) => Number(r.seq))).toEqual([1, 2, 3, 4, 5]);
    expect(rows[0]!.prev_hash).toBe(GENESIS_HASH);
    for (let i = 1; i < rows.length; i += 1) expect(rows[i]!.prev_hash).toBe(rows[i - 1]!.hash);
    expect(await verifyAuditChain(db.pool)).toEqual({ intact: true, checked: 5, headSeq: 5, headHash: rows[4]!.hash });
  });

  it('is append-only: UPDATE, DELETE and TRUNCATE are refused by the database, even to its owner', async () => {
    // The server's own role may not even try (server/db/leastPrivilege.test.ts); the triggers hold for the owner.
    await expect(db.ownerPool.query("UPDATE audit_event SET outcome = 'failure' WHERE seq = 2")).rejects.toThrow(/append-only/);
    await expect(db.ownerPool.query('DELETE FROM audit_event WHERE seq = 2')).rejects.toThrow(/append-only/);
    await expect(db.ownerPool.query('TRUNCATE audit_event')).rejects.toThrow(/append-only/);
  });

  it('detects an edited row', async () => {
    await tamper(`UPDATE audit_event SET details = '{"n": 99}'::jsonb WHERE seq = 3`);
    expect(await verifyAuditChain(db.pool)).toMatchObject({ intact: false, brokenAt: 3, reason: 'hash_mismatch', checked: 2 });
  });

  it('detects an edited row whose hash was recomputed (the next link breaks)', async () => {
    // Change the actor and fix up this row's hash with a made-up value: the successor no longer links.
    await tamper(`UPDATE audit_event SET actor_username = 'mallory', hash = repeat('a', 64) WHERE seq = 3`);
    expect(await verifyAuditChain(db.pool)).toMatchObject({ intact: false, brokenAt: 3 });
  });

  it('detects a deleted row', async () => {
    await tamper('DELETE FROM audit_event WHERE seq = 2');
    expect(await verifyAuditChain(db.pool)).toMatchObject({ intact: false, brokenAt: 2, reason: 'sequence_gap' });
  });

  it('detects a deleted row even when later rows are renumbered to close the gap', async () => {
    await tamper('DELETE FROM audit_event WHERE seq = 2');
    await tamper('UPDATE audit_event SET seq = seq - 1 WHERE seq > 2');
    expect(await verifyAuditChain(db.pool)).toMatchObject({ intact: false, brokenAt: 2, reason: 'prev_hash_mismatch' });
  });

  it('detects reordered rows', async () => {
    // Swap rows 2 and 3 through a spare sequence number.
    await tamper('UPDATE audit_event SET seq = 1000000 WHERE seq = 2');
    await tamper('UPDATE audit_event SET seq = 2 WHERE seq = 3');
    await tamper('UPDATE audit_event SET seq = 3 WHERE seq = 1000000');
    expect(await verifyAuditChain(db.pool)).toMatchObject({ intact: false, brokenAt: 2, reason: 'prev_hash_mismatch' });
  });

  it('does not fork under concurrent writers on separate connections', async () => {
    const other = createPool(db.database.url, createLogger('silent'));
    try {
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          withTransaction(i % 2 ? db.pool : other, (client) => recordAuditEvent(client, SYSTEM_CONTEXT, { action: 'auth.signout', outcome: 'success' })),
        ),
      );
    } finally {
      await other.end();
    }
    expect(await verifyAuditChain(db.pool)).toMatchObject({ intact: true, checked: 45, headSeq: 45 });
  });

  it('rolls back with the change it records', async () => {
    await expect(
      withTransaction(db.pool, async (client) => {
        await recordAuditEvent(client, SYSTEM_CONTEXT, { action: 'user.disabled', outcome: 'success' });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await verifyAuditChain(db.pool)).toMatchObject({ intact: true, checked: 5 });
  });

  it('stores attacker-supplied text safely (NUL bytes, long strings)', async () => {
    await withTransaction(db.pool, (client) =>
      recordAuditEvent(client, { actor: null, ip: null, userAgent: 'x'.repeat(5000) }, {
        action: 'auth.signin_failed',
        outcome: 'failure',
        details: { username: 'bad\u0000name' },
      }),
    );
    expect(await verifyAuditChain(db.pool)).toMatchObject({ intact: true, checked: 6 });
  });

  it('appends standalone events on the pool, interleaved with transactional ones, without forking', async () => {
    const other = createPool(db.database.url, createLogger('silent'));
    const before = (await verifyAuditChain(db.pool)).checked;
    try {
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          i % 3
            ? recordAuditEvent(i % 2 ? db.pool : other, SYSTEM_CONTEXT, { action: 'model.access', outcome: 'success', model: 'demo', details: { i } })
            : withTransaction(other, (client) => recordAuditEvent(client, SYSTEM_CONTEXT, { action: 'auth.signout', outcome: 'success' })),
        ),
      );
    } finally {
      await other.end();
    }
    expect(await verifyAuditChain(db.pool)).toMatchObject({ intact: true, checked: before + 40 });
  });

  it('hashes what it stores, byte for byte: non-ASCII text, nested "seq" members, the returned view', async () => {
    const view = await recordAuditEvent(db.pool, { actor: { id: '00000000-0000-4000-8000-000000000002', username: 'zoë 🔑' }, ip: '::1', userAgent: 'Δ' }, {
      action: 'key.renamed',
      outcome: 'success',
      target: { type: 'security_key', id: 'k\u2028"1' },
      details: { seq: 0, before: 'ключ', after: '鍵 \u2028', '\u20ac': [1.5, -0, 1e21] },
    });
    const stored = await query<{ seq: string; hash: string; prev_hash: string }>(db.pool, 'test', 'SELECT seq, hash, prev_hash FROM audit_event ORDER BY seq DESC LIMIT 1');
    expect({ seq: view.seq, hash: view.hash, prevHash: view.prevHash }).toEqual({
      seq: Number(stored.rows[0]!.seq),
      hash: stored.rows[0]!.hash,
      prevHash: stored.rows[0]!.prev_hash,
    });
    expect(eventHash(view.prevHash, view)).toBe(view.hash);
    expect(await verifyAuditChain(db.pool)).toMatchObject({ intact: true, headSeq: view.seq });
  });
});
