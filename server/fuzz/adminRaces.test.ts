import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainVerification } from '../../shared/audit.ts';
import { query } from '../db/pool.ts';
import type { Grant } from '../grants/grants.ts';
import { dbTransactionRetries } from '../metrics.ts';
import { createEnrollee, enrollSteppedUpAdmin, insertKeyRow, startTestNode, type TestClient, type TestNode, type TestResponse } from '../test/harness.ts';
import { fuzzRuns } from './arbitraries.ts';
import { liftRateLimits } from './invariants.ts';

/**
 * Admins at work at the same time: each run makes a few users with keys and live grants,
 * then sends random pairs of admin changes on those same users and keys at once (role,
 * status, new link, delete user, key status, reassign, delete key, create user). After
 * every run: no answer was a 5xx, every key has one existing owner, the audit chain
 * verifies, and no grant is left to a user for a key they no longer own, or that is not active,
 * or when the user is not active. Found by an outside fuzz run first (issue #26); now found here.
 */

const RUNS = fuzzRuns(60);
const USERS = 3;
const KEYS = 4;

let node: TestNode;
let admin: TestClient;
let adminId: string;
let run = 0;
const started = Date.now();

beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '10000', ROUTE_RATE_LIMIT_FACTOR: '1000' });
  ({ client: admin, userId: adminId } = await enrollSteppedUpAdmin(node, 'race-admin'));
});
afterAll(async () => {
  console.info(`admin races: ${RUNS} runs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await node?.destroy();
});

interface Cast {
  users: string[];
  keys: string[];
}

/** Users (no password needed for what is raced), keys as rows, and a live grant per key. */
async function castForRun(): Promise<Cast> {
  run += 1;
  const users: string[] = [];
  for (let i = 0; i < USERS; i += 1) {
    const { user } = await createEnrollee(node, { username: `race-${run}-${i}`, displayName: `Racer ${run}.${i}` });
    users.push(user.id);
  }
  const keys: string[] = [];
  for (let i = 0; i < KEYS; i += 1) {
    const owner = users[i % USERS]!;
    const keyId = await insertKeyRow(node, owner, 'race key');
    keys.push(keyId);
    const now = Date.now();
    const grant: Grant = {
      id: randomUUID(),
      userId: owner,
      username: `race-${run}-${i % USERS}`,
      sessionId: `race-session-${run}-${i}`,
      keyId,
      keyNickname: 'race key',
      models: ['demo-restricted'],
      issuedAt: now,
      expiresAt: now + 300_000,
      presenceMode: 'assertion',
      device: null,
    };
    await node.deps.grants.issue(grant);
  }
  return { users, keys };
}

type Change =
  | { kind: 'role'; user: number; role: 'user' | 'auditor' | 'admin' }
  | { kind: 'status'; user: number; status: 'active' | 'disabled' }
  | { kind: 'link'; user: number }
  | { kind: 'deleteUser'; user: number }
  | { kind: 'createUser' }
  | { kind: 'keyStatus'; key: number; status: 'active' | 'deactivated' }
  | { kind: 'reassign'; key: number; to: number | 'admin' }
  | { kind: 'deleteKey'; key: number };

type Kind = Change['kind'];

/**
 * A pair of changes, most often on the same user or the same key (where races live), each
 * kind with the values it needs. Key changes weigh more: a key is where a user change, a
 * key change and a grant meet.
 */
const pair: fc.Arbitrary<[Change, Change]> = fc
  .record({
    kinds: fc.tuple(...[0, 1].map(() =>
      fc.oneof(
        { weight: 2, arbitrary: fc.constantFrom<Kind>('role', 'status', 'link', 'deleteUser', 'createUser') },
        { weight: 3, arbitrary: fc.constantFrom<Kind>('keyStatus', 'reassign', 'deleteKey') },
      ),
    )),
    sameTarget: fc.boolean(),
    users: fc.tuple(fc.integer({ min: 0, max: USERS - 1 }), fc.integer({ min: 0, max: USERS - 1 })),
    keys: fc.tuple(fc.integer({ min: 0, max: KEYS - 1 }), fc.integer({ min: 0, max: KEYS - 1 })),
    roles: fc.tuple(fc.constantFrom('user' as const, 'auditor' as const, 'admin' as const), fc.constantFrom('user' as const, 'auditor' as const, 'admin' as const)),
    userStatuses: fc.tuple(fc.constantFrom('active' as const, 'disabled' as const), fc.constantFrom('active' as const, 'disabled' as const)),
    keyStatuses: fc.tuple(fc.constantFrom('active' as const, 'deactivated' as const), fc.constantFrom('active' as const, 'deactivated' as const)),
    reassignTo: fc.tuple(fc.oneof(fc.integer({ min: 0, max: USERS - 1 }), fc.constant('admin' as const)), fc.oneof(fc.integer({ min: 0, max: USERS - 1 }), fc.constant('admin' as const))),
  })
  .map(({ kinds, sameTarget, users, keys, roles, userStatuses, keyStatuses, reassignTo }) => {
    const changes = [0, 1].map((i): Change => {
      // With sameTarget both changes name the first one's user and key.
      const user = users[sameTarget ? 0 : i]!;
      const key = keys[sameTarget ? 0 : i]!;
      switch (kinds[i]!) {
        case 'role': return { kind: 'role', user, role: roles[i]! };
        case 'status': return { kind: 'status', user, status: userStatuses[i]! };
        case 'link': return { kind: 'link', user };
        case 'deleteUser': return { kind: 'deleteUser', user };
        case 'createUser': return { kind: 'createUser' };
        case 'keyStatus': return { kind: 'keyStatus', key, status: keyStatuses[i]! };
        case 'reassign': return { kind: 'reassign', key, to: reassignTo[i]! };
        case 'deleteKey': return { kind: 'deleteKey', key };
      }
    });
    return [changes[0]!, changes[1]!];
  });

let created = 0;
function send(cast: Cast, c: Change): Promise<TestResponse> {
  switch (c.kind) {
    case 'role':
      return admin.patch(`/api/admin/users/${cast.users[c.user]}`, { role: c.role });
    case 'status':
      return admin.patch(`/api/admin/users/${cast.users[c.user]}`, { status: c.status });
    case 'link':
      return admin.post(`/api/admin/users/${cast.users[c.user]}/enrollment`);
    case 'deleteUser':
      return admin.request('DELETE', `/api/admin/users/${cast.users[c.user]}`);
    case 'createUser':
      created += 1;
      return admin.post('/api/admin/users', { username: `race-new-${created}`, role: 'user' });
    case 'keyStatus':
      return admin.post(`/api/admin/keys/${cast.keys[c.key]}/status`, { status: c.status });
    case 'reassign':
      return admin.post(`/api/admin/keys/${cast.keys[c.key]}/reassign`, { userId: c.to === 'admin' ? adminId : cast.users[c.to] });
    case 'deleteKey':
      return admin.request('DELETE', `/api/admin/keys/${cast.keys[c.key]}`);
  }
}

const retries = async () => (await dbTransactionRetries.get()).values.reduce((sum, sample) => sum + sample.value, 0);

/** Grants whose owner no longer holds their key, whose key is not active, or whose owner is not active. */
async function strayGrants(): Promise<Array<{ grant: string; why: string }>> {
  const live = await node.deps.grants.listLive();
  const stray: Array<{ grant: string; why: string }> = [];
  for (const grant of live) {
    const { rows } = await query<{ user_id: string; status: string; user_status: string }>(
      node.deps.pool,
      'test_grant_key',
      'SELECT k.user_id, k.status, u.status AS user_status FROM security_key k JOIN app_user u ON u.id = k.user_id WHERE k.id = $1::uuid',
      [grant.keyId],
    );
    const row = rows[0];
    if (!row) stray.push({ grant: grant.id, why: 'its key is gone' });
    else if (row.user_id !== grant.userId) stray.push({ grant: grant.id, why: 'its key belongs to someone else' });
    else if (row.status !== 'active') stray.push({ grant: grant.id, why: `its key is ${row.status}` });
    else if (row.user_status !== 'active') stray.push({ grant: grant.id, why: `its user is ${row.user_status}` });
  }
  return stray;
}

describe('random pairs of admin changes at once', () => {
  it('answer no 5xx, and leave keys, grants and the audit chain consistent', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(pair, { minLength: 1, maxLength: 4 }), async (pairs) => {
        await liftRateLimits(node);
        const cast = await castForRun();
        const retriesBefore = await retries();
        for (const [first, second] of pairs) {
          const answers = await Promise.all([send(cast, first), send(cast, second)]);
          answers.forEach((answer, i) => {
            expect(answer.status, `${JSON.stringify(i === 0 ? first : second)} → ${JSON.stringify(answer.body)}`).toBeLessThan(500);
          });
        }
        const { rows } = await query<{ orphans: string }>(
          node.deps.pool,
          'test_orphan_keys',
          'SELECT count(*) AS orphans FROM security_key k LEFT JOIN app_user u ON u.id = k.user_id WHERE u.id IS NULL',
        );
        expect(Number(rows[0]!.orphans), 'keys without an owner').toBe(0);
        expect(await strayGrants(), 'grants left after their key or user changed').toEqual([]);
        const chain = await admin.get<ChainVerification>('/api/audit/verify');
        expect(chain.body.intact, JSON.stringify(chain.body)).toBe(true);
        // The lock order holds: no transaction had to be run again after a deadlock.
        expect(await retries(), `transactions retried after ${JSON.stringify(pairs)}`).toBe(retriesBefore);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    // The fuzz admin is still an active admin who can work.
    expect((await admin.get('/api/admin/users?limit=1')).status).toBe(200);
  }, 120_000);
});
