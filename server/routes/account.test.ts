import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyListResponse, SecurityKeyView, SessionListResponse, SessionResponse, StepResponse } from '../../shared/api.ts';
import { query } from '../db/pool.ts';
import { createEnrollee, enrollUser, errorCode, expireStepUp, sessionIdOf, signIn, startTestNode, type TestClient, type TestNode } from '../test/harness.ts';
import type { SoftAuthenticator } from '../test/softAuthenticator.ts';

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
});
afterAll(() => node.destroy());

type Options = { challenge: string };

async function stepUp(client: TestClient, authenticator: SoftAuthenticator): Promise<void> {
  const { options } = (await client.post<{ options: Options }>('/api/account/step-up/options')).body;
  const response = await client.post<{ validUntil: string }>('/api/account/step-up', { response: authenticator.assert(options) });
  expect(response.status).toBe(200);
  expect(Date.parse(response.body.validUntil)).toBeGreaterThan(Date.now());
}

async function keysOf(client: TestClient): Promise<SecurityKeyView[]> {
  return (await client.get<KeyListResponse>('/api/account/keys')).body.keys;
}

describe('managing your own keys', () => {
  it('adds a key only after a fresh assertion with an existing key', async () => {
    const hana = await enrollUser(node, { username: 'hana', password: 'a lantern by the river' });
    await expireStepUp(node, hana.client);
    expect((await hana.client.get('/api/account/step-up')).body).toEqual({ validUntil: null });
    const refused = await hana.client.post('/api/account/keys/options');
    expect(refused.status).toBe(403);
    expect(errorCode(refused)).toBe('STEP_UP_REQUIRED');

    await stepUp(hana.client, hana.authenticator);
    const second = node.authenticator({ aaguid: 'cb69481e-8ff7-4039-93ec-0a2729a154a8' });
    const { options } = (await hana.client.post<{ options: Options & { excludeCredentials: Array<{ id: string }> } }>('/api/account/keys/options')).body;
    expect(options.excludeCredentials.map((c) => c.id)).toEqual([hana.authenticator.credentials[0]!.id.toString('base64url')]);
    const added = await hana.client.post<{ key: SecurityKeyView }>('/api/account/keys', {
      response: second.register(options),
      nickname: 'Backup key',
      hid: { vendorId: 0x1050, productId: 0x0407, productName: 'YubiKey OTP+FIDO+CCID' },
    });
    expect(added.status).toBe(201);
    expect(added.body.key).toMatchObject({ nickname: 'Backup key', modelName: 'YubiKey 5 Series', status: 'active', synced: false, hid: { vendorId: 0x1050 } });
    expect(JSON.stringify(added.body)).not.toMatch(/publicKey|public_key|credential/i);
    // The new key signs in.
    await signIn(node, { username: 'hana', password: hana.password, authenticator: second });
  });

  it('renames a key, and refuses to touch keys of another user', async () => {
    const ivan = await enrollUser(node, { username: 'ivan', password: 'a teapot on the stove' });
    const juno = await enrollUser(node, { username: 'juno', password: 'a kite above the hill' });
    const renamed = await ivan.client.patch<{ key: SecurityKeyView }>(`/api/account/keys/${ivan.keyId}`, { nickname: 'Desk key' });
    expect(renamed.body.key.nickname).toBe('Desk key');
    expect((await ivan.client.patch(`/api/account/keys/${juno.keyId}`, { nickname: 'Mine now' })).status).toBe(404);
    expect((await ivan.client.request('DELETE', `/api/account/keys/${juno.keyId}`)).status).toBe(404);
    expect((await keysOf(juno.client))[0]!.nickname).toBe("juno's key");
  });

  it('never removes the last active key, and removing a key ends the other sessions it signed in', async () => {
    const kira = await enrollUser(node, { username: 'kira', password: 'a boat in the harbour' });
    const last = await kira.client.request('DELETE', `/api/account/keys/${kira.keyId}`);
    expect(last.status).toBe(409);
    expect(errorCode(last)).toBe('LAST_KEY');

    const spare = node.authenticator();
    const { options } = (await kira.client.post<{ options: Options }>('/api/account/keys/options')).body;
    await kira.client.post('/api/account/keys', { response: spare.register(options) });
    const phone = await signIn(node, { username: 'kira', password: kira.password, authenticator: kira.authenticator });

    // Removing needs a fresh step-up too.
    await expireStepUp(node, kira.client);
    expect(errorCode(await kira.client.request('DELETE', `/api/account/keys/${kira.keyId}`))).toBe('STEP_UP_REQUIRED');
    await stepUp(kira.client, spare);
    expect((await kira.client.request('DELETE', `/api/account/keys/${kira.keyId}`)).status).toBe(204);
    expect((await phone.get<SessionResponse>('/api/session')).body.signedIn).toBe(false);
    expect((await kira.client.get<SessionResponse>('/api/session')).body.signedIn).toBe(true);
    expect((await keysOf(kira.client)).map((k) => k.id)).not.toContain(kira.keyId);
  });

  it('lists your sessions without exposing session ids, and ends another one', async () => {
    const lena = await enrollUser(node, { username: 'lena', password: 'a lamp in the window' });
    const tablet = await signIn(node, { username: 'lena', password: lena.password, authenticator: lena.authenticator });
    const list = await lena.client.get<SessionListResponse>('/api/account/sessions');
    expect(list.body.sessions).toHaveLength(2);
    expect(list.body.sessions.filter((s) => s.current)).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain(sessionIdOf(tablet));
    const other = list.body.sessions.find((s) => !s.current)!;
    expect(other.keyNickname).toBe("lena's key");
    // Ending another session needs a fresh step-up: a stolen session must not lock the owner out.
    await expireStepUp(node, lena.client);
    const refused = await lena.client.request('DELETE', `/api/account/sessions/${other.id}`);
    expect(refused.status).toBe(403);
    expect(errorCode(refused)).toBe('STEP_UP_REQUIRED');
    expect((await tablet.get<SessionResponse>('/api/session')).body.signedIn).toBe(true);
    await stepUp(lena.client, lena.authenticator);
    expect((await lena.client.request('DELETE', `/api/account/sessions/${other.id}`)).status).toBe(204);
    expect((await tablet.get<SessionResponse>('/api/session')).body.signedIn).toBe(false);
    // Someone else's session handle is not found.
    const mo = await enrollUser(node, { username: 'mo', password: 'a bell in the tower' });
    const moSession = (await mo.client.get<SessionListResponse>('/api/account/sessions')).body.sessions[0]!;
    expect((await lena.client.request('DELETE', `/api/account/sessions/${moSession.id}`)).status).toBe(404);
  });

  it('ends the current session without a step-up: that is signing out', async () => {
    const pia = await enrollUser(node, { username: 'pia-signs-out', password: 'a kettle on the stove' });
    await expireStepUp(node, pia.client);
    const current = (await pia.client.get<SessionListResponse>('/api/account/sessions')).body.sessions.find((s) => s.current)!;
    expect((await pia.client.request('DELETE', `/api/account/sessions/${current.id}`)).status).toBe(204);
    expect((await pia.client.get<SessionResponse>('/api/session')).body.signedIn).toBe(false);
  });
});

describe('enrollment that stops half-way', () => {
  it('resumes with the same link after the password is confirmed, and only then', async () => {
    const { token } = await createEnrollee(node, { username: 'nora', displayName: 'Nora' });
    const first = node.client();
    await first.post(`/api/enrollment/${token}/password`, { password: 'a fox under the bridge' });
    // The browser closes. Another browser with the same link must prove the password first.
    const second = node.client();
    expect((await second.get(`/api/enrollment/${token}`)).body).toMatchObject({ remaining: ['security_key'], resumable: true });
    expect(errorCode(await second.post(`/api/enrollment/${token}/key/options`))).toBe('WRONG_STEP');
    expect(errorCode(await second.post(`/api/enrollment/${token}/password`, { password: 'another fine passphrase' }))).toBe('WRONG_STEP');
    expect(errorCode(await second.post(`/api/enrollment/${token}/resume`, { password: 'not what was chosen' }))).toBe('INVALID_CREDENTIALS');
    expect((await second.post<StepResponse>(`/api/enrollment/${token}/resume`, { password: 'a fox under the bridge' })).body).toEqual({ next: 'security_key' });
    const { options } = (await second.post<{ options: Options }>(`/api/enrollment/${token}/key/options`)).body;
    const done = await second.post<StepResponse>(`/api/enrollment/${token}/key`, { response: node.authenticator().register(options) });
    expect(done.body).toMatchObject({ next: 'done' });
  });
});

describe('admin key management', () => {
  let admin: Awaited<ReturnType<typeof enrollUser>>;
  beforeAll(async () => {
    admin = await enrollUser(node, { username: 'root', role: 'admin', password: 'a crown of paper stars' });
  });

  it('deactivates a key (ending its sessions) and reactivates it', async () => {
    const omar = await enrollUser(node, { username: 'omar', password: 'a drum in the valley' });
    const deactivated = await admin.client.post<{ key: SecurityKeyView }>(`/api/admin/keys/${omar.keyId}/status`, { status: 'deactivated' });
    expect(deactivated.body.key.status).toBe('deactivated');
    expect((await omar.client.get<SessionResponse>('/api/session')).body.signedIn).toBe(false);
    expect(errorCode(await node.client().post('/api/auth/signin', { username: 'omar', password: omar.password }))).toBe('NO_ACTIVE_KEY');
    expect((await admin.client.post(`/api/admin/keys/${omar.keyId}/status`, { status: 'active' })).status).toBe(200);
    await signIn(node, { username: 'omar', password: omar.password, authenticator: omar.authenticator });
  });

  it('needs a reason to reactivate a key suspended by clone detection', async () => {
    const pia = await enrollUser(node, { username: 'pia', password: 'a swan on the lake' });
    await query(node.deps.pool, 't', "UPDATE security_key SET status = 'suspended' WHERE id = $1", [pia.keyId]);
    expect(errorCode(await admin.client.post(`/api/admin/keys/${pia.keyId}/status`, { status: 'active' }))).toBe('VALIDATION_FAILED');
    const ok = await admin.client.post<{ key: SecurityKeyView }>(`/api/admin/keys/${pia.keyId}/status`, { status: 'active', reason: 'Counter reset after firmware update, verified in person' });
    expect(ok.body.key).toMatchObject({ status: 'active', statusReason: expect.stringMatching(/firmware/) });
  });

  it('reassigns a key, recording both owners, and the key then signs in its new owner only', async () => {
    const quin = await enrollUser(node, { username: 'quin', password: 'a hare in the meadow' });
    const rosa = await enrollUser(node, { username: 'rosa', password: 'a wren on the fence' });
    const moved = await admin.client.post<{ key: SecurityKeyView }>(`/api/admin/keys/${quin.keyId}/reassign`, { userId: rosa.userId });
    expect(moved.body.key.ownerId).toBe(rosa.userId);
    expect((await quin.client.get<SessionResponse>('/api/session')).body.signedIn).toBe(false);
    const { rows } = await query<{ details: Record<string, unknown> }>(node.deps.pool, 't', "SELECT details FROM audit_event WHERE action = 'key.reassigned' ORDER BY seq DESC LIMIT 1");
    expect(rows[0]!.details).toMatchObject({ fromUserId: quin.userId, toUserId: rosa.userId });
    await signIn(node, { username: 'rosa', password: rosa.password, authenticator: quin.authenticator });
  });

  it('deletes a key, lists keys by owner and status, and never lets an admin drop their own last key', async () => {
    const sam = await enrollUser(node, { username: 'sam', password: 'a stone in the brook' });
    const listed = await admin.client.get<KeyListResponse>(`/api/admin/keys?userId=${sam.userId}`);
    expect(listed.body.keys.map((k) => k.id)).toEqual([sam.keyId]);
    expect((await admin.client.request('DELETE', `/api/admin/keys/${sam.keyId}`)).status).toBe(204);
    expect((await sam.client.get<SessionResponse>('/api/session')).body.signedIn).toBe(false);

    expect(errorCode(await admin.client.post(`/api/admin/keys/${admin.keyId}/status`, { status: 'deactivated' }))).toBe('LAST_KEY');
    expect(errorCode(await admin.client.request('DELETE', `/api/admin/keys/${admin.keyId}`))).toBe('LAST_KEY');

    const pages: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page: { body: KeyListResponse } = await admin.client.get(`/api/admin/keys?status=active&limit=3${cursor ? `&after=${cursor}` : ''}`);
      pages.push(...page.body.keys.map((k) => k.id));
      cursor = page.body.nextCursor;
    }
    const { rows } = await query<{ n: number }>(node.deps.pool, 't', "SELECT count(*)::int AS n FROM security_key WHERE status = 'active'");
    expect(pages).toHaveLength(rows[0]!.n);
    expect(new Set(pages).size).toBe(pages.length);
  });
});
