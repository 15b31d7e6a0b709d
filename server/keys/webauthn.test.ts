import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionResponse } from '../../shared/api.ts';
import { query } from '../db/pool.ts';
import { editStoredSession, enrollUser, errorCode, lastAudit, signIn, startTestNode, type TestClient, type TestNode } from '../test/harness.ts';
import type { SoftAuthenticator, Tamper } from '../test/softAuthenticator.ts';

/**
 * One test per guard of the WebAuthn assertion path; each fails if its check is removed.
 * Responses come from a software authenticator speaking the real formats.
 */
let node: TestNode;
let alice: { userId: string; password: string; authenticator: SoftAuthenticator; keyId: string };
let mallory: { userId: string; password: string; authenticator: SoftAuthenticator; keyId: string };

beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
  alice = await enrollUser(node, { username: 'alice', password: 'ecila-owl drinks tea at noon' });
  mallory = await enrollUser(node, { username: 'mallory', password: 'yrollam-owl drinks tea at noon' });
});
afterAll(() => node.destroy());

type Options = { challenge: string };

/** Password step, then the key-step options, for a fresh client. */
async function pendingSignIn(username = 'alice', password = alice.password): Promise<{ client: TestClient; options: Options }> {
  const client = node.client();
  expect((await client.post('/api/auth/signin', { username, password })).status).toBe(200);
  const response = await client.post<{ options: Options }>('/api/auth/key/options');
  expect(response.status).toBe(200);
  return { client, options: response.body.options };
}

async function attempt(tamper: Tamper, authenticator = alice.authenticator) {
  const { client, options } = await pendingSignIn();
  const response = await client.post('/api/auth/key', { response: authenticator.assert(options, tamper) });
  return { client, response };
}

describe('sign-in assertion guards', () => {
  it('accepts a good assertion (the baseline every guard below departs from)', async () => {
    const { client, response } = await attempt({});
    expect(response.status).toBe(200);
    expect((await client.get<SessionResponse>('/api/session')).body.signedIn).toBe(true);
  });

  it('refuses a response made for another origin', async () => {
    const { response } = await attempt({ origin: 'https://evil.example' });
    expect(response.status).toBe(400);
    expect(errorCode(response)).toBe('WEBAUTHN_FAILED');
    expect((await lastAudit(node, 'webauthn.assertion_failed'))?.details).toMatchObject({ reason: 'wrong_origin' });
  });

  it('refuses a response made for another RP ID', async () => {
    const { response } = await attempt({ rpId: 'evil.example' });
    expect(errorCode(response)).toBe('WEBAUTHN_FAILED');
    expect((await lastAudit(node, 'webauthn.assertion_failed'))?.details).toMatchObject({ reason: 'wrong_rp' });
  });

  it('refuses a replayed response: the challenge is single-use', async () => {
    const { client, options } = await pendingSignIn();
    const assertion = alice.authenticator.assert(options);
    // Used once, successfully…
    expect((await client.post('/api/auth/key', { response: assertion })).status).toBe(200);
    // …then replayed in a fresh pending sign-in: its challenge is not the one that was signed.
    const again = node.client();
    await again.post('/api/auth/signin', { username: 'alice', password: alice.password });
    await again.post('/api/auth/key/options');
    const replay = await again.post('/api/auth/key', { response: assertion });
    expect(errorCode(replay)).toBe('CHALLENGE_INVALID');
    // And a good response whose challenge is gone (consumed elsewhere) is refused too.
    const { client: other, options: fresh } = await pendingSignIn();
    const good = alice.authenticator.assert(fresh);
    await node.deps.redis.getdel(`challenge:signin:${decodeURIComponent(other.sessionId!).slice(2).split('.')[0]}`);
    expect(errorCode(await other.post('/api/auth/key', { response: good }))).toBe('CHALLENGE_INVALID');
  });

  it('refuses a response signed over a challenge issued to another session', async () => {
    const victim = await pendingSignIn();
    const attacker = await pendingSignIn();
    const response = await attacker.client.post('/api/auth/key', { response: alice.authenticator.assert(victim.options) });
    expect(errorCode(response)).toBe('CHALLENGE_INVALID');
  });

  it('refuses an expired challenge and keeps challenges at most two minutes', async () => {
    const { client, options } = await pendingSignIn();
    const sid = decodeURIComponent(client.sessionId!).slice(2).split('.')[0]!;
    const key = `challenge:signin:${sid}`;
    const ttl = await node.deps.redis.ttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(120);
    await node.deps.redis.pexpire(key, 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(errorCode(await client.post('/api/auth/key', { response: alice.authenticator.assert(options) }))).toBe('CHALLENGE_INVALID');
  });

  it('refuses a bad signature', async () => {
    const { response } = await attempt({ badSignature: true });
    expect(errorCode(response)).toBe('WEBAUTHN_FAILED');
    expect((await lastAudit(node, 'webauthn.assertion_failed'))?.details).toMatchObject({ reason: 'bad_signature' });
  });

  it('refuses an assertion without user presence', async () => {
    const { response } = await attempt({ userPresent: false });
    expect(errorCode(response)).toBe('WEBAUTHN_FAILED');
    expect((await lastAudit(node, 'webauthn.assertion_failed'))?.details).toMatchObject({ reason: 'user_presence_missing' });
  });

  it('refuses a credential nobody registered', async () => {
    const stranger = node.authenticator();
    stranger.register({ challenge: 'x' });
    const { response } = await attempt({}, stranger);
    expect(response.status).toBe(403);
    expect(errorCode(response)).toBe('KEY_UNKNOWN');
  });

  it("refuses another user's key as KEY_MISMATCH, audited at high severity with both user ids", async () => {
    const { response, client } = await attempt({}, mallory.authenticator);
    expect(response.status).toBe(403);
    expect(errorCode(response)).toBe('KEY_MISMATCH');
    expect((response.body as { error: { message: string } }).error.message).toBe('This key belongs to another account.');
    const audit = await lastAudit(node, 'auth.key_mismatch');
    expect(audit?.severity).toBe('high');
    expect(audit?.details).toMatchObject({ sessionUserId: alice.userId, keyOwnerId: mallory.userId });
    expect((await client.get<SessionResponse>('/api/session')).body.signedIn).toBe(false);
  });

  it('refuses a deactivated key and a suspended key', async () => {
    const setStatus = (status: string) => query(node.deps.pool, 't', 'UPDATE security_key SET status = $2 WHERE id = $1', [alice.keyId, status]);
    try {
      for (const [status, code] of [['deactivated', 'KEY_INACTIVE'], ['suspended', 'KEY_SUSPENDED']] as const) {
        // Options issued while the key was active; the key changes before the touch.
        const { client, options } = await pendingSignIn();
        await setStatus(status);
        expect(errorCode(await client.post('/api/auth/key', { response: alice.authenticator.assert(options) }))).toBe(code);
        // With no active key left, sign-in stops at the password step.
        expect(errorCode(await node.client().post('/api/auth/signin', { username: 'alice', password: alice.password }))).toBe('NO_ACTIVE_KEY');
        await setStatus('active');
      }
    } finally {
      await setStatus('active');
    }
  });

  it('refuses the key step before the password step, and after the pending stage expired', async () => {
    const fresh = node.client();
    expect(errorCode(await fresh.post('/api/auth/key/options'))).toBe('WRONG_STEP');
    const { client } = await pendingSignIn();
    const sid = decodeURIComponent(client.sessionId!).slice(2).split('.')[0]!;
    await editStoredSession(node, sid, (data) => {
      data.stageStartedAt -= 6 * 60_000;
    });
    expect(errorCode(await client.post('/api/auth/key/options'))).toBe('WRONG_STEP');
  });
});

describe('clone detection', () => {
  it('suspends a key whose counter goes backwards, ends its sessions, and raises a critical event', async () => {
    const carol = await enrollUser(node, { username: 'carol', password: 'lorac-owl drinks tea at noon' });
    const laptop = await signIn(node, { username: 'carol', password: carol.password, authenticator: carol.authenticator });
    const counterNow = carol.authenticator.credentials[0]!.signCount;

    // A bad signature with a low counter must not suspend anything (the signature comes first).
    const forged = node.client();
    await forged.post('/api/auth/signin', { username: 'carol', password: carol.password });
    const forgedOptions = (await forged.post<{ options: Options }>('/api/auth/key/options')).body.options;
    const bad = await forged.post('/api/auth/key', { response: carol.authenticator.assert(forgedOptions, { counter: 1, badSignature: true }) });
    expect(errorCode(bad)).toBe('WEBAUTHN_FAILED');
    carol.authenticator.credentials[0]!.signCount = counterNow;
    expect((await laptop.get<SessionResponse>('/api/session')).body.signedIn).toBe(true);

    // A validly signed clone with a stale counter suspends the key.
    const clone = node.client();
    await clone.post('/api/auth/signin', { username: 'carol', password: carol.password });
    const options = (await clone.post<{ options: Options }>('/api/auth/key/options')).body.options;
    const response = await clone.post('/api/auth/key', { response: carol.authenticator.assert(options, { counter: counterNow }) });
    expect(response.status).toBe(403);
    expect(errorCode(response)).toBe('KEY_SUSPENDED');
    const { rows } = await query<{ status: string }>(node.deps.pool, 't', 'SELECT status FROM security_key WHERE id = $1', [carol.keyId]);
    expect(rows[0]!.status).toBe('suspended');
    const audit = await lastAudit(node, 'key.suspended');
    expect(audit).toMatchObject({ severity: 'critical', details: { reason: 'clone_detected', storedCounter: counterNow, presentedCounter: counterNow } });
    // Every session that signed in with the key is gone; the genuine key cannot sign in either.
    expect((await laptop.get<SessionResponse>('/api/session')).body.signedIn).toBe(false);
    expect(errorCode(await node.client().post('/api/auth/signin', { username: 'carol', password: carol.password }))).toBe('NO_ACTIVE_KEY');
  });
});

describe('user verification policy', () => {
  it('refuses an assertion without user verification when policy requires it', async () => {
    const strict = await startTestNode({ WEBAUTHN_USER_VERIFICATION: 'required' });
    try {
      const dan = await enrollUser(strict, { username: 'dan', password: 'nad-owl drinks tea at noon' });
      const client = strict.client();
      await client.post('/api/auth/signin', { username: 'dan', password: dan.password });
      const { options } = (await client.post<{ options: Options & { userVerification: string } }>('/api/auth/key/options')).body;
      expect(options.userVerification).toBe('required');
      const response = await client.post('/api/auth/key', { response: dan.authenticator.assert(options, { userVerified: false }) });
      expect(errorCode(response)).toBe('WEBAUTHN_FAILED');
      expect((response.body as { error: { message: string } }).error.message).toMatch(/verify you/);
      // …and the same key with verification passes.
      await signIn(strict, { username: 'dan', password: dan.password, authenticator: dan.authenticator });
    } finally {
      await strict.destroy();
    }
  });
});

describe('synced passkeys', () => {
  it('are refused at registration unless configuration allows them, and are marked when allowed', async () => {
    await expect(enrollUser(node, { username: 'erin', authenticator: node.authenticator({ backedUp: true }) })).rejects.toThrow(/SYNCED_PASSKEY_NOT_ALLOWED/);
    const lenient = await startTestNode({ ALLOW_SYNCED_PASSKEYS: 'true' });
    try {
      const frank = await enrollUser(lenient, { username: 'frank', authenticator: lenient.authenticator({ backedUp: true }) });
      const keys = (await frank.client.get<{ keys: Array<{ synced: boolean }> }>('/api/account/keys')).body.keys;
      expect(keys).toEqual([expect.objectContaining({ synced: true })]);
      await signIn(lenient, { username: 'frank', password: frank.password, authenticator: frank.authenticator });
    } finally {
      await lenient.destroy();
    }
  });
});

describe('registration guards', () => {
  it('refuses a registration for another origin, a replayed one, and a key registered already', async () => {
    const gina = await enrollUser(node, { username: 'gina', password: 'anig-owl drinks tea at noon' });
    const options = async () => (await gina.client.post<{ options: Options }>('/api/account/keys/options')).body.options;
    const other = node.authenticator();
    const wrongOrigin = await gina.client.post('/api/account/keys', { response: other.register(await options(), { origin: 'https://evil.example' }) });
    expect(errorCode(wrongOrigin)).toBe('WEBAUTHN_FAILED');
    const good = other.register(await options());
    expect((await gina.client.post('/api/account/keys', { response: good })).status).toBe(201);
    expect(errorCode(await gina.client.post('/api/account/keys', { response: good }))).toBe('CHALLENGE_INVALID');
    await options();
    expect(errorCode(await gina.client.post('/api/account/keys', { response: good }))).toBe('CHALLENGE_INVALID');
    // The same credential, attested again over a new challenge: a key is registered once.
    const duplicate = await gina.client.post('/api/account/keys', { response: other.register(await options(), {}, other.credentials.at(-1)) });
    expect(duplicate.status).toBe(409);
    expect(errorCode(duplicate)).toBe('CONFLICT');
  });
});
