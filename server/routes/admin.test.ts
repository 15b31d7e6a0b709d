import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrantResponse, KeyListResponse, PublicUser, SecurityKeyView, SessionResponse, UserListResponse } from '../../shared/api.ts';
import type { AuditListResponse, ChainVerification } from '../../shared/audit.ts';
import { WS_CLOSE } from '../../shared/events.ts';
import { API_ROUTES } from '../app.ts';
import { query } from '../db/pool.ts';
import {
  createEnrollee,
  editStoredSession,
  enrollUser,
  errorCode,
  expireStepUp,
  insertKeyRow,
  lastAudit,
  sessionIdOf,
  signIn,
  startSiblingNode,
  startTestNode,
  stepUpWith,
  TestClient,
  type TestNode,
} from '../test/harness.ts';
import type { SoftAuthenticator } from '../test/softAuthenticator.ts';
import { TestSocket } from '../test/wsClient.ts';

let node: TestNode;
let admin: Awaited<ReturnType<typeof enrollUser>>;
beforeAll(async () => {
  // The admin changes here are the direct ones; what the two-person rule holds is pendingChanges.test.ts's.
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000', TWO_PERSON_RULE: 'off' });
  admin = await enrollUser(node, { username: 'chief', role: 'admin', password: 'a lighthouse in the fog' });
});
afterAll(() => node.destroy());

const isAdminChange = (route: (typeof API_ROUTES)[number]) =>
  route.method !== 'get' && !route.readOnly && Array.isArray(route.access) && route.access.includes('admin');

function concretePath(path: string): string {
  return path.replace(':id', '6f1c1c52-2a5b-4e4f-9a53-2f5d0b8b1e11');
}

async function unlock(client: TestClient, authenticator: SoftAuthenticator): Promise<string> {
  const { options } = (await client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options')).body;
  const unlocked = await client.post<GrantResponse>('/api/verify-key-ownership', { response: authenticator.assert(options), presenceMode: 'assertion' });
  expect(unlocked.status).toBe(200);
  return unlocked.body.grant!.id;
}

// That every /api/admin route refuses users and auditors, and that every admin change
// declares its step-up, is walked in server/http/guards.test.ts.
describe('step-up on every admin change', () => {
  it('answers STEP_UP_REQUIRED on each of them once the last assertion is older than STEP_UP_MINUTES', async () => {
    const stale = await enrollUser(node, { username: 'stale-admin', role: 'admin', password: 'an old map of the harbour' });
    await expireStepUp(node, stale.client);
    for (const route of API_ROUTES.filter(isAdminChange)) {
      const response = await stale.client.request(route.method.toUpperCase(), concretePath(route.path), {});
      expect(response.status, `${route.method} ${route.path}`).toBe(403);
      expect(errorCode(response), `${route.method} ${route.path}`).toBe('STEP_UP_REQUIRED');
    }
    // Nothing happened: no user was created on the way.
    expect((await stale.client.get<UserListResponse>('/api/admin/users?q=stale-admin')).body.users).toHaveLength(1);
  });

  it('checks the role before the step-up: a stale non-admin is refused as FORBIDDEN', async () => {
    const outsider = await enrollUser(node, { username: 'stale-user', password: 'an old key in a drawer' });
    await expireStepUp(node, outsider.client);
    for (const route of API_ROUTES.filter(isAdminChange)) {
      expect(errorCode(await outsider.client.request(route.method.toUpperCase(), concretePath(route.path), {})), `${route.method} ${route.path}`).toBe('FORBIDDEN');
    }
  });

  it('lets the change through after a fresh touch, and never asks for one to read', async () => {
    const fresh = await enrollUser(node, { username: 'fresh-admin', role: 'admin', password: 'a new map of the harbour' });
    await expireStepUp(node, fresh.client);
    expect((await fresh.client.get('/api/admin/users')).status).toBe(200);
    expect((await fresh.client.get('/api/admin/keys')).status).toBe(200);
    expect((await fresh.client.get('/api/admin/grants')).status).toBe(200);
    expect(errorCode(await fresh.client.post('/api/admin/users', { username: 'after-touch', role: 'user' }))).toBe('STEP_UP_REQUIRED');

    await stepUpWith(fresh.client, fresh.authenticator);
    expect((await fresh.client.post('/api/admin/users', { username: 'after-touch', role: 'user' })).status).toBe(201);
  });

  it('expires after STEP_UP_MINUTES', async () => {
    const quick = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000', STEP_UP_MINUTES: '1' });
    try {
      const boss = await enrollUser(quick, { username: 'boss', role: 'admin', password: 'a minute is a long time' });
      const { validUntil } = (await boss.client.get<{ validUntil: string }>('/api/account/step-up')).body;
      const left = Date.parse(validUntil) - Date.now();
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(60_000);
      // Move the session's last assertion back by just over the one minute configured.
      const sid = sessionIdOf(boss.client);
      await editStoredSession(quick, sid, (data) => {
        data.stepUpAt = Date.now() - 61_000;
      });
      expect(errorCode(await boss.client.post('/api/admin/users', { username: 'late', role: 'user' }))).toBe('STEP_UP_REQUIRED');
      await editStoredSession(quick, sid, (data) => {
        data.stepUpAt = Date.now() - 50_000;
      });
      expect((await boss.client.post('/api/admin/users', { username: 'late', role: 'user' })).status).toBe(201);
    } finally {
      await quick.destroy();
    }
  });
});

describe('the last active admin', () => {
  it('cannot be disabled, demoted or deleted, while another admin can', async () => {
    const solo = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
    try {
      const only = await enrollUser(solo, { username: 'only-admin', role: 'admin', password: 'the one who holds the keys' });
      for (const attempt of [
        only.client.patch(`/api/admin/users/${only.userId}`, { status: 'disabled' }),
        only.client.patch(`/api/admin/users/${only.userId}`, { role: 'auditor' }),
        only.client.request('DELETE', `/api/admin/users/${only.userId}`),
      ]) {
        const refused = await attempt;
        expect(refused.status).toBe(409);
        expect(errorCode(refused)).toBe('LAST_ADMIN');
      }
      expect((await only.client.get<SessionResponse>('/api/session')).body).toMatchObject({ signedIn: true, user: { role: 'admin', status: 'active' } });

      // A second admin makes the first one removable; the second is then the last.
      const second = await enrollUser(solo, { username: 'second-admin', role: 'admin', password: 'the other who holds the keys' });
      expect((await second.client.request('DELETE', `/api/admin/users/${only.userId}`)).status).toBe(204);
      expect(errorCode(await second.client.request('DELETE', `/api/admin/users/${second.userId}`))).toBe('LAST_ADMIN');
      // A disabled admin does not count: disabling the last active one is still refused.
      const third = await enrollUser(solo, { username: 'third-admin', role: 'admin', password: 'a third who holds the keys' });
      expect((await second.client.patch(`/api/admin/users/${third.userId}`, { status: 'disabled' })).status).toBe(200);
      expect(errorCode(await second.client.patch(`/api/admin/users/${second.userId}`, { status: 'disabled' }))).toBe('LAST_ADMIN');
    } finally {
      await solo.destroy();
    }
  });

  it('survives two admins demoting each other at the same moment', async () => {
    const pair = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
    try {
      const a = await enrollUser(pair, { username: 'admin-a', role: 'admin', password: 'left hand of the pair' });
      const b = await enrollUser(pair, { username: 'admin-b', role: 'admin', password: 'right hand of the pair' });
      const [ab, ba] = await Promise.all([
        a.client.patch(`/api/admin/users/${b.userId}`, { role: 'user' }),
        b.client.patch(`/api/admin/users/${a.userId}`, { role: 'user' }),
      ]);
      // One wins; the loser's session ended with its role, or it was refused as the last admin.
      expect([ab.status, ba.status].filter((status) => status === 200)).toHaveLength(1);
      const { rows } = await query<{ n: number }>(pair.deps.pool, 't', "SELECT count(*)::int AS n FROM app_user WHERE role = 'admin' AND status = 'active'");
      expect(rows[0]!.n).toBe(1);
    } finally {
      await pair.destroy();
    }
  });

  it('cannot drop their own last key by deactivating, reassigning or deleting it', async () => {
    const other = await enrollUser(node, { username: 'key-recipient', password: 'a parcel at the door' });
    for (const attempt of [
      admin.client.post(`/api/admin/keys/${admin.keyId}/status`, { status: 'deactivated' }),
      admin.client.post(`/api/admin/keys/${admin.keyId}/reassign`, { userId: other.userId }),
      admin.client.request('DELETE', `/api/admin/keys/${admin.keyId}`),
    ]) {
      const refused = await attempt;
      expect(refused.status).toBe(409);
      expect(errorCode(refused)).toBe('LAST_KEY');
    }
    const mine = (await admin.client.get<KeyListResponse>(`/api/admin/keys?userId=${admin.userId}`)).body.keys;
    expect(mine).toMatchObject([{ id: admin.keyId, status: 'active', ownerId: admin.userId }]);
  });
});

describe('disabling a user', () => {
  it('ends their sessions, grants and WebSockets on every node at once', async () => {
    const nodeB = await startSiblingNode(node);
    try {
      const vic = await enrollUser(node, { username: 'vic', password: 'a candle in the window' });
      const grantId = await unlock(vic.client, vic.authenticator);
      const onB = vic.client.sameSessionOn(nodeB);
      const socketA = await TestSocket.open(node.url, { origin: vic.client.origin, cookie: vic.client.cookie });
      const socketB = await TestSocket.open(nodeB.url, { origin: vic.client.origin, cookie: vic.client.cookie });

      const disabled = await admin.client.patch<{ user: PublicUser }>(`/api/admin/users/${vic.userId}`, { status: 'disabled' });
      expect(disabled.status).toBe(200);
      expect(disabled.body.user.status).toBe('disabled');

      for (const socket of [socketA, socketB]) {
        expect(await socket.next('GRANT_REVOKED')).toEqual({ type: 'GRANT_REVOKED', grantId, reason: 'user_disabled' });
        expect((await socket.closedWith()).code).toBe(WS_CLOSE.SESSION_ENDED);
      }
      expect(await node.deps.grants.forSession(decodeURIComponent(vic.client.sessionId!).slice(2).split('.')[0]!)).toBeNull();
      expect(await node.deps.sessions.sessionIdsForUser(vic.userId)).toEqual([]);
      expect((await onB.get<SessionResponse>('/api/session')).body.signedIn).toBe(false);
      expect(errorCode(await node.client().post('/api/auth/signin', { username: 'vic', password: vic.password }))).toBe('ACCOUNT_DISABLED');

      expect(await lastAudit(node, 'user.disabled')).toMatchObject({
        actorUsername: 'chief',
        targetId: vic.userId,
        details: { username: 'vic', before: 'active', after: 'disabled' },
      });
      // Enabled again, they may sign in once more.
      expect((await admin.client.patch(`/api/admin/users/${vic.userId}`, { status: 'active' })).status).toBe(200);
      expect((await node.client().post('/api/auth/signin', { username: 'vic', password: vic.password })).status).toBe(200);
    } finally {
      await nodeB.close();
    }
  });

  it('changing a role ends their sessions too, so an open socket cannot keep the old role', async () => {
    const aud = await enrollUser(node, { username: 'demoted-auditor', role: 'auditor', password: 'a pair of reading glasses' });
    const socket = await TestSocket.open(node.url, { origin: aud.client.origin, cookie: aud.client.cookie });
    const changed = await admin.client.patch<{ user: PublicUser }>(`/api/admin/users/${aud.userId}`, { role: 'user' });
    expect(changed.body.user.role).toBe('user');
    expect((await socket.closedWith()).code).toBe(WS_CLOSE.SESSION_ENDED);
    expect((await aud.client.get<SessionResponse>('/api/session')).body.signedIn).toBe(false);
    expect(await lastAudit(node, 'user.role_changed')).toMatchObject({ details: { username: 'demoted-auditor', before: 'auditor', after: 'user' } });
  });
});

describe('deleting a user', () => {
  it('removes them and their keys, ends their sessions, and keeps their audit history intact', async () => {
    const wes = await enrollUser(node, { username: 'wes', password: 'a boat on the shingle' });
    const grantId = await unlock(wes.client, wes.authenticator);
    const socket = await TestSocket.open(node.url, { origin: wes.client.origin, cookie: wes.client.cookie });
    // Their records still in the outbox (the key challenges issued) are in the chain first.
    await node.deps.auditOutbox.drain();
    const { rows: before } = await query<{ n: number }>(node.deps.pool, 't', 'SELECT count(*)::int AS n FROM audit_event WHERE actor_id = $1', [wes.userId]);
    expect(before[0]!.n).toBeGreaterThan(0);

    expect((await admin.client.request('DELETE', `/api/admin/users/${wes.userId}`)).status).toBe(204);
    expect(await socket.next('GRANT_REVOKED')).toMatchObject({ grantId });
    expect((await socket.closedWith()).code).toBe(WS_CLOSE.SESSION_ENDED);
    expect((await wes.client.get<SessionResponse>('/api/session')).body.signedIn).toBe(false);
    expect((await admin.client.get<UserListResponse>('/api/admin/users?q=wes')).body.users.map((u) => u.username)).not.toContain('wes');
    expect((await admin.client.get<KeyListResponse>(`/api/admin/keys?userId=${wes.userId}`)).body.keys).toEqual([]);
    expect(errorCode(await admin.client.request('DELETE', `/api/admin/users/${wes.userId}`))).toBe('NOT_FOUND');

    // Their events stay, under the name they had, and the chain still verifies.
    const { rows: after } = await query<{ n: number; names: string[] }>(
      node.deps.pool,
      't',
      'SELECT count(*)::int AS n, array_agg(DISTINCT actor_username) AS names FROM audit_event WHERE actor_id = $1',
      [wes.userId],
    );
    expect(after[0]).toEqual({ n: before[0]!.n, names: ['wes'] });
    expect(await lastAudit(node, 'user.deleted')).toMatchObject({
      actorUsername: 'chief',
      targetId: wes.userId,
      details: { username: 'wes', role: 'user', status: 'active', keysDeleted: [{ id: wes.keyId, status: 'active' }] },
    });
    const auditor = await enrollUser(node, { username: 'checker', role: 'auditor', password: 'a magnifying glass' });
    expect((await auditor.client.get<ChainVerification>('/api/audit/verify')).body).toMatchObject({ intact: true });
    const history = await auditor.client.get<AuditListResponse>(`/api/audit/events?action=user.deleted`);
    expect(history.body.events[0]).toMatchObject({ targetId: wes.userId, details: { username: 'wes' } });
  });

  it('refuses, and changes nothing, while a row without an ON DELETE rule still points at them', async () => {
    const kim = await enrollUser(node, { username: 'kim', password: 'a lamp in the attic' });
    // A schema change: the owner's, not the node's role (sql/000015).
    await query(node.ownerPool(), 't', 'CREATE TABLE test_pin (user_id uuid REFERENCES app_user (id))');
    try {
      await query(node.ownerPool(), 't', 'INSERT INTO test_pin VALUES ($1)', [kim.userId]);
      const refused = await admin.client.request('DELETE', `/api/admin/users/${kim.userId}`);
      expect(refused.status).toBe(409);
      expect(errorCode(refused)).toBe('CONFLICT');
      expect((await kim.client.get<SessionResponse>('/api/session')).body.signedIn).toBe(true);
      const { rows } = await query<{ n: number }>(node.deps.pool, 't', "SELECT count(*)::int AS n FROM audit_event WHERE action = 'user.deleted' AND target_id = $1", [kim.userId]);
      expect(rows[0]!.n).toBe(0);
    } finally {
      await query(node.ownerPool(), 't', 'DROP TABLE test_pin');
    }
  });
});

describe('listing users and keys', () => {
  it('searches by part of a username or display name, with role and status filters, page by page', async () => {
    for (const name of ['lister-alpha', 'lister-beta', 'lister-gamma', 'lister-delta']) {
      expect((await admin.client.post('/api/admin/users', { username: name, displayName: `List ${name.slice(7)}`, role: name.endsWith('delta') ? 'auditor' : 'user' })).status).toBe(201);
    }
    const pages: string[][] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page: { body: UserListResponse } = await admin.client.get(`/api/admin/users?q=LISTER&limit=3${cursor ? `&after=${cursor}` : ''}`);
      pages.push(page.body.users.map((u) => u.username));
      cursor = page.body.nextCursor;
    }
    expect(pages).toEqual([['lister-alpha', 'lister-beta', 'lister-delta'], ['lister-gamma']]);
    expect((await admin.client.get<UserListResponse>('/api/admin/users?q=list%20gam')).body.users.map((u) => u.username)).toEqual(['lister-gamma']);
    expect((await admin.client.get<UserListResponse>('/api/admin/users?q=lister&role=auditor')).body.users.map((u) => u.username)).toEqual(['lister-delta']);
    // LIKE wildcards in a search are literal characters.
    expect((await admin.client.get<UserListResponse>('/api/admin/users?q=lister_%25')).body.users).toEqual([]);
    // A user id (the audit log links with ids) finds exactly that user.
    const gamma = (await admin.client.get<UserListResponse>('/api/admin/users?q=lister-gamma')).body.users[0]!;
    expect((await admin.client.get<UserListResponse>(`/api/admin/users?q=${gamma.id}`)).body.users.map((u) => u.username)).toEqual(['lister-gamma']);
  });

  it("shows how far each user got with enrollment, their key count and last sign-in, and never a password hash", async () => {
    const find = async (username: string) => {
      const { body } = await admin.client.get<UserListResponse>(`/api/admin/users?q=${username}`);
      return body.users.find((user) => user.username === username)!;
    };
    // Link sent, nothing done yet.
    const { token } = await createEnrollee(node, { username: 'state-new' });
    expect(await find('state-new')).toMatchObject({ enrollment: 'link_sent', status: 'active', keyCount: 0, lastSignInAt: null });

    // Password chosen, key step left.
    const halfway = node.client();
    expect((await halfway.post(`/api/enrollment/${token}/password`, { password: 'a gull on the breakwater' })).status).toBeLessThan(300);
    expect(await find('state-new')).toMatchObject({ enrollment: 'password_set', keyCount: 0, lastSignInAt: null });

    // Enrolled: one key, signed in by the enrollment itself; then a second key and a sign-in.
    const done = await enrollUser(node, { username: 'state-done', password: 'a ferry in the mist' });
    const enrolled = await find('state-done');
    expect(enrolled).toMatchObject({ enrollment: 'complete', status: 'active', keyCount: 1 });
    expect(Date.now() - Date.parse(enrolled.lastSignInAt!)).toBeLessThan(60_000);
    await insertKeyRow(node, done.userId, 'spare');
    await signIn(node, { username: 'state-done', password: done.password, authenticator: done.authenticator });
    const signedIn = await find('state-done');
    expect(signedIn.keyCount).toBe(2);
    expect(Date.parse(signedIn.lastSignInAt!)).toBeGreaterThan(Date.parse(enrolled.lastSignInAt!));

    // A failed sign-in is not a sign-in.
    await node.client().post('/api/auth/signin', { username: 'state-done', password: 'not the password at all' });
    expect((await find('state-done')).lastSignInAt).toBe(signedIn.lastSignInAt);

    // Disabled: the status says so, and the enrollment they finished stays complete.
    expect((await admin.client.request('PATCH', `/api/admin/users/${done.userId}`, { status: 'disabled' })).status).toBe(200);
    expect(await find('state-done')).toMatchObject({ status: 'disabled', enrollment: 'complete', keyCount: 2 });

    // A new link for someone already enrolled does not make them look unenrolled.
    expect((await admin.client.post(`/api/admin/users/${done.userId}/enrollment`)).status).toBe(201);
    expect((await find('state-done')).enrollment).toBe('complete');

    const listed = JSON.stringify((await admin.client.get<UserListResponse>('/api/admin/users?q=state-')).body);
    expect(listed).not.toMatch(/argon2|password_?hash/i);
  });

  it('lists keys by owner username, moves one to a user named by username, and refuses a stranger', async () => {
    const xia = await enrollUser(node, { username: 'xia', password: 'a kite over the dunes' });
    const yan = await enrollUser(node, { username: 'yan', password: 'a shell on the sand' });
    const byName = await admin.client.get<KeyListResponse>('/api/admin/keys?owner=XIA');
    expect(byName.body.keys.map((k) => k.id)).toEqual([xia.keyId]);
    expect((await admin.client.get<KeyListResponse>('/api/admin/keys?owner=nobody-here')).body).toEqual({ keys: [], nextCursor: null });
    expect((await admin.client.get<KeyListResponse>(`/api/admin/keys?key=${yan.keyId}`)).body.keys.map((k) => k.id)).toEqual([yan.keyId]);
    expect(errorCode(await admin.client.get('/api/admin/keys?key=not-a-uuid'))).toBe('VALIDATION_FAILED');

    const moved = await admin.client.post<{ key: SecurityKeyView }>(`/api/admin/keys/${xia.keyId}/reassign`, { username: 'yan' });
    expect(moved.body.key).toMatchObject({ ownerId: yan.userId, ownerUsername: 'yan' });
    expect(errorCode(await admin.client.post(`/api/admin/keys/${xia.keyId}/reassign`, { username: 'nobody-here' }))).toBe('NOT_FOUND');
    expect(errorCode(await admin.client.post(`/api/admin/keys/${xia.keyId}/reassign`, { username: 'yan', userId: yan.userId }))).toBe('VALIDATION_FAILED');
    expect(await lastAudit(node, 'key.reassigned')).toMatchObject({ actorUsername: 'chief', details: { fromUsername: 'xia', toUsername: 'yan' } });
  });
});

describe('concurrent key changes', () => {
  it('two keys swapped between two users at the same moment both move, without a deadlock', async () => {
    const ann = await enrollUser(node, { username: 'swap-ann', password: 'a bell in the tower' });
    const ben = await enrollUser(node, { username: 'swap-ben', password: 'a rope in the belfry' });
    // Each change locks the key's owner and the new owner: in opposite orders, unless sorted.
    for (let round = 0; round < 6; round += 1) {
      const swapped = round % 2 === 0;
      const moves = await Promise.all([
        admin.client.post(`/api/admin/keys/${ann.keyId}/reassign`, { userId: swapped ? ben.userId : ann.userId }),
        admin.client.post(`/api/admin/keys/${ben.keyId}/reassign`, { userId: swapped ? ann.userId : ben.userId }),
      ]);
      expect(moves.map((move) => move.status), `round ${round}`).toEqual([200, 200]);
    }
  });
});

describe('enrollment links for recovery', () => {
  it('issues a new one-time link that replaces the old one, and audits it', async () => {
    const created = await admin.client.post<{ user: PublicUser; enrollment: { url: string; expiresAt: string } }>('/api/admin/users', { username: 'lost-keys', role: 'user' });
    const again = await admin.client.post<{ url: string; expiresAt: string }>(`/api/admin/users/${created.body.user.id}/enrollment`);
    expect(again.status).toBe(201);
    expect(again.body.url).not.toBe(created.body.enrollment.url);
    expect(Date.parse(again.body.expiresAt)).toBeGreaterThan(Date.now());
    const oldToken = new URL(created.body.enrollment.url).pathname.split('/').pop();
    expect(errorCode(await node.client().get(`/api/enrollment/${oldToken}`))).toBe('ENROLLMENT_INVALID');
    const audit = await lastAudit(node, 'enrollment.created');
    expect(audit).toMatchObject({ actorUsername: 'chief', details: { username: 'lost-keys', replacedLinks: 1 } });
    expect(JSON.stringify(audit)).not.toContain(new URL(again.body.url).pathname.split('/').pop());
  });
});
