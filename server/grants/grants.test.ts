import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GrantResponse, ModelListResponse } from '../../shared/api.ts';
import type { ChatStreamEvent } from '../../shared/events.ts';
import { RecordMac } from '../crypto/recordMac.ts';
import { searchAuditEvents } from '../db/audit.ts';
import { query } from '../db/pool.ts';
import {
  editStoredSession,
  enrollUser,
  errorCode,
  lastAudit,
  restrictedStreamStatus,
  sessionIdOf,
  signIn,
  startRotatingNodes,
  startTestNode,
  type TestClient,
  type TestNode,
} from '../test/harness.ts';
import type { SoftAuthenticator, Tamper } from '../test/softAuthenticator.ts';
import { TestSocket } from '../test/wsClient.ts';
import { FakeOpenAI } from '../test/fakeOpenAI.ts';
import type { Grant } from './grants.ts';

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
});
afterAll(() => node.destroy());

type Person = Awaited<ReturnType<typeof enrollUser>>;
let counter = 0;
async function person(): Promise<Person> {
  counter += 1;
  return enrollUser(node, { username: `person${counter}`, password: `ninety-nine balloons ${counter}` });
}

async function unlock(client: TestClient, authenticator: SoftAuthenticator, extra: Record<string, unknown> = {}, tamper: Tamper = {}) {
  const options = await client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options');
  expect(options.status).toBe(200);
  return client.post<GrantResponse>('/api/verify-key-ownership', { response: authenticator.assert(options.body.options, tamper), presenceMode: 'assertion', ...extra });
}

async function countAudit(action: string): Promise<number> {
  return (await query<{ n: number }>(node.deps.pool, 't', 'SELECT count(*)::int AS n FROM audit_event WHERE action = $1', [action])).rows[0]!.n;
}

function socketFor(client: TestClient, target = node): Promise<TestSocket> {
  return TestSocket.open(target.url, { cookie: client.cookie, origin: client.origin });
}

/** Reads a chat SSE stream to the end; returns its events and when each arrived. */
async function chat(client: TestClient, model: string, onFirstDelta?: () => void): Promise<{ status: number; events: ChatStreamEvent[]; body?: unknown; endedAt: number }> {
  const response = await fetch(`${client.baseUrl}/api/chat/stream`, {
    method: 'POST',
    headers: { origin: client.origin, 'content-type': 'application/json', cookie: client.cookie! },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello there, model' }] }),
  });
  if (!response.headers.get('content-type')?.startsWith('text/event-stream')) {
    return { status: response.status, events: [], body: await response.json(), endedAt: Date.now() };
  }
  const events: ChatStreamEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = response.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let index;
    while ((index = buffer.indexOf('\n\n')) >= 0) {
      const line = buffer.slice(0, index);
      buffer = buffer.slice(index + 2);
      const event = JSON.parse(line.replace(/^data: /, '')) as ChatStreamEvent;
      if (event.type === 'delta' && events.every((e) => e.type !== 'delta')) onFirstDelta?.();
      events.push(event);
    }
  }
  return { status: response.status, events, endedAt: Date.now() };
}

describe('unlocking restricted models', () => {
  it("issues a short grant for this session only from a fresh assertion with the user's own key", async () => {
    const p = await person();
    const before = (await p.client.get<ModelListResponse>('/api/models')).body.models;
    expect(before.find((m) => m.id === 'demo-restricted')).toMatchObject({ tier: 'restricted', unlocked: false, demo: true });
    expect(before.find((m) => m.id === 'demo-standard')).toMatchObject({ tier: 'standard', unlocked: true });
    expect((await chat(p.client, 'demo-restricted')).status).toBe(403);

    const socket = await socketFor(p.client);
    const response = await unlock(p.client, p.authenticator);
    expect(response.status).toBe(200);
    const grant = response.body.grant!;
    expect(grant.models).toEqual(['demo-restricted']);
    expect(Date.parse(grant.expiresAt) - Date.parse(grant.issuedAt)).toBe(300_000);
    expect((await socket.next('MODELS_UNLOCKED')).grant.id).toBe(grant.id);
    expect((await p.client.get<ModelListResponse>('/api/models')).body.models.find((m) => m.id === 'demo-restricted')!.unlocked).toBe(true);
    expect((await p.client.get<GrantResponse>('/api/grants/current')).body.grant?.id).toBe(grant.id);
    expect(await lastAudit(node, 'grant.issued')).toMatchObject({ details: { models: ['demo-restricted'], presenceMode: 'assertion', keyId: p.keyId } });

    const streamed = await chat(p.client, 'demo-restricted');
    expect(streamed.events.at(-1)).toEqual({ type: 'done', finishReason: 'stop' });
    expect(streamed.events.filter((e) => e.type === 'delta').length).toBeGreaterThan(10);

    // The grant belongs to this session: another session of the same user has none.
    const other = await signIn(node, { username: `person${counter}`, password: `ninety-nine balloons ${counter}`, authenticator: p.authenticator });
    expect((await other.get<GrantResponse>('/api/grants/current')).body.grant).toBeNull();
    const denied = await chat(other, 'demo-restricted');
    expect(denied.status).toBe(403);
    expect((denied.body as { error: { code: string } }).error.code).toBe('GRANT_REQUIRED');
    socket.close();
  });

  it('renews with a new grant that replaces the old one, never by stretching it', async () => {
    const p = await person();
    const first = (await unlock(p.client, p.authenticator)).body.grant!;
    const second = (await unlock(p.client, p.authenticator)).body.grant!;
    expect(second.id).not.toBe(first.id);
    expect((await p.client.get<GrantResponse>('/api/grants/current')).body.grant!.id).toBe(second.id);
    expect(await node.deps.redis.exists(`grant:${first.id}`)).toBe(0);
    expect(await lastAudit(node, 'grant.renewed')).toMatchObject({ details: { replaces: first.id } });
  });

  it("refuses another user's key as KEY_MISMATCH, pushes it to the user's sessions, and grants nothing", async () => {
    const p = await person();
    const q = await person();
    const socket = await socketFor(p.client);
    const response = await unlock(p.client, q.authenticator);
    expect(response.status).toBe(403);
    expect(errorCode(response)).toBe('KEY_MISMATCH');
    expect((await socket.next('KEY_MISMATCH_ERROR')).message).toBe('This key belongs to another account.');
    expect((await p.client.get<GrantResponse>('/api/grants/current')).body.grant).toBeNull();
    socket.close();
  });

  it('refuses a replayed ownership assertion', async () => {
    const p = await person();
    const options = (await p.client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options')).body.options;
    const assertion = p.authenticator.assert(options);
    expect((await p.client.post('/api/verify-key-ownership', { response: assertion, presenceMode: 'assertion' })).status).toBe(200);
    expect(errorCode(await p.client.post('/api/verify-key-ownership', { response: assertion, presenceMode: 'assertion' }))).toBe('CHALLENGE_INVALID');
  });

  it('never unlocks with a synced passkey, even where it may sign in', async () => {
    const lenient = await startTestNode({ ALLOW_SYNCED_PASSKEYS: 'true' });
    try {
      const synced = await enrollUser(lenient, { username: 'syncer', authenticator: lenient.authenticator({ backedUp: true }) });
      const response = await synced.client.post('/api/verify-key-ownership/options');
      expect(response.status).toBe(403);
      expect(errorCode(response)).toBe('HARDWARE_KEY_REQUIRED');
      // Even if options were obtained some other way, the verification refuses it.
      await lenient.deps.challenges.issue(decodeURIComponent(synced.client.sessionId!).slice(2).split('.')[0]!, 'ownership');
      const challenge = await lenient.deps.redis.get(`challenge:ownership:${decodeURIComponent(synced.client.sessionId!).slice(2).split('.')[0]!}`);
      const verify = await synced.client.post('/api/verify-key-ownership', { response: synced.authenticator.assert({ challenge: challenge! }), presenceMode: 'assertion' });
      expect(errorCode(verify)).toBe('HARDWARE_KEY_REQUIRED');
    } finally {
      await lenient.destroy();
    }
  });

  it('unlocks a model that requires user verification only with a verified assertion', async () => {
    await query(node.deps.pool, 't', "UPDATE model SET requires_user_verification = true WHERE id = 'demo-restricted'");
    try {
      const p = await person();
      const options = (await p.client.post<{ options: { challenge: string; userVerification: string } }>('/api/verify-key-ownership/options')).body.options;
      expect(options.userVerification).toBe('required');
      const refused = await p.client.post('/api/verify-key-ownership', { response: p.authenticator.assert(options, { userVerified: false }), presenceMode: 'assertion' });
      expect(errorCode(refused)).toBe('USER_VERIFICATION_REQUIRED');
      expect((await unlock(p.client, p.authenticator)).status).toBe(200);
    } finally {
      await query(node.deps.pool, 't', "UPDATE model SET requires_user_verification = false WHERE id = 'demo-restricted'");
    }
  });

  it('audits WebHID device info that disagrees with the registration, without blocking', async () => {
    const p = await person();
    await query(node.deps.pool, 't', 'UPDATE security_key SET hid_vendor_id = 4176, hid_product_id = 1031 WHERE id = $1', [p.keyId]);
    const response = await unlock(p.client, p.authenticator, { presenceMode: 'webhid', device: { vendorId: 0x096e, productId: 0x0858, productName: 'Other key' } });
    expect(response.status).toBe(200);
    expect(response.body.grant!.presenceMode).toBe('webhid');
    expect(await lastAudit(node, 'device_info_mismatch')).toMatchObject({ details: { reported: { vendorId: 0x096e } } });
  });
});

describe('grants only end early', () => {
  async function unlocked(): Promise<Person & { socket: TestSocket; grantId: string }> {
    const p = await person();
    const socket = await socketFor(p.client);
    const grantId = (await unlock(p.client, p.authenticator)).body.grant!.id;
    await socket.next('MODELS_UNLOCKED');
    return { ...p, socket, grantId };
  }

  async function expectEnded(p: { client: TestClient; socket: TestSocket; grantId: string }, reason: string) {
    expect((await p.socket.next('GRANT_REVOKED')).reason).toBe(reason);
    expect(await node.deps.redis.exists(`grant:${p.grantId}`)).toBe(0);
    // The event goes out as soon as access is gone; its audit record follows a moment later.
    await expect
      .poll(async () =>
        (
          await query<{ details: { reason: string } }>(
            node.deps.pool,
            't',
            "SELECT details FROM audit_event WHERE target_id = $1 AND action IN ('grant.revoked', 'grant.expired')",
            [p.grantId],
          )
        ).rows,
      )
      .toEqual([expect.objectContaining({ details: expect.objectContaining({ reason }) })]);
  }

  it('on a WebHID disconnect report and on a manual lock; a browser cannot name any other reason', async () => {
    const a = await unlocked();
    expect(errorCode(await a.client.request('DELETE', '/api/grants/current', { reason: 'expired' }))).toBe('VALIDATION_FAILED');
    expect((await a.client.request('DELETE', '/api/grants/current', { reason: 'key_removed' })).status).toBe(204);
    await expectEnded(a, 'key_removed');
    expect((await chat(a.client, 'demo-restricted')).status).toBe(403);
    const b = await unlocked();
    await b.client.request('DELETE', '/api/grants/current', { reason: 'locked_by_user' });
    await expectEnded(b, 'locked_by_user');
  });

  it('at expiry, announced by the sweeper; and the check refuses a grant past its time', async () => {
    const a = await unlocked();
    await node.deps.grants.sweep(Date.now() + 301_000);
    await expectEnded(a, 'expired');
    const b = await unlocked();
    // Make the stored grant's time run out without waiting: the check compares expiresAt itself.
    const sid = decodeURIComponent(b.client.sessionId!).slice(2).split('.')[0]!;
    // Re-sealed with the node's key, so that it is the time the check refuses, not the record.
    const stored = JSON.parse((await node.deps.redis.get(`sgrant:${sid}`))!) as Grant;
    await node.deps.redis.set(`sgrant:${sid}`, node.deps.grants.seal({ ...stored, expiresAt: Date.now() - 1 }), 'PX', 60_000);
    const forgedAlarms = await countAudit('grant.forged_record');
    expect((await chat(b.client, 'demo-restricted')).status).toBe(403);
    expect(await countAudit('grant.forged_record')).toBe(forgedAlarms);
  });

  it('warns GRANT_EXPIRING before the end', async () => {
    const a = await unlocked();
    await node.deps.grants.sweep(Date.now() + 271_000);
    expect((await a.socket.next('GRANT_EXPIRING')).grantId).toBe(a.grantId);
    expect((await a.client.get<GrantResponse>('/api/grants/current')).body.grant?.id).toBe(a.grantId);
  });

  it('on sign-out, and when the session is ended from another device', async () => {
    const a = await unlocked();
    await a.client.post('/api/auth/signout');
    await expectEnded(a, 'signed_out');
    const b = await unlocked();
    const phone = await signIn(node, { username: `person${counter}`, password: `ninety-nine balloons ${counter}`, authenticator: b.authenticator });
    const sessions = (await phone.get<{ sessions: Array<{ id: string; current: boolean }> }>('/api/account/sessions')).body.sessions;
    await phone.request('DELETE', `/api/account/sessions/${sessions.find((s) => !s.current)!.id}`);
    await expectEnded(b, 'session_ended');
    expect((await b.socket.closedWith()).code).toBe(4001);
  });

  it('when the key is deactivated, reassigned or deleted, or the user is disabled, or an admin revokes', async () => {
    const admin = await enrollUser(node, { username: 'grant-admin', role: 'admin', password: 'twelve tall ladders' });
    const a = await unlocked();
    await admin.client.post(`/api/admin/keys/${a.keyId}/status`, { status: 'deactivated' });
    await expectEnded(a, 'key_deactivated');
    const b = await unlocked();
    const other = await person();
    await admin.client.post(`/api/admin/keys/${b.keyId}/reassign`, { userId: other.userId });
    await expectEnded(b, 'key_reassigned');
    const c = await unlocked();
    await admin.client.request('DELETE', `/api/admin/keys/${c.keyId}`);
    await expectEnded(c, 'key_deleted');
    const d = await unlocked();
    await admin.client.patch(`/api/admin/users/${d.userId}`, { status: 'disabled' });
    await expectEnded(d, 'user_disabled');
    const e = await unlocked();
    const live = (await admin.client.get<{ grants: Array<{ id: string; username: string }> }>('/api/admin/grants')).body.grants;
    expect(live.map((g) => g.id)).toContain(e.grantId);
    expect((await admin.client.request('DELETE', `/api/admin/grants/${e.grantId}`)).status).toBe(204);
    await expectEnded(e, 'admin_revoked');
  });

  it('when the key is suspended by clone detection', async () => {
    const a = await unlocked();
    const options = (await a.client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options')).body.options;
    const stale = a.authenticator.credentials[0]!.signCount - 1;
    const response = await a.client.post('/api/verify-key-ownership', { response: a.authenticator.assert(options, { counter: stale }), presenceMode: 'assertion' });
    expect(errorCode(response)).toBe('KEY_SUSPENDED');
    await expectEnded(a, 'key_suspended');
  });
});

describe('restricted streams obey the grant to the last token', () => {
  it('stop within 100 ms of a revocation, keeping what was sent', async () => {
    const p = await person();
    const grant = (await unlock(p.client, p.authenticator)).body.grant!;
    let revokedAt = 0;
    const result = await chat(p.client, 'demo-restricted', () => {
      setTimeout(() => {
        revokedAt = Date.now();
        void p.client.request('DELETE', '/api/grants/current', { reason: 'key_removed' });
      }, 100);
    });
    expect(result.events.at(-1)).toEqual({ type: 'cut', reason: 'key_removed' });
    expect(result.events.filter((e) => e.type === 'delta').length).toBeGreaterThan(0);
    expect(result.endedAt - revokedAt).toBeLessThan(100);
    await expect.poll(async () => (await lastAudit(node, 'model.stream_cut'))?.details).toEqual({ reason: 'key_removed', grantId: grant.id });
  });
});

describe('renewing during a restricted answer', () => {
  it('does not cut it: the stream follows the new grant', async () => {
    const p = await person();
    await unlock(p.client, p.authenticator);
    const result = await chat(p.client, 'demo-restricted', () => {
      setTimeout(() => void unlock(p.client, p.authenticator), 50);
    });
    expect(result.events.at(-1)).toEqual({ type: 'done', finishReason: 'stop' });
  });
});

describe('a grant never outlives its key (threat-model G2, G3)', () => {
  const changes: Array<[string, string, (keyId: string, otherUserId: string) => Promise<unknown>]> = [
    ['deactivated', 'key_deactivated', (keyId) => query(node.deps.pool, 't', "UPDATE security_key SET status = 'deactivated' WHERE id = $1", [keyId])],
    ['suspended', 'key_suspended', (keyId) => query(node.deps.pool, 't', "UPDATE security_key SET status = 'suspended' WHERE id = $1", [keyId])],
    ['reassigned', 'key_reassigned', (keyId, other) => query(node.deps.pool, 't', 'UPDATE security_key SET user_id = $2 WHERE id = $1', [keyId, other])],
    ['deleted', 'key_deleted', (keyId) => query(node.deps.pool, 't', 'DELETE FROM security_key WHERE id = $1', [keyId])],
  ];
  it('refuses a restricted answer, and ends the grant, when its key was deactivated, suspended, reassigned or deleted in Postgres but the grant was left in Redis', async () => {
    for (const [change, reason, apply] of changes) {
      const p = await person();
      const other = await person();
      const socket = await socketFor(p.client);
      const grantId = (await unlock(p.client, p.authenticator)).body.grant!.id;
      // Served once, so this node holds the key's row in its cache: the change must evict it.
      expect((await restrictedStreamStatus(p.client)).status, change).toBe(200);
      // The change commits; the Redis step that would end the key's grants is lost (or ran
      // before this grant was written).
      await apply(p.keyId, other.userId);
      await expect.poll(() => restrictedStreamStatus(p.client), { timeout: 2_000, interval: 10, message: change }).toEqual({ status: 403, code: 'GRANT_REQUIRED' });
      expect(await node.deps.redis.exists(`grant:${grantId}`), change).toBe(0);
      expect((await socket.next('GRANT_REVOKED')).reason, change).toBe(reason);
      expect(await lastAudit(node, 'grant.denied'), change).toMatchObject({ details: { reason: 'key_not_active' } });
      socket.close();
    }
  });
});

describe('fail closed', () => {
  it('denies a restricted request with a clear error when the grant store cannot answer', async () => {
    const p = await person();
    await unlock(p.client, p.authenticator);
    const spy = vi.spyOn(node.deps.grants, 'check').mockRejectedValueOnce(new Error('Connection is closed.'));
    const result = await chat(p.client, 'demo-restricted');
    spy.mockRestore();
    expect(result.status).toBe(503);
    expect((result.body as { error: { code: string } }).error.code).toBe('GRANT_CHECK_UNAVAILABLE');
    expect(result.events).toEqual([]);
  });

  it('answers the grant check\'s failure when the stream-slot claim, made at the same time, fails too', async () => {
    const p = await person();
    await unlock(p.client, p.authenticator);
    expect((await chat(p.client, 'demo-standard')).status).toBe(200); // the node defines its claim command on first use
    const check = vi.spyOn(node.deps.grants, 'check').mockRejectedValueOnce(new Error('Connection is closed.'));
    const claim = vi.spyOn(node.deps.redis as unknown as { claimChatStream: () => Promise<unknown> }, 'claimChatStream').mockRejectedValueOnce(new Error('Connection is closed.'));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const result = await chat(p.client, 'demo-restricted');
      expect(claim).toHaveBeenCalledTimes(1);
      expect(result.status).toBe(503);
      expect((result.body as { error: { code: string } }).error.code).toBe('GRANT_CHECK_UNAVAILABLE');
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      check.mockRestore();
      claim.mockRestore();
    }
  });

  it('refuses a restricted answer, and stops the upstream request, when its use cannot be audited', async () => {
    const upstream = await FakeOpenAI.start();
    upstream.tokens = 200;
    upstream.tokenDelayMs = 20;
    await node.deps.pool.query(
      `INSERT INTO model (id, display_name, provider, base_url, upstream_model, tier, max_output_tokens) VALUES ('audited-upstream', 'Audited', 'openai', $1, 'm', 'restricted', 512)`,
      [upstream.baseUrl],
    );
    try {
      const p = await person();
      await unlock(p.client, p.authenticator);
      // The grant store answers, but Postgres fails the model.access record (the audit append, one
      // event or a group-committed batch; every other query still works) after the upstream has the request.
      const realQuery = node.deps.pool.query.bind(node.deps.pool);
      const spy = vi.spyOn(node.deps.pool, 'query').mockImplementation(((config: unknown, ...rest: unknown[]) =>
        typeof config === 'object' && config !== null && /audit_append(_many)?\(/.test(String((config as { text?: unknown }).text))
          ? new Promise((_, reject) => setTimeout(() => reject(new Error('Connection terminated unexpectedly')), 150))
          : (realQuery as (...a: unknown[]) => unknown)(config, ...rest)) as typeof realQuery);
      let result;
      try {
        result = await chat(p.client, 'audited-upstream');
      } finally {
        spy.mockRestore();
      }
      expect(result.status).toBe(503);
      expect(result.events).toEqual([]);
      expect(upstream.requests).toHaveLength(1);
      await expect.poll(() => upstream.requests[0]!.closedEarlyAt).not.toBeNull();
    } finally {
      await node.deps.pool.query(`DELETE FROM model WHERE id = 'audited-upstream'`);
      await upstream.stop();
    }
  });
});

describe('grant records Redis alone cannot mint (threat-model G4)', () => {
  const redis = () => node.deps.redis;
  const keyId = () => node.deps.config.grants.signingKeys[0]!.id;

  /** A grant record as a node would store it for this person's session, with or without a MAC. */
  function grantFor(p: Person, overrides: Partial<Grant> = {}): Grant {
    const now = Date.now();
    return {
      id: randomUUID(),
      userId: p.userId,
      username: 'forger',
      sessionId: sessionIdOf(p.client),
      keyId: p.keyId,
      keyNickname: 'k',
      models: ['demo-restricted'],
      issuedAt: now,
      expiresAt: now + 300_000,
      presenceMode: 'assertion',
      device: null,
      ...overrides,
    };
  }

  /** The record with a version and a MAC under the node's key id that no key made. */
  const withWrongMac = (grant: Grant) => ({ ...grant, v: 1, mac: `${keyId()}.${randomBytes(32).toString('base64url')}` });

  async function write(grant: Grant, record: unknown): Promise<string> {
    const raw = typeof record === 'string' ? record : JSON.stringify(record);
    await redis().set(`sgrant:${grant.sessionId}`, raw, 'PX', 300_000);
    await redis().set(`grant:${grant.id}`, raw, 'PX', 300_000);
    return raw;
  }

  /** Refused where it matters (a restricted answer, the grant the SPA is shown), deleted, and raised. */
  async function expectRefused(p: Person, grantId: string, reason: string) {
    const alarms = await countAudit('grant.forged_record');
    const denied = await chat(p.client, 'demo-restricted');
    expect(denied.status).toBe(403);
    expect((denied.body as { error: { code: string } }).error.code).toBe('GRANT_REQUIRED');
    expect(await redis().exists(`sgrant:${sessionIdOf(p.client)}`)).toBe(0);
    expect((await p.client.get<GrantResponse>('/api/grants/current')).body.grant).toBeNull();
    expect(await countAudit('grant.forged_record')).toBe(alarms + 1);
    expect(await lastAudit(node, 'grant.forged_record')).toMatchObject({
      severity: 'critical',
      outcome: 'denied',
      targetId: grantId,
      details: { reason, record: 'sgrant', claimed: { grantId, userId: p.userId } },
    });
  }

  it('refuses a grant record with no MAC (written straight into Redis, or from before records had one), deletes it and raises a critical event', async () => {
    const p = await person();
    const grant = grantFor(p);
    await write(grant, grant);
    await expectRefused(p, grant.id, 'missing_mac');
    // The session's own unlock still works afterwards.
    expect((await unlock(p.client, p.authenticator)).status).toBe(200);
    expect((await chat(p.client, 'demo-restricted')).status).toBe(200);
  });

  it('refuses a grant record with a wrong MAC, or one made for an outbox record', async () => {
    const p = await person();
    const wrong = grantFor(p);
    await write(wrong, withWrongMac(wrong));
    await expectRefused(p, wrong.id, 'bad_mac');
    // A MAC under the nodes' own key, but in the outbox's domain: still no grant.
    const crossed = grantFor(p);
    const fields = { ...crossed, v: 1 };
    await write(crossed, { ...fields, mac: new RecordMac(node.deps.config.grants.signingKeys).sign('audit-outbox', fields) });
    await expectRefused(p, crossed.id, 'bad_mac');
  });

  it('refuses a genuine grant with one field edited in Redis: models widened, expiry extended, key swapped', async () => {
    await query(node.deps.pool, 't', "INSERT INTO model (id, display_name, provider, upstream_model, tier, requires_user_verification) VALUES ('g4-restricted', 'G4', 'demo', 'demo', 'restricted', true)");
    try {
      const edits: Array<[string, (grant: Grant, other: Person) => Grant, string]> = [
        ['models widened', (grant) => ({ ...grant, models: [...grant.models, 'g4-restricted'] }), 'g4-restricted'],
        ['expiry extended', (grant) => ({ ...grant, expiresAt: grant.expiresAt + 3_600_000 }), 'demo-restricted'],
        ['key swapped', (grant, other) => ({ ...grant, keyId: other.keyId }), 'demo-restricted'],
      ];
      for (const [edit, apply, model] of edits) {
        const p = await person();
        const other = await person();
        // Without user verification: the grant covers demo-restricted only, not g4-restricted.
        const options = (await p.client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options')).body.options;
        const unlocked = await p.client.post<GrantResponse>('/api/verify-key-ownership', { response: p.authenticator.assert(options, { userVerified: false }), presenceMode: 'assertion' });
        expect(unlocked.body.grant!.models, edit).toEqual(['demo-restricted']);
        const key = `sgrant:${sessionIdOf(p.client)}`;
        const { mac, ...stored } = JSON.parse((await redis().get(key))!) as Grant & { mac: string };
        await redis().set(key, JSON.stringify({ ...apply(stored, other), mac }), 'KEEPTTL');
        const alarms = await countAudit('grant.forged_record');
        expect((await chat(p.client, model)).status, edit).toBe(403);
        expect(await redis().exists(key), edit).toBe(0);
        expect(await countAudit('grant.forged_record'), edit).toBe(alarms + 1);
        expect((await lastAudit(node, 'grant.forged_record'))?.details, edit).toMatchObject({ reason: 'bad_mac' });
      }
    } finally {
      await query(node.deps.pool, 't', "DELETE FROM model WHERE id = 'g4-restricted'");
    }
  });

  it("refuses a genuine grant copied into another of the same user's sessions", async () => {
    const p = await person();
    const grant = (await unlock(p.client, p.authenticator)).body.grant!;
    const keyless = await signIn(node, { username: `person${counter}`, password: `ninety-nine balloons ${counter}`, authenticator: p.authenticator });
    await redis().set(`sgrant:${sessionIdOf(keyless)}`, (await redis().get(`sgrant:${sessionIdOf(p.client)}`))!, 'PX', 300_000);
    expect((await chat(keyless, 'demo-restricted')).status).toBe(403);
    expect(await redis().exists(`sgrant:${sessionIdOf(keyless)}`)).toBe(0);
    expect(await lastAudit(node, 'grant.forged_record')).toMatchObject({ targetId: grant.id, details: { reason: 'misplaced' } });
    // The genuine one, where it belongs, is untouched.
    expect((await chat(p.client, 'demo-restricted')).status).toBe(200);
  });

  it('leaves forged records out of the live-grant list and the expiry sweep, and deletes them', async () => {
    const p = await person();
    const grant = grantFor(p, { expiresAt: Date.now() + 20_000 });
    const forged = withWrongMac(grant);
    await write(grant, forged);
    await redis().zadd('grant-deadlines', grant.expiresAt, grant.id);
    await redis().zadd('grant-warnings', grant.expiresAt - 30_000, grant.id);
    const socket = await socketFor(p.client);
    expect((await node.deps.grants.listLive()).map((g) => g.id)).not.toContain(grant.id);
    expect(await redis().exists(`grant:${grant.id}`)).toBe(0);
    await write(grant, forged);
    expect(await node.deps.grants.sweep(Date.now())).toMatchObject({ warned: 0 });
    expect(await node.deps.grants.end(grant.id, 'admin_revoked', null)).toBeNull();
    expect(await redis().exists(`grant:${grant.id}`)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(socket.events.map((e) => e.type)).not.toContain('GRANT_EXPIRING');
    expect(socket.events.map((e) => e.type)).not.toContain('GRANT_REVOKED');
    socket.close();
  });

  it('raises one alarm per forged record, however often it is written again', async () => {
    const p = await person();
    const forged = withWrongMac(grantFor(p));
    const before = await countAudit('grant.forged_record');
    for (let i = 0; i < 3; i += 1) {
      await write(forged, forged);
      expect((await chat(p.client, 'demo-restricted')).status).toBe(403);
      expect(await redis().exists(`sgrant:${forged.sessionId}`)).toBe(0);
    }
    expect(await countAudit('grant.forged_record')).toBe(before + 1);
  });
});

describe('rotating the grant signing key (GRANT_SIGNING_KEYS)', () => {
  it('accepts a grant MACed with a retired key while it is still listed, and refuses it once the key is gone', async () => {
    const { before, rotating, after, destroy } = await startRotatingNodes();
    try {
      const p = await enrollUser(before, { username: 'rotator', password: 'seven slow turtles' });
      const sid = sessionIdOf(p.client);
      expect((await unlock(p.client, p.authenticator)).status).toBe(200);
      expect(JSON.parse((await before.deps.redis.get(`sgrant:${sid}`))!)).toMatchObject({ mac: expect.stringMatching(/^old\./) });
      // Still listed: accepted.
      expect((await chat(p.client.sameSessionOn(rotating), 'demo-restricted')).status).toBe(200);
      // The session record itself was saved since on a rotating node, so it is sealed with the new key (the grant was not).
      await editStoredSession(rotating, sid, () => undefined);
      // No longer listed: refused, deleted, raised.
      expect((await chat(p.client.sameSessionOn(after), 'demo-restricted')).status).toBe(403);
      expect(await after.deps.redis.exists(`sgrant:${sid}`)).toBe(0);
      const [event] = await searchAuditEvents(after.deps.pool, { action: 'grant.forged_record' }, { limit: 1 });
      expect(event).toMatchObject({ severity: 'critical', details: { reason: 'unknown_key', claimed: { macKeyId: 'old' } } });
      // The first key listed signs: a rotating node's grant carries the new key's id.
      const options = (await p.client.sameSessionOn(rotating).post<{ options: { challenge: string } }>('/api/verify-key-ownership/options')).body.options;
      expect((await p.client.sameSessionOn(rotating).post('/api/verify-key-ownership', { response: p.authenticator.assert(options), presenceMode: 'assertion' })).status).toBe(200);
      expect(JSON.parse((await rotating.deps.redis.get(`sgrant:${sid}`))!)).toMatchObject({ mac: expect.stringMatching(/^new\./) });
      expect((await chat(p.client.sameSessionOn(after), 'demo-restricted')).status).toBe(200);
    } finally {
      await destroy();
    }
  });
});
