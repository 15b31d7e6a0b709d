/**
 * Company sign-in (OpenID Connect, issue #20) against a real provider (panva's oidc-provider,
 * server/test/oidcProvider.ts): the code flow with PKCE, each refusal of a wrong answer, JIT
 * and existing-only provisioning, roles from groups, the key step that always follows, and the
 * first key of a user who has none.
 */
import * as openid from 'openid-client';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AdminUserView, GrantResponse, SessionResponse, UserListResponse } from '../../shared/api.ts';
import { query } from '../db/pool.ts';
import { createEnrollee, enrollSteppedUpAdmin, enrollUser, errorCode, insertKeyRow, lastAudit, startTestNode, stepUpWith, type TestClient, type TestNode } from '../test/harness.ts';
import { authorizeAt, callbackPath, companySignIn, getRedirect, landingError, registerKeyAfterCompanySignIn, stepOf, touchKey } from '../test/companySignIn.ts';
import { freePort } from '../test/env.ts';
import { TestSocket } from '../test/wsClient.ts';
import { startTestProvider, type TestProvider } from '../test/oidcProvider.ts';
import type { SoftAuthenticator } from '../test/softAuthenticator.ts';

let provider: TestProvider;
beforeAll(async () => {
  provider = await startTestProvider({
    users: {
      'sub-alice': { preferred_username: 'alice', name: 'Alice Example', groups: ['staff'] },
      'sub-bob': { preferred_username: 'bob', groups: ['argus-admins'] },
      'sub-carol': { preferred_username: 'carol', groups: ['argus-admins'] },
      'sub-dana': { preferred_username: 'dana', groups: ['argus-auditors'] },
      'sub-tamper': { preferred_username: 'tamper' },
      'sub-noname': { groups: [] },
      'sub-taken': { preferred_username: 'existing-person' },
      'sub-dave': { preferred_username: 'dave' },
      'sub-dave-impostor': { preferred_username: 'Dave' },
      'sub-erin': { email: 'erin@example.com', email_verified: true },
      'sub-nobody': { preferred_username: 'nobody-here' },
    },
  });
});
afterAll(async () => {
  await provider?.close();
});

async function userRow(node: TestNode, username: string) {
  const { rows } = await query<{ id: string; role: string; status: string }>(node.deps.pool, 't', 'SELECT id, role, status FROM app_user WHERE lower(username) = lower($1)', [username]);
  return rows[0] ?? null;
}

async function unlock(client: TestClient, authenticator: SoftAuthenticator) {
  const options = await client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options');
  return client.post<GrantResponse>('/api/verify-key-ownership', { response: authenticator.assert(options.body.options), presenceMode: 'assertion' });
}

describe('company sign-in with just-in-time accounts (OIDC_PROVISIONING=jit, OIDC_FIRST_KEY=self)', () => {
  let node: TestNode;
  const keys = new Map<string, SoftAuthenticator>();
  beforeAll(async () => {
    node = await startTestNode(
      provider.env({
        OIDC_PROVISIONING: 'jit',
        OIDC_FIRST_KEY: 'self',
        OIDC_ADMIN_GROUPS: 'argus-admins',
        OIDC_AUDITOR_GROUPS: 'argus-auditors',
        OIDC_POST_LOGOUT_REDIRECT: 'http://argus.test/signin',
        SIGNIN_RATE_PER_MINUTE: '1000',
        ROUTE_RATE_LIMIT_FACTOR: '100',
      }),
    );
  });
  afterAll(() => node?.destroy());

  /** A user's first company sign-in and first key, then answers a client fully signed in. */
  async function firstSignIn(sub: string, username: string): Promise<TestClient> {
    const { client, landing } = await companySignIn(node, provider, sub);
    expect(landing.pathname + landing.search).toBe('/signin?oidc=continue');
    const key = node.authenticator();
    keys.set(username, key);
    expect((await registerKeyAfterCompanySignIn(client, key)).body).toMatchObject({ next: 'done', user: { username } });
    return client;
  }

  it('starts the code flow with PKCE (S256), state and nonce, and keeps the verifier on the server', async () => {
    const client = node.client();
    const start = await getRedirect(client, '/api/auth/oidc/start?next=/chat');
    expect(start.status).toBe(303);
    expect(start.cacheControl).toBe('no-store');
    const url = start.location!;
    expect(url.origin).toBe(provider.issuer);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: 'argus',
      redirect_uri: 'http://argus.test/api/auth/oidc/callback',
      scope: 'openid profile email groups',
      code_challenge_method: 'S256',
    });
    expect(url.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(url.searchParams.get('state')).toMatch(/^[\w-]{20,}$/);
    expect(url.searchParams.get('nonce')).toMatch(/^[\w-]{20,}$/);
    expect(url.searchParams.has('code_verifier')).toBe(false);
    // A path outside the app is dropped, not followed after sign-in.
    const elsewhere = await getRedirect(node.client(), '/api/auth/oidc/start?next=//evil.example/');
    expect(elsewhere.status).toBe(303);
  });

  it('creates the account on the first sign-in, registers its first key (audited high), and only then signs in', async () => {
    const { client, landing } = await companySignIn(node, provider, 'sub-alice');
    expect(landingError(landing)).toBeNull();
    // The provider's word alone signs nobody in.
    expect((await client.get<SessionResponse>('/api/session')).body).toEqual({ signedIn: false });
    expect((await client.get('/api/account/keys')).status).toBe(401);
    expect(await stepOf(client)).toEqual({ step: 'register_key', username: 'alice', displayName: 'Alice Example', firstKeyNeedsApproval: false });
    // The key step of a password sign-in is not this step.
    expect(errorCode(await client.post('/api/auth/key/options'))).toBe('WRONG_STEP');
    const key = node.authenticator();
    keys.set('alice', key);
    const done = await registerKeyAfterCompanySignIn(client, key);
    expect(done.body).toMatchObject({ next: 'done', user: { username: 'alice', role: 'user' } });
    expect((await client.get<SessionResponse>('/api/session')).body).toMatchObject({ signedIn: true, user: { username: 'alice' } });
    const registered = await lastAudit(node, 'key.first_key_registered');
    expect(registered).toMatchObject({ severity: 'high', details: { ownerUsername: 'alice', via: 'company_sign_in', approval: 'not_required' } });
    // The credential a presence proof verifies with (docs/presence-proofs.md), as key.registered records it.
    expect(registered?.details.credential).toEqual((await lastAudit(node, 'key.registered'))?.details.credential);
    expect(registered?.details.credential).toMatchObject({ id: key.credentials[0]!.id.toString('base64url'), publicKey: Buffer.from(key.credentials[0]!.publicKeyCose).toString('base64url'), alg: -7 });
    expect(await lastAudit(node, 'user.identity_linked')).toMatchObject({ details: { username: 'alice', subject: 'sub-alice', issuer: provider.issuer, via: 'jit' } });
    expect(await lastAudit(node, 'auth.signin')).toMatchObject({ details: { method: 'oidc_first_key' } });
  });

  it('leaves the next sign-in needing the key, exactly like a correct password', async () => {
    const { client, landing } = await companySignIn(node, provider, 'sub-alice');
    expect(landingError(landing)).toBeNull();
    expect(await stepOf(client)).toMatchObject({ step: 'security_key', username: 'alice' });
    expect((await client.get<SessionResponse>('/api/session')).body).toEqual({ signedIn: false });
    expect((await client.get('/api/models')).status).toBe(401);
    // The first-key step is not open to a user who has a key.
    expect(errorCode(await client.post('/api/auth/oidc/first-key/options'))).toBe('WRONG_STEP');
    // Another user's key does not finish it (invariant 5).
    const stranger = await enrollUser(node, { username: 'stranger' });
    expect(errorCode(await touchKey(client, stranger.authenticator))).toBe('KEY_MISMATCH');
    const again = await companySignIn(node, provider, 'sub-alice');
    const done = await touchKey(again.client, keys.get('alice')!);
    expect(done.body).toMatchObject({ next: 'done', user: { username: 'alice' } });
    expect((await again.client.get<SessionResponse>('/api/session')).body).toMatchObject({ signedIn: true });
    expect(await lastAudit(node, 'auth.signin')).toMatchObject({ details: { method: 'oidc+security_key' } });
    expect(await lastAudit(node, 'auth.oidc_verified')).toMatchObject({ details: { subject: 'sub-alice', next: 'needs_key' } });
  });

  it('signs out at the provider too after a company sign-in (RP-initiated logout), naming the client, never a token', async () => {
    const { client } = await companySignIn(node, provider, 'sub-alice');
    await touchKey(client, keys.get('alice')!);
    const out = await client.post<{ providerSignOutUrl: string }>('/api/auth/signout');
    expect(out.status).toBe(200);
    const url = new URL(out.body.providerSignOutUrl);
    expect(url.origin + url.pathname).toBe(`${provider.issuer}/session/end`);
    expect(Object.fromEntries(url.searchParams)).toEqual({ client_id: 'argus', post_logout_redirect_uri: 'http://argus.test/signin' });
    expect((await client.get<SessionResponse>('/api/session')).body).toEqual({ signedIn: false });
    // A password session signs out of Argus only.
    const local = await enrollUser(node, { username: 'local-only' });
    expect((await local.client.post('/api/auth/signout')).status).toBe(204);
  });

  it('refuses an answer whose state is not the one this browser was given, and then the real one too (single use)', async () => {
    const client = node.client();
    const callback = await authorizeAt(client, provider.browser(), 'sub-alice');
    const forged = new URL(callback);
    forged.searchParams.set('state', 'x'.repeat(43));
    const refused = await getRedirect(client, callbackPath(forged));
    expect(refused.status).toBe(303);
    expect(refused.location!.pathname).toBe('/signin');
    expect(landingError(refused.location!)).toBe('OIDC_STATE_INVALID');
    expect(landingError((await getRedirect(client, callbackPath(callback))).location!)).toBe('OIDC_STATE_INVALID');
    // An answer sent to a browser that never started a sign-in (login CSRF) is refused the same way.
    const other = await authorizeAt(node.client(), provider.browser(), 'sub-alice');
    expect(landingError((await getRedirect(node.client(), callbackPath(other))).location!)).toBe('OIDC_STATE_INVALID');
    expect((await client.get<SessionResponse>('/api/session')).body).toEqual({ signedIn: false });
    expect(await lastAudit(node, 'auth.oidc_failed')).toMatchObject({ outcome: 'failure', details: { reason: 'no_sign_in_started' } });
  });

  it('refuses a replayed code: the flow is used up, and the provider will not exchange a code twice', async () => {
    const client = node.client();
    const browser = provider.browser();
    const callback = await authorizeAt(client, browser, 'sub-alice');
    expect(landingError((await getRedirect(client, callbackPath(callback))).location!)).toBeNull();
    // The same answer again: this browser's flow was taken out of its session by the first.
    expect(landingError((await getRedirect(client, callbackPath(callback))).location!)).toBe('OIDC_STATE_INVALID');
    // The old code under a new flow's state: the provider refuses the code itself.
    const fresh = await authorizeAt(client, browser, 'sub-alice');
    const replay = new URL(fresh);
    replay.searchParams.set('code', callback.searchParams.get('code')!);
    expect(landingError((await getRedirect(client, callbackPath(replay))).location!)).toBe('OIDC_PROVIDER_ERROR');
    expect((await client.get<SessionResponse>('/api/session')).body).toEqual({ signedIn: false });
  });

  it('shows a provider error (the person cancelled) as a code, not a 500', async () => {
    const client = node.client();
    const start = await getRedirect(client, '/api/auth/oidc/start');
    const state = start.location!.searchParams.get('state')!;
    const answer = await getRedirect(client, `/api/auth/oidc/callback?error=access_denied&state=${state}&iss=${encodeURIComponent(provider.issuer)}`);
    expect(answer.status).toBe(303);
    expect(landingError(answer.location!)).toBe('OIDC_PROVIDER_ERROR');
  });

  describe('ID tokens the provider would never send, signed with its own key', () => {
    let configuration: openid.Configuration;
    beforeAll(async () => {
      configuration = await node.deps.oidc!.configuration();
    });
    afterEach(() => {
      // A setter on openid-client's Configuration: undefined puts its own fetch back.
      (configuration as unknown as Record<symbol, unknown>)[openid.customFetch] = undefined;
    });

    /** The token endpoint's answer passes through `tamper` (re-signed with the provider's key, or `foreignKey`'s). */
    function tamperIdToken(tamper: (claims: Record<string, unknown>) => Record<string, unknown>, foreignKey = false) {
      const tokenEndpoint = configuration.serverMetadata().token_endpoint;
      (configuration as unknown as Record<symbol, unknown>)[openid.customFetch] = async (url: string, options: RequestInit) => {
        const response = await fetch(url, options);
        if (url !== tokenEndpoint || response.status !== 200) return response;
        const body = (await response.json()) as { id_token: string };
        body.id_token = await provider.sign(tamper(decodeJwt(body.id_token)), { foreignKey });
        return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
      };
    }

    async function refusedWith(): Promise<string | null> {
      const { client, landing } = await companySignIn(node, provider, 'sub-tamper');
      expect((await client.get<SessionResponse>('/api/session')).body).toEqual({ signedIn: false });
      return landingError(landing);
    }

    it('accepts the untouched token (the tampering itself changes nothing)', async () => {
      tamperIdToken((claims) => claims);
      expect(await refusedWith()).toBeNull();
    });

    it('refuses a wrong nonce', async () => {
      tamperIdToken((claims) => ({ ...claims, nonce: 'not-the-nonce-this-browser-was-given' }));
      expect(await refusedWith()).toBe('OIDC_TOKEN_INVALID');
    });

    it('refuses a wrong issuer', async () => {
      tamperIdToken((claims) => ({ ...claims, iss: 'https://impostor.example' }));
      expect(await refusedWith()).toBe('OIDC_TOKEN_INVALID');
    });

    it('refuses a token for another client (aud)', async () => {
      tamperIdToken((claims) => ({ ...claims, aud: 'another-client', azp: 'another-client' }));
      expect(await refusedWith()).toBe('OIDC_TOKEN_INVALID');
    });

    it('refuses an expired token', async () => {
      const now = Math.floor(Date.now() / 1000);
      tamperIdToken((claims) => ({ ...claims, iat: now - 3600, exp: now - 600 }));
      expect(await refusedWith()).toBe('OIDC_TOKEN_INVALID');
    });

    it('refuses a token signed by a key the provider never published', async () => {
      tamperIdToken((claims) => claims, true);
      expect(await refusedWith()).toBe('OIDC_TOKEN_INVALID');
    });
  });

  it('maps groups to roles at every sign-in; a change is audited and ends grants and sessions as an admin change does', async () => {
    // bob is in argus-admins, dana in argus-auditors.
    const bob = await firstSignIn('sub-bob', 'bob');
    expect((await userRow(node, 'bob'))!.role).toBe('admin');
    // No admin could approve bob's promotion (the first admin): it went through at once, saying why.
    expect(await lastAudit(node, 'user.admin_created')).toMatchObject({ details: { username: 'bob', source: 'company_sign_in', twoPersonRule: 'not_applicable_single_admin' } });
    await firstSignIn('sub-dana', 'dana');
    expect((await userRow(node, 'dana'))!.role).toBe('auditor');
    // carol is the other admin, so bob is not the last one: bob approves her promotion (threat model G20).
    await firstSignIn('sub-carol', 'carol');
    expect((await userRow(node, 'carol'))!.role).toBe('user');
    const carolsPromotion = (await lastAudit(node, 'pending_change.requested'))!.details.pendingChangeId as string;
    await stepUpWith(bob, keys.get('bob')!);
    expect((await bob.post(`/api/admin/pending-changes/${carolsPromotion}/approve`)).status).toBe(200);
    expect((await userRow(node, 'carol'))!.role).toBe('admin');

    // bob holds a grant; then the provider takes him out of the admins.
    expect((await unlock(bob, keys.get('bob')!)).status).toBe(200);
    provider.users.set('sub-bob', { preferred_username: 'bob', groups: ['staff'] });
    const { client } = await companySignIn(node, provider, 'sub-bob');
    expect((await userRow(node, 'bob'))!.role).toBe('user');
    expect(await lastAudit(node, 'user.role_changed')).toMatchObject({ details: { username: 'bob', before: 'admin', after: 'user', source: 'company_groups' } });
    expect(await lastAudit(node, 'grant.revoked')).toMatchObject({ details: expect.objectContaining({ reason: 'admin_revoked' }) });
    // His earlier session ended; the new sign-in still needs his key, and goes on as a user.
    expect((await bob.get('/api/models')).status).toBe(401);
    expect((await touchKey(client, keys.get('bob')!)).body).toMatchObject({ next: 'done', user: { role: 'user' } });
  });

  it('never demotes the last active admin through groups: the role stays, and the refusal is audited', async () => {
    // bob is a user now; make carol the only admin, then take her out of the admins at the provider.
    await query(node.ownerPool(), 't', "UPDATE app_user SET role = 'user' WHERE role = 'admin' AND lower(username) <> 'carol'");
    provider.users.set('sub-carol', { preferred_username: 'carol', groups: [] });
    const { landing } = await companySignIn(node, provider, 'sub-carol');
    expect(landingError(landing)).toBeNull();
    expect((await userRow(node, 'carol'))!.role).toBe('admin');
    expect(await lastAudit(node, 'user.role_change_refused')).toMatchObject({ severity: 'high', details: { username: 'carol', wanted: 'user', reason: 'last_admin' } });
  });

  it('refuses a username that is missing, or taken by an account the provider never linked', async () => {
    expect(landingError((await companySignIn(node, provider, 'sub-noname')).landing)).toBe('OIDC_USERNAME_INVALID');
    await createEnrollee(node, { username: 'existing-person' });
    expect(landingError((await companySignIn(node, provider, 'sub-taken')).landing)).toBe('OIDC_USERNAME_TAKEN');
    expect(await lastAudit(node, 'auth.oidc_failed')).toMatchObject({ details: { reason: 'username_taken', username: 'existing-person' } });
    // The existing account was not linked to the stranger's identity.
    const { rows } = await query(node.deps.pool, 't', "SELECT 1 FROM user_identity WHERE subject = 'sub-taken'");
    expect(rows).toEqual([]);
  });

  it('refuses a disabled account, and a user whose keys were all deactivated gets no new one this way', async () => {
    const alice = (await userRow(node, 'alice'))!;
    await query(node.ownerPool(), 't', "UPDATE security_key SET status = 'deactivated' WHERE user_id = $1", [alice.id]);
    expect(landingError((await companySignIn(node, provider, 'sub-alice')).landing)).toBe('NO_ACTIVE_KEY');
    await query(node.ownerPool(), 't', "UPDATE security_key SET status = 'active' WHERE user_id = $1", [alice.id]);
    await query(node.ownerPool(), 't', "UPDATE app_user SET status = 'disabled' WHERE id = $1", [alice.id]);
    node.deps.rows.users.invalidate(alice.id);
    expect(landingError((await companySignIn(node, provider, 'sub-alice')).landing)).toBe('ACCOUNT_DISABLED');
    await query(node.ownerPool(), 't', "UPDATE app_user SET status = 'active' WHERE id = $1", [alice.id]);
  });

  it("puts a first key registered after company sign-in in the admins' live feed", async () => {
    const admin = await enrollSteppedUpAdmin(node, 'feed-admin');
    const feed = await TestSocket.open(node.url, { cookie: admin.client.cookie, origin: admin.client.origin });
    provider.users.set('sub-frank', { preferred_username: 'frank' });
    const { client } = await companySignIn(node, provider, 'sub-frank');
    await registerKeyAfterCompanySignIn(client, node.authenticator());
    const deadline = Date.now() + 3_000;
    let seen: { action: string; severity: string } | undefined;
    while (!seen && Date.now() < deadline) {
      seen = feed.events.flatMap((event) => (event.type === 'SECURITY_EVENT' ? [event.event] : [])).find((event) => event.action === 'key.first_key_registered');
      if (!seen) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(seen).toMatchObject({ action: 'key.first_key_registered', severity: 'high' });
    feed.close();
  });

  it('shows the admin list how each user signs in', async () => {
    const admin = await enrollSteppedUpAdmin(node, 'list-admin');
    const list = await admin.client.get<UserListResponse>('/api/admin/users?limit=100');
    const byName = (name: string) => list.body.users.find((u: AdminUserView) => u.username === name)!;
    expect(byName('alice').signIn).toEqual({ password: false, company: 'linked' });
    expect(byName('list-admin').signIn).toEqual({ password: true, company: 'none' });
  });
});

describe('company sign-in for existing accounts only (OIDC_PROVISIONING=existing, OIDC_FIRST_KEY=approval)', () => {
  let node: TestNode;
  let admin: Awaited<ReturnType<typeof enrollSteppedUpAdmin>>;
  beforeAll(async () => {
    node = await startTestNode(provider.env({ OIDC_PROVISIONING: 'existing', OIDC_FIRST_KEY: 'approval', SIGNIN_RATE_PER_MINUTE: '1000', ROUTE_RATE_LIMIT_FACTOR: '100' }));
    admin = await enrollSteppedUpAdmin(node, 'the-admin');
  });
  afterAll(() => node?.destroy());

  it('refuses someone with no linked account, and creates none', async () => {
    const { client, landing } = await companySignIn(node, provider, 'sub-nobody');
    expect(landingError(landing)).toBe('OIDC_NO_ACCOUNT');
    expect(await userRow(node, 'nobody-here')).toBeNull();
    expect(await stepOf(client)).toEqual({ step: 'none' });
  });

  it('never links an existing password account by its username alone; an admin allows it, once', async () => {
    const dave = await enrollUser(node, { username: 'dave' });
    expect(landingError((await companySignIn(node, provider, 'sub-dave')).landing)).toBe('OIDC_NO_ACCOUNT');

    // The admin allows it (a fresh step-up is needed, as for every admin change).
    expect((await admin.client.post(`/api/admin/users/${dave.userId}/company-sign-in`)).status).toBe(204);
    expect(await lastAudit(node, 'user.company_signin_allowed')).toMatchObject({ actorUsername: 'the-admin', details: { username: 'dave' } });
    const { client, landing } = await companySignIn(node, provider, 'sub-dave');
    expect(landingError(landing)).toBeNull();
    expect(await lastAudit(node, 'user.identity_linked')).toMatchObject({ details: { username: 'dave', subject: 'sub-dave', via: 'admin_allowance' } });
    // Linked now; the key step is still his own key.
    expect((await touchKey(client, dave.authenticator)).body).toMatchObject({ next: 'done', user: { username: 'dave' } });

    // The allowance was used up: another identity claiming the same username gets nothing.
    expect(landingError((await companySignIn(node, provider, 'sub-dave-impostor')).landing)).toBe('OIDC_NO_ACCOUNT');
    const users = await admin.client.get<UserListResponse>('/api/admin/users?q=dave');
    expect(users.body.users[0]!.signIn).toEqual({ password: true, company: 'linked' });

    // Removing company sign-in ends the sessions it vouched for.
    expect((await admin.client.request('DELETE', `/api/admin/users/${dave.userId}/company-sign-in`)).status).toBe(204);
    expect((await client.get('/api/models')).status).toBe(401);
    expect(landingError((await companySignIn(node, provider, 'sub-dave')).landing)).toBe('OIDC_NO_ACCOUNT');
    expect(await lastAudit(node, 'user.identity_unlinked')).toMatchObject({ details: { username: 'dave', identities: 1 } });
  });

  it('refuses an allowance older than OIDC_LINK_ALLOWANCE_HOURS with OIDC_LINK_EXPIRED, links nothing, and shows it as none; allowing again starts afresh', async () => {
    const gina = await enrollUser(node, { username: 'gina' });
    provider.users.set('sub-gina', { preferred_username: 'gina' });
    const allowed = Date.now();
    expect((await admin.client.post(`/api/admin/users/${gina.userId}/company-sign-in`)).status).toBe(204);
    // The admin is told (in the audit log) until when: the default is 72 hours.
    const expiresAt = Date.parse((await lastAudit(node, 'user.company_signin_allowed'))!.details.expiresAt as string);
    expect(Math.abs(expiresAt - (allowed + 72 * 3_600_000))).toBeLessThan(60_000);
    const companyOf = async () => (await admin.client.get<UserListResponse>('/api/admin/users?q=gina')).body.users[0]!.signIn.company;
    expect(await companyOf()).toBe('allowed');

    // A minute past its 72 hours: refused with its own code, audited, nothing linked, and the list no longer says allowed.
    await query(node.ownerPool(), 't', "UPDATE oidc_link_allowance SET allowed_at = now() - interval '72 hours 1 minute' WHERE user_id = $1", [gina.userId]);
    const expired = await companySignIn(node, provider, 'sub-gina');
    expect(landingError(expired.landing)).toBe('OIDC_LINK_EXPIRED');
    expect(await stepOf(expired.client)).toEqual({ step: 'none' });
    expect(await lastAudit(node, 'auth.oidc_failed')).toMatchObject({ outcome: 'denied', details: { reason: 'link_allowance_expired', subject: 'sub-gina', username: 'gina' } });
    const { rows } = await query(node.deps.pool, 't', 'SELECT 1 FROM user_identity WHERE user_id = $1', [gina.userId]);
    expect(rows).toEqual([]);
    expect(await companyOf()).toBe('none');
    // Refused again on the next try: an expired allowance is not used up by being refused.
    expect(landingError((await companySignIn(node, provider, 'sub-gina')).landing)).toBe('OIDC_LINK_EXPIRED');

    // Allowed again: a fresh 72 hours; a minute inside them, it links.
    expect((await admin.client.post(`/api/admin/users/${gina.userId}/company-sign-in`)).status).toBe(204);
    expect(await companyOf()).toBe('allowed');
    await query(node.ownerPool(), 't', "UPDATE oidc_link_allowance SET allowed_at = now() - interval '71 hours 59 minutes' WHERE user_id = $1", [gina.userId]);
    const linked = await companySignIn(node, provider, 'sub-gina');
    expect(landingError(linked.landing)).toBeNull();
    expect(await lastAudit(node, 'user.identity_linked')).toMatchObject({ details: { username: 'gina', subject: 'sub-gina', via: 'admin_allowance' } });
    expect(await companyOf()).toBe('linked');
  });

  it('keeps a first key registered after company sign-in inactive until an admin approves it with step-up', async () => {
    const { user: erin } = await createEnrollee(node, { username: 'erin_example.com' });
    await admin.client.post(`/api/admin/users/${erin.id}/company-sign-in`);
    const first = await companySignIn(node, provider, 'sub-erin');
    expect(await stepOf(first.client)).toMatchObject({ step: 'register_key', username: 'erin_example.com', firstKeyNeedsApproval: true });
    const key = node.authenticator();
    const registered = await registerKeyAfterCompanySignIn(first.client, key);
    expect(registered.body).toEqual({ next: 'awaiting_approval' });
    // Not signed in, and the key is stored waiting.
    expect((await first.client.get<SessionResponse>('/api/session')).body).toEqual({ signedIn: false });
    const { rows } = await query<{ id: string; status: string }>(node.deps.pool, 't', 'SELECT id, status FROM security_key WHERE user_id = $1', [erin.id]);
    expect(rows).toEqual([{ id: expect.any(String), status: 'pending_approval' }]);
    expect(await lastAudit(node, 'key.first_key_registered')).toMatchObject({ severity: 'high', details: { approval: 'required' } });

    // Until approved, the next company sign-in stops with a clear code, and registers nothing more.
    expect(landingError((await companySignIn(node, provider, 'sub-erin')).landing)).toBe('KEY_PENDING_APPROVAL');

    // The key step itself refuses the waiting key (reached here because erin has another, active key).
    const spare = await insertKeyRow(node, erin.id, 'spare');
    const pending = await companySignIn(node, provider, 'sub-erin');
    expect(errorCode(await touchKey(pending.client, key))).toBe('KEY_PENDING_APPROVAL');
    await query(node.ownerPool(), 't', 'DELETE FROM security_key WHERE id = $1', [spare]);

    // The admin approves it, with a fresh step-up.
    await stepUpWith(admin.client, admin.authenticator);
    const approved = await admin.client.post(`/api/admin/keys/${rows[0]!.id}/status`, { status: 'active' });
    expect(approved.body).toMatchObject({ key: { status: 'active' } });
    expect(await lastAudit(node, 'key.approved')).toMatchObject({ details: { before: 'pending_approval', after: 'active' } });
    const after = await companySignIn(node, provider, 'sub-erin');
    expect((await touchKey(after.client, key)).body).toMatchObject({ next: 'done', user: { username: 'erin_example.com' } });
  });

  it('starts without a reachable provider, says so at the button, and keeps passwords working', async () => {
    const down = await startTestNode({ ...provider.env(), OIDC_ISSUER: `http://127.0.0.1:${await freePort()}` });
    try {
      const start = await getRedirect(down.client(), '/api/auth/oidc/start');
      expect(start.status).toBe(303);
      expect(landingError(start.location!)).toBe('OIDC_UNAVAILABLE');
      const person = await enrollUser(down, { username: 'still-works' });
      expect((await person.client.get<SessionResponse>('/api/session')).body).toMatchObject({ signedIn: true });
    } finally {
      await down.destroy();
    }
  });

  it('answers OIDC_NOT_CONFIGURED where company sign-in is off', async () => {
    const plain = await startTestNode();
    try {
      const start = await plain.client().get('/api/auth/oidc/start');
      expect(start.status).toBe(404);
      expect(errorCode(start)).toBe('OIDC_NOT_CONFIGURED');
      expect((await plain.client().get('/api/auth/methods')).body).toMatchObject({ company: null });
    } finally {
      await plain.destroy();
    }
  });
});
