import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SessionResponse, StepResponse } from '../../shared/api.ts';
import type { AuditListResponse } from '../../shared/audit.ts';
import { query } from '../db/pool.ts';
import { createEnrollee, editStoredSession, enrollUser, errorCode, signIn, startTestNode, storedSession, tokenOf, type TestNode } from '../test/harness.ts';
import type { SoftAuthenticator } from '../test/softAuthenticator.ts';

let node: TestNode;

beforeAll(async () => {
  // Generous limits here; the throttle tests below run on their own nodes.
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
});
afterAll(() => node.destroy());

async function auditActions(): Promise<string[]> {
  const { rows } = await query<{ action: string; outcome: string; details: { reason?: string } }>(
    node.deps.pool,
    't',
    'SELECT action, outcome, details FROM audit_event ORDER BY seq',
  );
  return rows.map((r) => `${r.action}:${r.outcome}${r.details.reason ? `:${r.details.reason}` : ''}`);
}

describe('enrollment link', () => {
  it('lets the person choose a password once, signs them in, and is audited', async () => {
    const created = await createEnrollee(node, { username: 'Enrollee', displayName: 'Erin Enrollee' });
    const token = created.token;
    expect(created.enrollment.url).toBe(`http://argus.test/enroll/${token}`);

    // Only the hash of the token is stored.
    const { rows } = await query<{ token_hash: Buffer }>(node.deps.pool, 't', 'SELECT token_hash FROM enrollment WHERE user_id = $1', [created.user.id]);
    expect(rows[0]!.token_hash.toString('utf8')).not.toContain(token);

    const client = node.client();
    const info = await client.get(`/api/enrollment/${token}`);
    expect(info.body).toMatchObject({ username: 'Enrollee', displayName: 'Erin Enrollee', remaining: ['password', 'security_key'], resumable: false });

    const weak = await client.post(`/api/enrollment/${token}/password`, { password: 'password1234' });
    expect(weak.status).toBe(400);
    expect(errorCode(weak)).toBe('WEAK_PASSWORD');

    const step = await client.post<StepResponse>(`/api/enrollment/${token}/password`, { password: 'a quiet lighthouse keeper' });
    expect(step.body).toEqual({ next: 'security_key' });
    // A password alone signs nobody in.
    expect((await client.get<SessionResponse>('/api/session')).body).toEqual({ signedIn: false });
    expect((await client.get(`/api/enrollment/${token}`)).body).toMatchObject({ remaining: ['security_key'], resumable: true });

    const key = node.authenticator();
    const { options } = (await client.post<{ options: { challenge: string; attestation: string; hints: string[] } }>(`/api/enrollment/${token}/key/options`)).body;
    expect(options).toMatchObject({ attestation: 'direct', hints: ['security-key'], authenticatorSelection: { authenticatorAttachment: 'cross-platform' } });
    const done = await client.post<StepResponse>(`/api/enrollment/${token}/key`, { response: key.register(options) });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ next: 'done', user: { username: 'Enrollee', role: 'user' } });
    expect(JSON.stringify(done.body)).not.toMatch(/argon2|password_hash|passwordHash/);
    const session = await client.get<SessionResponse>('/api/session');
    expect(session.body).toMatchObject({ signedIn: true, user: { username: 'Enrollee' } });

    // Single use: the link is dead now, for reading and for setting a password.
    const again = node.client();
    expect(errorCode(await again.get(`/api/enrollment/${token}`))).toBe('ENROLLMENT_INVALID');
    const reuse = await again.post(`/api/enrollment/${token}/password`, { password: 'another long passphrase' });
    expect(reuse.status).toBe(404);
    expect(errorCode(reuse)).toBe('ENROLLMENT_INVALID');

    const hash = await query<{ password_hash: string }>(node.deps.pool, 't', 'SELECT password_hash FROM app_user WHERE id = $1', [created.user.id]);
    expect(hash.rows[0]!.password_hash).toMatch(/^\$argon2id\$v=19\$m=49152,p=1,t=3\$/);
    expect(await auditActions()).toEqual(
      expect.arrayContaining([
        'user.created:success',
        'enrollment.created:success',
        'enrollment.password_set:success',
        'key.registered:success',
        'enrollment.completed:success',
      ]),
    );
  });

  it('refuses expired and replaced links', async () => {
    const created = await createEnrollee(node, { username: 'late', displayName: 'Late' });
    await query(node.deps.pool, 't', "UPDATE enrollment SET expires_at = now() - interval '1 second' WHERE user_id = $1", [created.user.id]);
    const client = node.client();
    expect(errorCode(await client.get(`/api/enrollment/${tokenOf(created.enrollment.url)}`))).toBe('ENROLLMENT_INVALID');
    expect(errorCode(await client.post(`/api/enrollment/${tokenOf(created.enrollment.url)}/password`, { password: 'a quiet lighthouse keeper' }))).toBe(
      'ENROLLMENT_INVALID',
    );
    expect(errorCode(await client.get('/api/enrollment/not-a-token'))).toBe('VALIDATION_FAILED');
  });
});

describe('sign-in', () => {
  let userId: string;
  let bobKey: SoftAuthenticator;
  const bob = () => ({ username: 'bob', password: 'purple stapler orbit nine', authenticator: bobKey });
  beforeAll(async () => {
    ({ userId, authenticator: bobKey } = await enrollUser(node, { username: 'bob', password: 'purple stapler orbit nine' }));
  });

  it('needs the password and then a key, case-insensitively by username, with a new session id at each step', async () => {
    const client = node.client();
    // A session id planted before sign-in (fixation) must not survive it.
    client.cookie = 'argus.sid=s%3Aplanted.invalidsignature';
    const response = await client.post<StepResponse>('/api/auth/signin', { username: 'BOB', password: 'purple stapler orbit nine' });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ next: 'security_key' });
    const pendingSid = client.sessionId;
    expect(pendingSid).not.toContain('planted');
    // The pending session reaches nothing but the key step.
    expect((await client.get<SessionResponse>('/api/session')).body).toEqual({ signedIn: false });
    expect((await client.get('/api/account/keys')).status).toBe(401);

    const { options } = (await client.post<{ options: { challenge: string; allowCredentials: Array<{ id: string }> } }>('/api/auth/key/options')).body;
    expect(options.allowCredentials.map((c) => c.id)).toEqual([bobKey.credentials[0]!.id.toString('base64url')]);
    const done = await client.post<StepResponse>('/api/auth/key', { response: bobKey.assert(options) });
    expect(done.body).toMatchObject({ next: 'done', user: { id: userId, username: 'bob' } });
    expect(client.sessionId).not.toBe(pendingSid);
    const setCookie = done.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect((await client.get<SessionResponse>('/api/session')).body).toMatchObject({ signedIn: true });
  });

  it('regenerates the session id when an already signed-in session signs in again', async () => {
    const client = await signIn(node, bob());
    const first = client.sessionId;
    await signIn(node, { ...bob(), client });
    expect(client.sessionId).not.toBe(first);
    const stale = node.client();
    stale.cookie = `argus.sid=${first}`;
    expect((await stale.get<SessionResponse>('/api/session')).body).toEqual({ signedIn: false });
  });

  it('answers a wrong password and an unknown user identically, both after a real hash', async () => {
    const run = vi.spyOn(node.deps.hasher.limiter, 'run');
    const wrong = await node.client().post('/api/auth/signin', { username: 'bob', password: 'not the password at all' });
    const unknown = await node.client().post('/api/auth/signin', { username: 'nobody-here', password: 'not the password at all' });
    // Both hashed once: unknown users are verified against a dummy hash.
    expect(run).toHaveBeenCalledTimes(2);
    run.mockRestore();
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const strip = (body: unknown) => ({ ...(body as { error: object }).error, requestId: undefined });
    expect(strip(unknown.body)).toEqual(strip(wrong.body));
    expect(errorCode(wrong)).toBe('INVALID_CREDENTIALS');
    const actions = await auditActions();
    expect(actions).toContain('auth.signin_failed:failure:bad_password');
    expect(actions).toContain('auth.signin_failed:failure:unknown_user');
  });

  it('signs out by destroying the session on the server', async () => {
    const client = await signIn(node, bob());
    const sid = client.sessionId!;
    const out = await client.post('/api/auth/signout');
    expect(out.status).toBe(204);
    // Replaying the old cookie gets nothing: the session is gone from Redis, not just from the browser.
    const replay = node.client();
    replay.cookie = `argus.sid=${sid}`;
    expect((await replay.get<SessionResponse>('/api/session')).body).toEqual({ signedIn: false });
    expect(await auditActions()).toContain('auth.signout:success');
  });

  it('ends a session past its absolute lifetime even while it is active', async () => {
    const client = await signIn(node, bob());
    const sid = decodeURIComponent(client.sessionId!).slice(2).split('.')[0]!;
    const key = `sess:${sid}`;
    await editStoredSession(
      node,
      sid,
      (data) => {
        data.signedInAt -= 13 * 3_600_000;
      },
      { ttlMs: 60_000 },
    );
    expect((await client.get<SessionResponse>('/api/session')).body).toEqual({ signedIn: false });
    expect(await node.deps.redis.exists(key)).toBe(0);
  });

  it('keeps the idle timeout in Redis on every request, and renews the cookie once it is a minute old', async () => {
    const client = await signIn(node, bob());
    const sid = decodeURIComponent(client.sessionId!).slice(2).split('.')[0]!;
    const key = `sess:${sid}`;
    // Just issued (at sign-in): not signed and sent again with every response.
    const fresh = await client.get('/api/session');
    expect(fresh.headers.get('set-cookie')).toBeNull();
    expect(await node.deps.redis.pttl(key)).toBeGreaterThan(29 * 60_000);

    // Issued 61 s ago: this answer renews it, and says so in expiresAt.
    await editStoredSession(
      node,
      sid,
      (data) => {
        // Stored as JSON: the cookie's expiry is a date string there.
        const cookie = data.cookie as unknown as { expires: string };
        cookie.expires = new Date(Date.parse(cookie.expires) - 61_000).toISOString();
      },
      { ttlMs: 60_000 },
    );
    const renewed = await client.get<SessionResponse>('/api/session');
    const expires = Date.parse(/Expires=([^;]+)/.exec(renewed.headers.get('set-cookie') ?? '')?.[1] ?? '');
    expect(expires).toBeGreaterThan(Date.now() + 29 * 60_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 30 * 60_000);
    expect(Date.parse(renewed.body.signedIn ? renewed.body.expiresAt : '')).toBeGreaterThan(Date.now() + 29 * 60_000);
    const ttl = await node.deps.redis.pttl(key);
    expect(ttl).toBeGreaterThan(29 * 60_000);
    expect(ttl).toBeLessThanOrEqual(30 * 60_000);
    const stored = (await storedSession(node, sid))!.cookie as unknown as { expires: string };
    expect(Date.parse(stored.expires)).toBeGreaterThan(Date.now() + 29 * 60_000);
    expect((await client.get('/api/session')).headers.get('set-cookie')).toBeNull();
  });

  it('rehashes a password made with weaker parameters on sign-in', async () => {
    const argon2 = await import('argon2');
    const weak = await argon2.hash('purple stapler orbit nine', { type: argon2.argon2id, memoryCost: 8192, timeCost: 2, parallelism: 1 });
    await query(node.deps.pool, 't', 'UPDATE app_user SET password_hash = $2 WHERE id = $1', [userId, weak]);
    expect((await node.client().post('/api/auth/signin', { username: 'bob', password: 'purple stapler orbit nine' })).status).toBe(200);
    const { rows } = await query<{ password_hash: string }>(node.deps.pool, 't', 'SELECT password_hash FROM app_user WHERE id = $1', [userId]);
    expect(rows[0]!.password_hash).toMatch(/m=49152,p=1,t=3/);
    expect(await auditActions()).toContain('user.password_rehashed:success');
  });
});

describe('disabled users', () => {
  it('ends every session of a user at once and refuses their sign-in', async () => {
    const admin = await enrollUser(node, { username: 'root-admin', role: 'admin' });
    const carol = await enrollUser(node, { username: 'carol', password: 'sixteen quiet lanterns' });
    const laptop = carol.client;
    const phone = await signIn(node, { username: 'carol', password: 'sixteen quiet lanterns', authenticator: carol.authenticator });
    expect((await phone.get<SessionResponse>('/api/session')).body.signedIn).toBe(true);

    const disable = await admin.client.patch(`/api/admin/users/${carol.userId}`, { status: 'disabled' });
    expect(disable.status).toBe(200);
    for (const device of [laptop, phone]) {
      expect((await device.get<SessionResponse>('/api/session')).body).toEqual({ signedIn: false });
    }
    expect(await node.deps.sessions.sessionIdsForUser(carol.userId)).toEqual([]);
    const signin = await node.client().post('/api/auth/signin', { username: 'carol', password: 'sixteen quiet lanterns' });
    expect(signin.status).toBe(403);
    expect(errorCode(signin)).toBe('ACCOUNT_DISABLED');
    const audit = await admin.client.get<AuditListResponse>('/api/audit/events?action=user.disabled');
    expect(audit.body.events[0]).toMatchObject({ actorUsername: 'root-admin', targetId: carol.userId, severity: 'high' });
  });

  it('refuses a disabled user even if their session was not found in the index', async () => {
    const dave = await enrollUser(node, { username: 'dave' });
    await node.deps.redis.del(`user-sessions:${dave.userId}`);
    await query(node.deps.pool, 't', "UPDATE app_user SET status = 'disabled' WHERE id = $1", [dave.userId]);
    // Changed behind Argus's back: nodes drop their cached row when Postgres announces the change.
    await expect.poll(async () => errorCode(await dave.client.get('/api/audit/events')), { timeout: 1_000, interval: 10 }).toBe('SESSION_ENDED');
  });
});
