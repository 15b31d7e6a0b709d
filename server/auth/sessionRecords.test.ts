import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionResponse } from '../../shared/api.ts';
import { RecordMac } from '../crypto/recordMac.ts';
import { editStoredSession, enrollUser, lastAudit, sessionIdOf, startRotatingNodes, startTestNode, storedSession, type TestNode } from '../test/harness.ts';
import { sealSession } from './sessionStore.ts';

/**
 * Sessions in Redis carry a MAC under the nodes' record key (threat-model G4, T126): whoever can
 * write Redis, but holds no node's key, cannot make a session for anyone, edit one or move one
 * under another session id.
 */
let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
});
afterAll(() => node.destroy());

const session = async (client: ReturnType<TestNode['client']>) => (await client.get<SessionResponse>('/api/session')).body;
/**
 * What the node answers once it has seen a record written behind its back: its session read cache
 * drops its copy when Redis's invalidation arrives, a moment after the write (until then it
 * serves the genuine record it read before).
 */
const settledSession = (client: ReturnType<TestNode['client']>) => expect.poll(() => session(client), { timeout: 3_000, interval: 20 });
const key = (sid: string) => `sess:${sid}`;

let counter = 0;
async function twoPeople() {
  counter += 1;
  const admin = await enrollUser(node, { username: `boss${counter}`, role: 'admin', password: `a corner office ${counter} up high` });
  const user = await enrollUser(node, { username: `mallory${counter}`, password: `just a regular user ${counter}` });
  return { admin, user, adminSid: sessionIdOf(admin.client), userSid: sessionIdOf(user.client) };
}

describe('session records in Redis (G4)', () => {
  it('refuse a record written without a MAC (a Redis writer making their own session an admin’s): no session, deleted, raised', async () => {
    const { admin, user, userSid } = await twoPeople();
    const mine = (await storedSession(node, userSid))!;
    // What a Redis writer could do before: point their own session at the admin, plain JSON.
    await node.deps.redis.set(key(userSid), JSON.stringify({ ...mine, userId: admin.userId }), 'KEEPTTL');
    await settledSession(user.client).toEqual({ signedIn: false });
    expect((await user.client.get('/api/admin/users')).status).toBe(401);
    await expect.poll(() => node.deps.redis.exists(key(userSid))).toBe(0);
    await expect.poll(() => lastAudit(node, 'session.forged_record')).toMatchObject({
      severity: 'critical',
      outcome: 'denied',
      targetId: admin.userId,
      details: { reason: 'missing_mac', record: 'session', claimed: { userId: admin.userId } },
    });
    // The session id itself (a bearer secret) is not in the event.
    expect(JSON.stringify(await lastAudit(node, 'session.forged_record'))).not.toContain(userSid);
    // The admin's own session is untouched.
    expect(await session(admin.client)).toMatchObject({ signedIn: true, user: { role: 'admin' } });
  });

  it('refuse a record edited under its MAC (its user or its step-up time): bad_mac; its grant ends with it', async () => {
    const { admin, user, userSid } = await twoPeople();
    // A grant hangs on the session: restricted models unlocked with the user's key.
    const options = (await user.client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options')).body.options;
    expect((await user.client.post('/api/verify-key-ownership', { response: user.authenticator.assert(options), presenceMode: 'assertion' })).status).toBe(200);
    expect(await node.deps.redis.exists(`sgrant:${userSid}`)).toBe(1);
    const raw = (await node.deps.redis.get(key(userSid)))!;
    const space = raw.indexOf(' ');
    const data = JSON.parse(raw.slice(space + 1)) as { userId: string; stepUpAt: number };
    for (const edit of [{ userId: admin.userId }, { stepUpAt: Date.now() + 3_600_000 }]) {
      const before = (await lastAudit(node, 'session.forged_record'))?.seq;
      await node.deps.redis.set(key(userSid), `${raw.slice(0, space)} ${JSON.stringify({ ...data, ...edit })}`, 'PX', 60_000);
      await settledSession(user.client).toEqual({ signedIn: false });
      await expect.poll(async () => (await lastAudit(node, 'session.forged_record'))?.seq).not.toBe(before);
      expect(await lastAudit(node, 'session.forged_record')).toMatchObject({ details: { reason: 'bad_mac' } });
      await expect.poll(() => node.deps.redis.exists(`sgrant:${userSid}`)).toBe(0);
      // Put the genuine record back for the next edit.
      await node.deps.redis.set(key(userSid), raw, 'PX', 60_000);
      await settledSession(user.client).toMatchObject({ signedIn: true });
    }
  });

  it('refuse a genuine record moved under another session id, and leave it out of every list', async () => {
    const { admin, user, adminSid, userSid } = await twoPeople();
    // The admin's genuine, sealed record copied over the user's own session id.
    await node.deps.redis.set(key(userSid), (await node.deps.redis.get(key(adminSid)))!, 'KEEPTTL');
    expect((await node.deps.sessions.sessionsForUser(admin.userId)).map((s) => s.sid)).not.toContain(userSid);
    expect((await node.deps.sessions.listLive(10_000)).sessions.map((s) => s.sid)).not.toContain(userSid);
    await settledSession(user.client).toEqual({ signedIn: false });
    await expect.poll(() => lastAudit(node, 'session.forged_record')).toMatchObject({ details: { reason: 'bad_mac', claimed: { userId: admin.userId } } });
    expect(await session(admin.client)).toMatchObject({ signedIn: true });
  });

  it('refuse a record sealed with a key no node holds', async () => {
    const { admin, user, userSid } = await twoPeople();
    const mine = (await storedSession(node, userSid))!;
    const outsider = new RecordMac([{ id: 'local', secret: randomBytes(32) }]);
    await node.deps.redis.set(key(userSid), sealSession(outsider, userSid, { ...mine, userId: admin.userId }), 'KEEPTTL');
    const before = (await lastAudit(node, 'session.forged_record'))?.seq;
    await settledSession(user.client).toEqual({ signedIn: false });
    await expect.poll(async () => (await lastAudit(node, 'session.forged_record'))?.seq).not.toBe(before);
    expect(await lastAudit(node, 'session.forged_record')).toMatchObject({ details: { reason: 'bad_mac' } });
  });

  it('accept a session sealed with a retired key while it is listed, seal it again with the new key on its next save, and refuse it once the key is gone', async () => {
    const { before, rotating, after, destroy } = await startRotatingNodes();
    try {
      const first = await enrollUser(before, { username: 'turner', password: 'seven slow turtles turning' });
      const second = await enrollUser(before, { username: 'keeper', password: 'eight quick hares keeping' });
      for (const { client } of [first, second]) {
        expect(await before.deps.redis.get(key(sessionIdOf(client)))).toMatch(/^old\./);
        expect(await session(client.sameSessionOn(rotating))).toMatchObject({ signedIn: true });
      }
      // A save on a rotating node (here, a step-up's) seals the record with the first key listed.
      await editStoredSession(rotating, sessionIdOf(first.client), () => undefined);
      expect(await rotating.deps.redis.get(key(sessionIdOf(first.client)))).toMatch(/^new\./);
      expect(await session(first.client.sameSessionOn(after))).toMatchObject({ signedIn: true });
      // The other was never saved again: once `old` is gone, it is no session.
      expect(await session(second.client.sameSessionOn(after))).toEqual({ signedIn: false });
      await expect.poll(() => lastAudit(after, 'session.forged_record')).toMatchObject({ details: { reason: 'unknown_key' } });
    } finally {
      await destroy();
    }
  });
});
