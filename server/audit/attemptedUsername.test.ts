import { createHmac, hkdfSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAuditEvents } from '../db/audit.ts';
import { enrollUser, startTestNode, type TestNode } from '../test/harness.ts';
import { attemptedUsernameOf, unknownUsernameDetails, USERNAME_HASH_LABEL } from './attemptedUsername.ts';

const SECRET = 'x'.repeat(40);

describe('unknownUsernameDetails', () => {
  it('is HMAC-SHA-256 under a key derived with HKDF from the secret and the fixed label, and the length in characters', () => {
    const key = Buffer.from(hkdfSync('sha256', SECRET, Buffer.alloc(0), 'argus audit username v1', 32));
    expect(USERNAME_HASH_LABEL).toBe('argus audit username v1');
    expect(unknownUsernameDetails(SECRET, 'pässwörd 😀')).toEqual({
      usernameHmac: createHmac('sha256', key).update('pässwörd 😀', 'utf8').digest('hex'),
      usernameLength: 10,
    });
  });

  it('gives the same name the same hash, another name or another secret another', () => {
    const once = unknownUsernameDetails(SECRET, 'correct horse');
    expect(unknownUsernameDetails(SECRET, 'correct horse')).toEqual(once);
    expect(unknownUsernameDetails(SECRET, 'Correct horse').usernameHmac).not.toBe(once.usernameHmac);
    expect(unknownUsernameDetails('y'.repeat(40), 'correct horse').usernameHmac).not.toBe(once.usernameHmac);
    // Not the plain hash a guesser could compute without the secret.
    expect(once.usernameHmac).not.toBe(createHmac('sha256', SECRET).update('correct horse').digest('hex'));
  });

  it('is read back only from sign-in attempts', () => {
    const details = unknownUsernameDetails(SECRET, 'hunter2');
    expect(attemptedUsernameOf({ action: 'auth.signin_failed', details })).toEqual({ known: false, ...details });
    expect(attemptedUsernameOf({ action: 'auth.signin_failed', details: { username: 'bob' } })).toEqual({ known: true, username: 'bob' });
    expect(attemptedUsernameOf({ action: 'user.created', details: { username: 'bob' } })).toBeNull();
  });
});

describe('a sign-in attempt with a username that matches no account', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000', SIGNIN_FAILURES_PER_USERNAME: '3' });
    await enrollUser(node, { username: 'bob' });
  });
  afterAll(() => node.destroy());

  const failures = () => searchAuditEvents(node.deps.pool, { action: 'auth.signin_failed' }, { limit: 100 });
  const lockouts = () => searchAuditEvents(node.deps.pool, { action: 'auth.rate_limited' }, { limit: 100 });

  it('is recorded as a keyed hash and a length, never as typed, and the same name twice is the same hash', async () => {
    // What someone might type into the username box by mistake.
    const typed = 'Tr0ub4dor&3 secret';
    for (let i = 0; i < 2; i += 1) await node.client().post('/api/auth/signin', { username: typed, password: 'whatever it was' });
    const recorded = (await failures()).filter((event) => event.details.reason === 'unknown_user');
    expect(recorded).toHaveLength(2);
    const expected = unknownUsernameDetails(node.deps.config.sessionSecret, typed);
    for (const event of recorded) {
      expect(event.details).toEqual({ reason: 'unknown_user', device: 'unknown', ...expected });
      expect(event).toMatchObject({ actorUsername: null, targetId: null });
      expect(JSON.stringify(event)).not.toContain('Tr0ub4dor');
    }
    expect(expected.usernameLength).toBe(typed.length);
  });

  it('is hashed in the audit event of the lock-out too', async () => {
    const typed = 'my password 123';
    for (let i = 0; i < 3; i += 1) await node.client().post('/api/auth/signin', { username: typed, password: 'whatever it was' });
    const [lockout] = await lockouts();
    expect(lockout?.details).toEqual({ limiter: 'signin-username', bucket: 'unknown_devices', ...unknownUsernameDetails(node.deps.config.sessionSecret, typed) });
    expect(JSON.stringify(lockout)).not.toContain('my password');
  });

  it('while a username that matches an account is recorded as typed, as before', async () => {
    await node.client().post('/api/auth/signin', { username: 'bob', password: 'not the password at all' });
    const [event] = (await failures()).filter((e) => e.details.reason === 'bad_password');
    expect(event).toMatchObject({ targetType: 'user', details: { username: 'bob', reason: 'bad_password' } });
    expect(event?.details).not.toHaveProperty('usernameHmac');
  });
});
