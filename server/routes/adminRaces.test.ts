import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreateUserResponse } from '../../shared/api.ts';
import type { ChainVerification } from '../../shared/audit.ts';
import { query } from '../db/pool.ts';
import { dbTransactionRetries } from '../metrics.ts';
import { enrollSteppedUpAdmin, enrollUser, insertKeyRow, startTestNode, type TestClient, type TestNode, type TestResponse } from '../test/harness.ts';

/**
 * Admins working at the same time (issue #26, found by an outside fuzz run): each case runs
 * two admin changes at once, many rounds, against the real Postgres. Before the fix these
 * answered 500 (two deadlocks, and a crash on a key deleted under a status change).
 */

const ROUNDS = 30;

let node: TestNode;
let admin: TestClient;
let adminId: string;
beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000', ROUTE_RATE_LIMIT_FACTOR: '1000' });
  ({ client: admin, userId: adminId } = await enrollSteppedUpAdmin(node, 'racer'));
});
afterAll(() => node.destroy());

function statuses(responses: TestResponse[]): number[] {
  return responses.map((response) => response.status);
}

/** Transactions Postgres ended as deadlock victims (and that withTransaction ran again). */
async function retriedTransactions(): Promise<number> {
  return (await dbTransactionRetries.get()).values.reduce((sum, sample) => sum + sample.value, 0);
}

async function chainIntact(): Promise<boolean> {
  const { body } = await admin.get<ChainVerification>('/api/audit/verify');
  return body.intact;
}

describe('two admin changes at once', () => {
  it('a new enrollment link for a user while their key is reassigned to the admin: both succeed, no deadlock', async () => {
    const user = await enrollUser(node, { username: 'linkee' });
    const retriedBefore = await retriedTransactions();
    const keyId = user.keyId;
    for (let round = 0; round < ROUNDS; round += 1) {
      const [link, reassign] = await Promise.all([
        admin.post(`/api/admin/users/${user.userId}/enrollment`),
        admin.post(`/api/admin/keys/${keyId}/reassign`, { userId: adminId }),
      ]);
      expect(statuses([link, reassign]), `round ${round}`).toEqual([201, 200]);
      // Back to the user for the next round.
      expect((await admin.post(`/api/admin/keys/${keyId}/reassign`, { userId: user.userId })).status).toBe(200);
    }
    expect(await chainIntact()).toBe(true);
    // One lock order: not even a deadlock that a retry would have hidden.
    expect(await retriedTransactions()).toBe(retriedBefore);
  });

  it("creating a user while another user's role changes: both succeed, no deadlock", async () => {
    const other = await enrollUser(node, { username: 'shifter' });
    const retriedBefore = await retriedTransactions();
    for (let round = 0; round < ROUNDS; round += 1) {
      const [created, changed] = await Promise.all([
        admin.post<CreateUserResponse>('/api/admin/users', { username: `newcomer-${round}`, role: 'user' }),
        admin.patch(`/api/admin/users/${other.userId}`, { role: round % 2 === 0 ? 'auditor' : 'user' }),
      ]);
      expect(statuses([created, changed]), `round ${round}`).toEqual([201, 200]);
    }
    expect(await chainIntact()).toBe(true);
    // One lock order: not even a deadlock that a retry would have hidden.
    expect(await retriedTransactions()).toBe(retriedBefore);
  });

  it('deactivating a key while it is deleted: the delete wins or comes second, never a 500', async () => {
    const owner = await enrollUser(node, { username: 'keyholder' });
    const retriedBefore = await retriedTransactions();
    const seen = new Set<string>();
    for (let round = 0; round < ROUNDS; round += 1) {
      const keyId = await insertKeyRow(node, owner.userId);
      const [deactivated, deleted] = await Promise.all([
        admin.post(`/api/admin/keys/${keyId}/status`, { status: 'deactivated' }),
        admin.request('DELETE', `/api/admin/keys/${keyId}`),
      ]);
      seen.add(`${deactivated.status}/${deleted.status}`);
      // The status change either ran first (and answers the key as it left it) or found it gone.
      expect([200, 404], `round ${round}: ${JSON.stringify(deactivated.body)}`).toContain(deactivated.status);
      if (deactivated.status === 200) expect((deactivated.body as { key: { id: string; status: string } }).key).toMatchObject({ id: keyId, status: 'deactivated' });
      expect(deleted.status, `round ${round}`).toBe(204);
    }
    expect(await chainIntact()).toBe(true);
    // One lock order: not even a deadlock that a retry would have hidden.
    expect(await retriedTransactions()).toBe(retriedBefore);
  });

  it('a key reassigned while its owner removes it: the removal finds it gone from their account and the new owner keeps it', async () => {
    const owner = await enrollUser(node, { username: 'mover' });
    const receiver = await enrollUser(node, { username: 'receiver' });
    const keyId = await insertKeyRow(node, owner.userId);
    // Another transaction holds the key's row while it moves the key to the receiver.
    const holder = await node.deps.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM security_key WHERE id = $1 FOR UPDATE', [keyId]);
      const removal = owner.client.request('DELETE', `/api/account/keys/${keyId}`);
      // The removal has read the key as the owner's and now waits for its row lock.
      await expect
        .poll(async () => (await node.deps.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n)
        .toBeGreaterThan(0);
      await holder.query('UPDATE security_key SET user_id = $2 WHERE id = $1', [keyId, receiver.userId]);
      await holder.query('COMMIT');
      expect((await removal).status).toBe(404);
    } finally {
      holder.release();
    }
    const { rows } = await query<{ user_id: string }>(node.deps.pool, 'test_key_owner', 'SELECT user_id FROM security_key WHERE id = $1::uuid', [keyId]);
    expect(rows).toEqual([{ user_id: receiver.userId }]);
  });
});
