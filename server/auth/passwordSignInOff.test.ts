import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignInMethodsResponse, StepResponse } from '../../shared/api.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { createEnrollee, enrollUser, errorCode, lastAudit, startSiblingNode, startTestNode, type TestNode } from '../test/harness.ts';
import type { SoftAuthenticator } from '../test/softAuthenticator.ts';

/*
 * PASSWORD_SIGNIN=false (issue #20): the password form is for the break-glass admins named in
 * BREAK_GLASS_ADMINS only, and their key step is still required. The accounts are made on a
 * node with passwords on (enrollment sets a password), then used through a node of the same
 * deployment with passwords off.
 */

const base = { SESSION_SECRET: 'x'.repeat(32), ARGUS_DATA_DIR: '/tmp/argus-config-test' };

describe('PASSWORD_SIGNIN=false at start-up', () => {
  it('is refused when nobody could sign in: no company sign-in and no break-glass admin', () => {
    expect(() => loadConfig({ ...base, PASSWORD_SIGNIN: 'false' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, PASSWORD_SIGNIN: 'false' })).toThrow(/PASSWORD_SIGNIN: .*BREAK_GLASS_ADMINS/);
  });

  it('starts with break-glass admins, or with company sign-in configured', () => {
    expect(loadConfig({ ...base, PASSWORD_SIGNIN: 'false', BREAK_GLASS_ADMINS: 'Boss, root-2' }).passwordSignIn).toEqual({
      enabled: false,
      breakGlassAdmins: ['boss', 'root-2'],
    });
    const company = { OIDC_ISSUER: 'https://id.example.com', OIDC_CLIENT_ID: 'argus', OIDC_CLIENT_SECRET: 'client-secret' };
    expect(loadConfig({ ...base, PASSWORD_SIGNIN: 'false', ...company }).passwordSignIn.enabled).toBe(false);
    expect(loadConfig(base).passwordSignIn).toEqual({ enabled: true, breakGlassAdmins: [] });
  });

  it('names a malformed BREAK_GLASS_ADMINS', () => {
    expect(() => loadConfig({ ...base, PASSWORD_SIGNIN: 'false', BREAK_GLASS_ADMINS: 'boss;root' })).toThrow(/BREAK_GLASS_ADMINS/);
  });
});

describe('PASSWORD_SIGNIN=false', () => {
  let setup: TestNode;
  let off: TestNode;
  let boss: { password: string; authenticator: SoftAuthenticator; userId: string };
  const passwords = { alice: 'she keeps the lighthouse', ada: 'counting the seven bridges', mallory: 'listed but not an admin' };

  beforeAll(async () => {
    const env = { SIGNIN_RATE_PER_MINUTE: '1000' };
    setup = await startTestNode(env);
    boss = await enrollUser(setup, { username: 'boss', role: 'admin', password: 'the break glass admin' });
    await enrollUser(setup, { username: 'alice', password: passwords.alice });
    await enrollUser(setup, { username: 'ada', role: 'admin', password: passwords.ada });
    // Listed, but not an admin: break-glass is for admins only.
    await enrollUser(setup, { username: 'mallory', password: passwords.mallory });
    off = await startSiblingNode(setup, { ...env, PASSWORD_SIGNIN: 'false', BREAK_GLASS_ADMINS: 'BOSS,mallory' });
  });
  afterAll(async () => {
    await off?.destroy();
    await setup?.destroy();
  });

  it('tells the sign-in page to hide the password form', async () => {
    expect((await off.client().get<SignInMethodsResponse>('/api/auth/methods')).body).toEqual({ password: false, company: null });
    expect((await setup.client().get<SignInMethodsResponse>('/api/auth/methods')).body).toEqual({ password: true, company: null });
  });

  it('refuses everyone else with PASSWORD_SIGNIN_DISABLED, right password or not, admins included', async () => {
    for (const [username, password] of [
      ['alice', passwords.alice],
      ['alice', 'not her password at all'],
      ['ada', passwords.ada],
      ['mallory', passwords.mallory],
      ['nobody-at-all', 'whatever they type'],
      // A break-glass admin's wrong password gets the same answer: the list is not given away.
      ['boss', 'not the break glass password'],
    ] as const) {
      const client = off.client();
      const refused = await client.post('/api/auth/signin', { username, password });
      expect(refused.status, username).toBe(403);
      expect(errorCode(refused), username).toBe('PASSWORD_SIGNIN_DISABLED');
      expect(client.cookie, username).toBeNull();
    }
    expect(await lastAudit(off, 'auth.signin_failed')).toMatchObject({ details: { username: 'boss', reason: 'bad_password' } });
  });

  it('lets a break-glass admin in with the password, and still asks for the key', async () => {
    const client = off.client();
    const password = await client.post<StepResponse>('/api/auth/signin', { username: 'boss', password: 'the break glass admin' });
    expect(password.body).toEqual({ next: 'security_key' });
    expect((await client.get('/api/session')).body).toEqual({ signedIn: false });
    expect((await client.get('/api/account/keys')).status).toBe(401);
    expect(await lastAudit(off, 'auth.password_verified')).toMatchObject({ details: { breakGlass: true } });
    const { options } = (await client.post<{ options: { challenge: string } }>('/api/auth/key/options')).body;
    const done = await client.post<StepResponse>('/api/auth/key', { response: boss.authenticator.assert(options) });
    expect(done.body).toMatchObject({ next: 'done', user: { username: 'boss', role: 'admin' } });
  });

  it('keeps enrollment links for break-glass admins only', async () => {
    const newcomer = await createEnrollee(off, { username: 'newcomer' });
    const refused = await off.client().post(`/api/enrollment/${newcomer.token}/password`, { password: 'a long enough password here' });
    expect(refused.status).toBe(403);
    expect(errorCode(refused)).toBe('PASSWORD_SIGNIN_DISABLED');
    // Resuming a link whose password was set before passwords were turned off: refused too.
    const halfway = await createEnrollee(setup, { username: 'halfway' });
    expect((await setup.client().post(`/api/enrollment/${halfway.token}/password`, { password: 'stopped before the key step' })).status).toBe(200);
    expect(errorCode(await off.client().post(`/api/enrollment/${halfway.token}/resume`, { password: 'stopped before the key step' }))).toBe('PASSWORD_SIGNIN_DISABLED');
    // A second break-glass admin, listed before their account exists.
    const spare = await createEnrollee(off, { username: 'mallory-2', role: 'admin' });
    const offWithSpare = await startSiblingNode(setup, { SIGNIN_RATE_PER_MINUTE: '1000', PASSWORD_SIGNIN: 'false', BREAK_GLASS_ADMINS: 'boss,mallory-2' });
    try {
      const accepted = await offWithSpare.client().post<StepResponse>(`/api/enrollment/${spare.token}/password`, { password: 'the second break glass' });
      expect(accepted.body).toEqual({ next: 'security_key' });
    } finally {
      await offWithSpare.destroy();
    }
  });
});
