import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GrantResponse } from '../../shared/api.ts';
import { SYSTEM_CONTEXT } from '../audit/record.ts';
import { query } from '../db/pool.ts';
import { suspendKeyOfCompromisedModel } from '../keys/manageKeys.ts';
import { enrollSteppedUpAdmin, enrollUser, errorCode, restrictedStreamStatus, sessionIdOf, startTestNode, stepUpWith, type TestClient, type TestNode } from '../test/harness.ts';
import { SoftAuthenticator } from '../test/softAuthenticator.ts';
import { TestSocket } from '../test/wsClient.ts';
import type { Grant } from './grants.ts';

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
});
afterAll(() => node.destroy());

type Admin = Awaited<ReturnType<typeof enrollSteppedUpAdmin>>;
type Person = Awaited<ReturnType<typeof enrollUser>>;

/**
 * A user signed in with their first key who registers a second: the race is run with the
 * second, so the change to it leaves this session standing (it signed in with the first).
 */
async function personWithSecondKey(username: string): Promise<Person & { second: SoftAuthenticator; secondKeyId: string }> {
  const person = await enrollUser(node, { username, password: `two keys on one ring ${username.length}` });
  await stepUpWith(person.client, person.authenticator);
  const second = node.authenticator();
  const { options } = (await person.client.post<{ options: { challenge: string } }>('/api/account/keys/options')).body;
  expect((await person.client.post('/api/account/keys', { response: second.register(options), nickname: 'second' })).status).toBe(201);
  const keys = (await person.client.get<{ keys: Array<{ id: string; nickname: string }> }>('/api/account/keys')).body.keys;
  return { ...person, second, secondKeyId: keys.find((key) => key.nickname === 'second')!.id };
}

async function auditOf(grantId: string): Promise<Array<{ action: string; reason: string | null }>> {
  const { rows } = await query<{ action: string; reason: string | null }>(
    node.deps.pool,
    't',
    "SELECT action, details->>'reason' AS reason FROM audit_event WHERE target_id = $1 OR details->>'grantId' = $1 ORDER BY seq",
    [grantId],
  );
  return rows;
}

interface Change {
  name: string;
  /** Made through the real admin route (or the domain function), committed and finished before the grant is written. */
  apply: (admin: Admin, person: Awaited<ReturnType<typeof personWithSecondKey>>, other: Person) => Promise<unknown>;
  ended: string;
  /** The unlock's answer, and the reason its grant.denied event records. */
  refusal: string;
  denied: string;
  /** What the session's next restricted request answers. */
  stream: { status: number; code: string };
}

const changes: Change[] = [
  {
    name: 'deactivated',
    apply: (admin, p) => admin.client.post(`/api/admin/keys/${p.secondKeyId}/status`, { status: 'deactivated' }),
    ended: 'key_deactivated',
    refusal: 'KEY_INACTIVE',
    denied: 'key_inactive',
    stream: { status: 403, code: 'GRANT_REQUIRED' },
  },
  {
    name: 'reassigned',
    apply: (admin, p, other) => admin.client.post(`/api/admin/keys/${p.secondKeyId}/reassign`, { userId: other.userId }),
    ended: 'key_reassigned',
    refusal: 'KEY_UNKNOWN',
    denied: 'key_unknown',
    stream: { status: 403, code: 'GRANT_REQUIRED' },
  },
  {
    name: 'deleted',
    apply: (admin, p) => admin.client.request('DELETE', `/api/admin/keys/${p.secondKeyId}`),
    ended: 'key_deleted',
    refusal: 'KEY_UNKNOWN',
    denied: 'key_unknown',
    stream: { status: 403, code: 'GRANT_REQUIRED' },
  },
  {
    name: 'suspended',
    apply: (_admin, p) =>
      suspendKeyOfCompromisedModel(node.deps, {
        keyId: p.secondKeyId,
        statement: { latestStatus: 'REVOKED', latestReport: 'REVOKED@2025-01-01', description: 'Test key' },
        blobNo: 1,
        context: SYSTEM_CONTEXT,
      }),
    ended: 'key_suspended',
    refusal: 'KEY_SUSPENDED',
    denied: 'key_suspended',
    stream: { status: 403, code: 'GRANT_REQUIRED' },
  },
  {
    name: 'user disabled',
    apply: (admin, p) => admin.client.patch(`/api/admin/users/${p.userId}`, { status: 'disabled' }),
    ended: 'user_disabled',
    refusal: 'KEY_INACTIVE',
    denied: 'key_inactive',
    // Disabling ends the user's sessions as well.
    stream: { status: 401, code: 'UNAUTHENTICATED' },
  },
];

describe('a key change that lands between the unlock’s assertion and its grant (threat-model G3)', () => {
  it('refuses the unlock, and ends and audits its grant, when the key is deactivated, reassigned, deleted or suspended, or the user disabled, between the assertion’s commit and the grant’s write', async () => {
    const admin = await enrollSteppedUpAdmin(node, 'race-admin');
    const other = await enrollUser(node, { username: 'race-other', password: 'someone else entirely' });
    for (const [index, change] of changes.entries()) {
      const p = await personWithSecondKey(`racer${index}`);
      await stepUpWith(admin.client, admin.authenticator);
      const socket = await TestSocket.open(p.client.baseUrl, { cookie: p.client.cookie, origin: p.client.origin });

      // The assertion has committed (the key's use, grant.issued); the change commits and ends
      // "the key's grants" (or the user's) now, finding none, and only then is the grant written.
      const issue = node.deps.grants.issue.bind(node.deps.grants);
      let written: Grant | null = null;
      let changed: unknown;
      const spy = vi.spyOn(node.deps.grants, 'issue').mockImplementationOnce(async (grant) => {
        changed = await change.apply(admin, p, other);
        written = grant;
        return issue(grant);
      });
      let unlock;
      try {
        const { options } = (await p.client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options')).body;
        unlock = await p.client.post<GrantResponse>('/api/verify-key-ownership', {
          response: p.second.assert(options),
          presenceMode: 'assertion',
        });
      } finally {
        spy.mockRestore();
      }
      expect((changed as { status?: number }).status ?? 200, change.name).toBeLessThan(300);
      const grant = written as Grant | null;
      expect(grant, change.name).not.toBeNull();

      // A refusal, not a grant; nothing of it is left in Redis.
      expect(unlock.status, change.name).toBe(403);
      expect(errorCode(unlock), change.name).toBe(change.refusal);
      expect(await node.deps.redis.exists(`sgrant:${sessionIdOf(p.client)}`, `grant:${grant!.id}`), change.name).toBe(0);
      expect(await node.deps.redis.sismember(`key-grants:${grant!.keyId}`, grant!.id), change.name).toBe(0);
      // Audited as the change would have ended it: issued, revoked for the change, the unlock denied.
      expect(await auditOf(grant!.id), change.name).toEqual([
        { action: 'grant.issued', reason: null },
        { action: 'grant.revoked', reason: change.ended },
        { action: 'grant.denied', reason: change.denied },
      ]);
      // The session's next restricted request is refused.
      expect(await restrictedStreamStatus(p.client), change.name).toEqual(change.stream);
      if (change.stream.status === 403) {
        // Told it ended, and never that it unlocked.
        expect((await socket.next('GRANT_REVOKED')).reason, change.name).toBe(change.ended);
        expect(socket.events.map((event) => event.type), change.name).not.toContain('MODELS_UNLOCKED');
      }
      socket.close();
    }
  });
});
