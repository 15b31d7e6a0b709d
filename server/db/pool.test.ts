import { beforeAll, describe, expect, it } from 'vitest';
import { dbTransactionRetries } from '../metrics.ts';
import { useTestDatabase } from '../test/testDatabase.ts';
import { PG_DEADLOCK_DETECTED, pgErrorCode, withTransaction, type PoolClient } from './pool.ts';

const db = useTestDatabase();
beforeAll(async () => {
  // Schema changes are the owner's; the transactions below run as the server's role, like the server's.
  await db.ownerPool.query(
    `CREATE TABLE lock_probe (id int PRIMARY KEY, runs int NOT NULL DEFAULT 0); INSERT INTO lock_probe (id) VALUES (1), (2);
     GRANT SELECT, UPDATE ON lock_probe TO argus_app`,
  );
  // Find the deadlock in a tenth of a second rather than a whole one.
  await db.ownerPool.query(`ALTER DATABASE ${db.database.name} SET deadlock_timeout = '100ms'`);
});

const retries = async () => (await dbTransactionRetries.get()).values.find((sample) => sample.labels.code === PG_DEADLOCK_DETECTED)?.value ?? 0;

/** Two transactions that lock rows 1 and 2 in opposite orders, each waiting until the other holds its first row. */
function crossedLocks(attempts: number[]): Array<(client: PoolClient) => Promise<string>> {
  let held = 0;
  const bothHeld = () => new Promise<void>((resolve) => {
    const check = () => (held >= 2 ? resolve() : setTimeout(check, 5));
    check();
  });
  return [1, 2].map((first, index) => async (client: PoolClient) => {
    attempts[index] = (attempts[index] ?? 0) + 1;
    const second = first === 1 ? 2 : 1;
    await client.query('UPDATE lock_probe SET runs = runs + 1 WHERE id = $1', [first]);
    held += 1;
    await bothHeld();
    await client.query('UPDATE lock_probe SET runs = runs + 1 WHERE id = $1', [second]);
    return `done ${first}`;
  });
}

describe('withTransaction', () => {
  it('runs a deadlock victim again, and both transactions commit once', async () => {
    const before = await retries();
    const attempts: number[] = [];
    const [a, b] = crossedLocks(attempts);
    expect(await Promise.all([withTransaction(db.pool, a!), withTransaction(db.pool, b!)])).toEqual(['done 1', 'done 2']);
    expect(await retries()).toBe(before + 1);
    expect(attempts.reduce((sum, n) => sum + n, 0)).toBe(3);
    // Each committed transaction added one to each row: nothing from the rolled-back attempt stayed.
    const { rows } = await db.pool.query<{ runs: number }>('SELECT runs FROM lock_probe ORDER BY id');
    expect(rows.map((row) => row.runs)).toEqual([2, 2]);
  });

  it('does not run again a transaction that failed for any other reason', async () => {
    let runs = 0;
    const failing = withTransaction(db.pool, async (client) => {
      runs += 1;
      await client.query('SELECT 1/0');
    });
    await expect(failing).rejects.toSatisfy((error: unknown) => pgErrorCode(error) === '22012');
    expect(runs).toBe(1);
  });
});
