import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../test/testDatabase.ts';
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
