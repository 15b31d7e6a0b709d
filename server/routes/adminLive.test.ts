import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminGrantListResponse, AdminSessionListResponse, GrantResponse, SessionResponse } from '../../shared/api.ts';
import type { AuditListResponse } from '../../shared/audit.ts';
import { WS_CLOSE } from '../../shared/events.ts';
import { enrollUser, errorCode, expireStepUp, sessionIdOf, signIn, startSiblingNode, startTestNode, stepUpWith, TestClient, type TestNode } from '../test/harness.ts';
import { TestSocket } from '../test/wsClient.ts';

let node: TestNode;
let admin: Awaited<ReturnType<typeof enrollUser>>;
let rosa: Awaited<ReturnType<typeof enrollUser>>;
let auditor: TestClient;

beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
  admin = await enrollUser(node, { username: 'ada', role: 'admin' });
  rosa = await enrollUser(node, { username: 'rosa', password: 'a fox under the moon' });
  auditor = (await enrollUser(node, { username: 'otto', role: 'auditor' })).client;
});
afterAll(() => node.destroy());

const listSessions = async () => (await admin.client.get<AdminSessionListResponse>('/api/admin/sessions')).body;
const handleOf = async (client: TestClient) => {
  const sessions = (await listSessions()).sessions;
  const { createHash } = await import('node:crypto');
  const handle = createHash('sha256').update(`argus-session:${sessionIdOf(client)}`).digest('hex').slice(0, 32);
  return sessions.find((s) => s.id === handle);
};

async function unlock(client: TestClient, authenticator: typeof rosa.authenticator): Promise<string> {
  const options = (await client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options')).body.options;
  return (await client.post<GrantResponse>('/api/verify-key-ownership', { response: authenticator.assert(options), presenceMode: 'assertion' })).body.grant!.id;
}

describe('the live sessions list', () => {
  it('shows every signed-in session with who, where, when and how, never a session id', async () => {
    const laptop = await signIn(node, { username: 'rosa', password: rosa.password, authenticator: rosa.authenticator });
    const list = await listSessions();
    expect(list.total).toBe(list.sessions.length);
    const fromEnrollment = await handleOf(rosa.client);
    const fromSignIn = await handleOf(laptop);
    expect(fromEnrollment).toMatchObject({ username: 'rosa', userId: rosa.userId, method: 'enrollment', keyNickname: "rosa's key", current: false });
    expect(fromSignIn).toMatchObject({ username: 'rosa', method: 'password_and_key', keyId: rosa.keyId, ip: expect.stringMatching(/127\.0\.0\.1/) });
    expect(Date.parse(fromSignIn!.lastSeenAt)).toBeGreaterThanOrEqual(Date.parse(fromSignIn!.signedInAt));
    expect(list.sessions.filter((s) => s.current).map((s) => s.username)).toEqual(['ada']);
    for (const client of [rosa.client, laptop, admin.client]) expect(JSON.stringify(list)).not.toContain(sessionIdOf(client));
    // Most recently seen first.
    const seen = list.sessions.map((s) => Date.parse(s.lastSeenAt));
    expect(seen).toEqual([...seen].sort((a, b) => b - a));

    // Signing out takes the session off the list; a pending (password-only) session is never on it.
    await laptop.post('/api/auth/signout');
    const pending = node.client();
    await pending.post('/api/auth/signin', { username: 'rosa', password: rosa.password });
    const after = await listSessions();
    expect(after.sessions.filter((s) => s.username === 'rosa')).toHaveLength(1);
    expect(after.total).toBe(list.total - 1);
  });

  it('drops entries of sessions idle past the timeout when read', async () => {
    const idle = await signIn(node, { username: 'rosa', password: rosa.password, authenticator: rosa.authenticator });
    expect(await handleOf(idle)).toBeDefined();
    await node.deps.redis.zadd('live-sessions', Date.now() - 24 * 3_600_000, sessionIdOf(idle));
    expect(await handleOf(idle)).toBeUndefined();
  });

  it('is for admins only', async () => {
    for (const client of [rosa.client, auditor]) {
      expect(errorCode(await client.get('/api/admin/sessions'))).toBe('FORBIDDEN');
      const refused = await client.request('DELETE', `/api/admin/sessions/${'a'.repeat(32)}`);
      expect(refused.status).toBe(403);
      expect(errorCode(refused)).toBe('FORBIDDEN');
    }
  });
});

describe('ending a session', () => {
  it('signs that browser out, ends its grant and closes its WebSocket, and audits who did it', async () => {
    const phone = await signIn(node, { username: 'rosa', password: rosa.password, authenticator: rosa.authenticator });
    const grantId = await unlock(phone, rosa.authenticator);
    const socket = await TestSocket.open(node.url, { origin: 'http://argus.test', cookie: phone.cookie });
    const otherSocket = await TestSocket.open(node.url, { origin: 'http://argus.test', cookie: rosa.client.cookie });
    const target = (await handleOf(phone))!;

    expect((await admin.client.request('DELETE', `/api/admin/sessions/${target.id}`)).status).toBe(204);
    expect(await socket.next('GRANT_REVOKED')).toEqual({ type: 'GRANT_REVOKED', grantId, reason: 'session_ended' });
    expect(await socket.closedWith()).toEqual({ code: WS_CLOSE.SESSION_ENDED, reason: 'session ended' });
    const answer = await phone.get<SessionResponse>('/api/session');
    expect(answer.body.signedIn).toBe(false);
    // Rosa's other session carries on.
    expect((await rosa.client.get<SessionResponse>('/api/session')).body.signedIn).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(otherSocket.closed).toBeNull();
    otherSocket.close();
    expect(await handleOf(phone)).toBeUndefined();

    const events = (await admin.client.get<AuditListResponse>('/api/audit/events?action=auth.session_ended&limit=1')).body.events;
    expect(events[0]).toMatchObject({ actorUsername: 'ada', targetId: rosa.userId, severity: 'medium', details: { session: target.id, by: 'admin' } });

    const again = await admin.client.request('DELETE', `/api/admin/sessions/${target.id}`);
    expect(again.status).toBe(404);
    expect(errorCode(again)).toBe('NOT_FOUND');
  });

  it('closes the WebSocket on another node too', async () => {
    const nodeB = await startSiblingNode(node);
    try {
      const tablet = await signIn(node, { username: 'rosa', password: rosa.password, authenticator: rosa.authenticator });
      const socketOnB = await TestSocket.open(nodeB.url, { origin: 'http://argus.test', cookie: tablet.cookie });
      const target = (await handleOf(tablet))!;
      expect((await admin.client.request('DELETE', `/api/admin/sessions/${target.id}`)).status).toBe(204);
      expect((await socketOnB.closedWith()).code).toBe(WS_CLOSE.SESSION_ENDED);
      const onB = tablet.sameSessionOn(nodeB);
      expect((await onB.get<SessionResponse>('/api/session')).body.signedIn).toBe(false);
    } finally {
      await nodeB.close();
    }
  });

  it('needs a fresh step-up, refuses bad handles and your own session', async () => {
    const desk = await signIn(node, { username: 'rosa', password: rosa.password, authenticator: rosa.authenticator });
    const target = (await handleOf(desk))!;
    await expireStepUp(node, admin.client);
    const refused = await admin.client.request('DELETE', `/api/admin/sessions/${target.id}`);
    expect(refused.status).toBe(403);
    expect(errorCode(refused)).toBe('STEP_UP_REQUIRED');
    expect((await desk.get<SessionResponse>('/api/session')).body.signedIn).toBe(true);
    await stepUpWith(admin.client, admin.authenticator);

    const bad = await admin.client.request('DELETE', '/api/admin/sessions/not-a-handle');
    expect(bad.status).toBe(400);
    expect(errorCode(bad)).toBe('VALIDATION_FAILED');
    const own = (await handleOf(admin.client))!;
    const self = await admin.client.request('DELETE', `/api/admin/sessions/${own.id}`);
    expect(self.status).toBe(409);
    expect(errorCode(self)).toBe('CONFLICT');
    expect(errorCode(await admin.client.get('/api/admin/sessions?limit=0'))).toBe('VALIDATION_FAILED');
  });
});

describe('live grants', () => {
  it('lists each live grant with its user, models, presence mode and expiry; revoking needs a fresh step-up', async () => {
    const desk = await signIn(node, { username: 'rosa', password: rosa.password, authenticator: rosa.authenticator });
    const grantId = await unlock(desk, rosa.authenticator);
    const live = (await admin.client.get<AdminGrantListResponse>('/api/admin/grants')).body.grants;
    const grant = live.find((g) => g.id === grantId)!;
    expect(grant).toMatchObject({ username: 'rosa', userId: rosa.userId, models: ['demo-restricted'], presenceMode: 'assertion', keyNickname: "rosa's key" });
    expect(Date.parse(grant.expiresAt)).toBeGreaterThan(Date.now());
    expect(errorCode(await auditor.get('/api/admin/grants'))).toBe('FORBIDDEN');

    await expireStepUp(node, admin.client);
    const refused = await admin.client.request('DELETE', `/api/admin/grants/${grantId}`);
    expect(refused.status).toBe(403);
    expect(errorCode(refused)).toBe('STEP_UP_REQUIRED');
    expect((await desk.get<GrantResponse>('/api/grants/current')).body.grant?.id).toBe(grantId);
    await stepUpWith(admin.client, admin.authenticator);
    expect((await admin.client.request('DELETE', `/api/admin/grants/${grantId}`)).status).toBe(204);
    expect((await desk.get<GrantResponse>('/api/grants/current')).body.grant).toBeNull();
  });
});
