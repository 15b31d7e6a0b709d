/**
 * OpenID Connect Back-Channel Logout 1.0 (issue #20) against a real provider: signing out at
 * the provider ends the Argus sessions of that provider session — with their grants and
 * sockets — on every node; a token is used once; a token that does not validate is refused
 * with a stable code.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrantResponse, SessionResponse } from '../../shared/api.ts';
import { query } from '../db/pool.ts';
import { companySignIn, registerKeyAfterCompanySignIn, touchKey } from '../test/companySignIn.ts';
import { lastAudit, startSiblingNode, startTestNode, type TestClient, type TestNode } from '../test/harness.ts';
import { startTestProvider, TEST_CLIENT_ID, type ProviderBrowser, type TestProvider } from '../test/oidcProvider.ts';
import type { SoftAuthenticator } from '../test/softAuthenticator.ts';
import { TestSocket } from '../test/wsClient.ts';
import { BACKCHANNEL_LOGOUT_EVENT } from './relyingParty.ts';

let provider: TestProvider;
let nodeA: TestNode;
let nodeB: TestNode;
let key: SoftAuthenticator;

beforeAll(async () => {
  provider = await startTestProvider({ users: { 'sub-greta': { preferred_username: 'greta' } } });
  const env = provider.env({ OIDC_PROVISIONING: 'jit', OIDC_FIRST_KEY: 'self', SIGNIN_RATE_PER_MINUTE: '1000', ROUTE_RATE_LIMIT_FACTOR: '100' });
  nodeA = await startTestNode(env);
  nodeB = await startSiblingNode(nodeA, env);
  provider.forwardLogoutTo(nodeA.url);
  // greta's first company sign-in registers her key.
  const first = await companySignIn(nodeA, provider, 'sub-greta');
  key = nodeA.authenticator();
  expect((await registerKeyAfterCompanySignIn(first.client, key)).body).toMatchObject({ next: 'done' });
});
afterAll(async () => {
  await nodeB?.destroy();
  await nodeA?.destroy();
  await provider?.close();
});

/** A full company sign-in of greta on `node`, in `browser`'s provider session. */
async function gretaOn(node: TestNode, browser: ProviderBrowser): Promise<TestClient> {
  const { client } = await companySignIn(node, provider, 'sub-greta', { browser });
  expect((await touchKey(client, key)).body).toMatchObject({ next: 'done' });
  return client;
}

async function unlock(client: TestClient): Promise<string> {
  const options = await client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options');
  const grant = await client.post<GrantResponse>('/api/verify-key-ownership', { response: key.assert(options.body.options), presenceMode: 'assertion' });
  expect(grant.status).toBe(200);
  return grant.body.grant!.id;
}

async function signedIn(client: TestClient): Promise<boolean> {
  return (await client.get<SessionResponse>('/api/session')).body.signedIn;
}

/** POSTs a logout token as a provider would: form-encoded, no cookie, no Origin. */
function postLogoutToken(node: TestNode, token: string, contentType = 'application/x-www-form-urlencoded') {
  return fetch(`${node.url}/api/auth/oidc/backchannel-logout`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: contentType.includes('json') ? JSON.stringify({ logout_token: token }) : new URLSearchParams({ logout_token: token }),
  });
}

async function codeOf(response: Response): Promise<string | undefined> {
  return ((await response.json()) as { error?: { code?: string } }).error?.code;
}

/** A logout token signed with the provider's own key; `claims` override the valid ones. */
function logoutToken(claims: Record<string, unknown> = {}, options: { foreignKey?: boolean } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return provider.sign(
    { iss: provider.issuer, aud: TEST_CLIENT_ID, iat: now, exp: now + 120, jti: randomUUID(), sub: 'sub-greta', events: { [BACKCHANNEL_LOGOUT_EVENT]: {} }, ...claims },
    { ...options, typ: 'logout+jwt' },
  );
}

describe('back-channel logout from the provider', () => {
  it("ends the sessions of that provider session, their grants and their sockets, on every node; others stay", async () => {
    const laptop = provider.browser();
    const phone = provider.browser();
    // Two Argus sessions from the laptop's provider session (on both nodes), one from the phone's.
    const onA = await gretaOn(nodeA, laptop);
    const alsoLaptopOnB = (await gretaOn(nodeB, laptop));
    const phoneOnB = await gretaOn(nodeB, phone);
    await unlock(onA);
    const grantPhone = await unlock(phoneOnB);
    const socketB = await TestSocket.open(nodeB.url, { cookie: alsoLaptopOnB.cookie, origin: alsoLaptopOnB.origin });
    const phoneSocketB = await TestSocket.open(nodeB.url, { cookie: phoneOnB.cookie, origin: phoneOnB.origin });

    // Signing out at the provider: it POSTs a logout token (sub and sid) to node A.
    await laptop.signOutAtProvider();
    expect(provider.logoutDeliveries.at(-1)?.status).toBe(200);
    expect(await signedIn(onA)).toBe(false);
    expect(await signedIn(alsoLaptopOnB)).toBe(false);
    // The node that did not receive the token closed the ended session's socket.
    expect(await socketB.next('SESSION_ENDED')).toEqual({ type: 'SESSION_ENDED' });
    const revoked = await query<{ details: { grantId?: string; reason?: string } }>(
      nodeA.deps.pool,
      't',
      "SELECT details FROM audit_event WHERE action = 'grant.revoked' ORDER BY seq DESC LIMIT 5",
    );
    expect(revoked.rows.map((row) => row.details)).toContainEqual(expect.objectContaining({ reason: 'signed_out' }));
    // The phone's provider session was not signed out: its Argus session and grant stay.
    expect(await signedIn(phoneOnB)).toBe(true);
    expect(phoneSocketB.closed).toBeNull();
    expect(await lastAudit(nodeA, 'auth.backchannel_logout')).toMatchObject({ details: { username: 'greta', subject: 'sub-greta', sessionsEnded: 2 } });

    // Now the phone: ended although its session lives on node B and the token went to node A.
    await phone.signOutAtProvider();
    expect(await signedIn(phoneOnB)).toBe(false);
    expect(await phoneSocketB.next('GRANT_REVOKED')).toMatchObject({ grantId: grantPhone, reason: 'signed_out' });
    expect(await phoneSocketB.next('SESSION_ENDED')).toEqual({ type: 'SESSION_ENDED' });
    socketB.socket.terminate();
    phoneSocketB.socket.terminate();
  });

  it('refuses a replayed logout token, on any node, with a stable code', async () => {
    const browser = provider.browser();
    const client = await gretaOn(nodeA, browser);
    await browser.signOutAtProvider();
    expect(await signedIn(client)).toBe(false);
    const delivered = provider.logoutDeliveries.at(-1)!;
    expect(delivered.status).toBe(200);
    // The same token again, to the other node (jti is remembered in Redis, for every node).
    const again = await gretaOn(nodeB, provider.browser());
    const replay = await postLogoutToken(nodeB, delivered.token);
    expect(replay.status).toBe(400);
    expect(await codeOf(replay)).toBe('LOGOUT_TOKEN_REPLAYED');
    expect(await signedIn(again)).toBe(true);
    expect(await lastAudit(nodeA, 'auth.backchannel_logout_refused')).toMatchObject({ details: { reason: 'replayed', subject: 'sub-greta' } });
  });

  it('ends every session of the user for a token that names no provider session (sub only)', async () => {
    const one = await gretaOn(nodeA, provider.browser());
    const two = await gretaOn(nodeB, provider.browser());
    const accepted = await postLogoutToken(nodeB, await logoutToken());
    expect(accepted.status).toBe(200);
    expect(accepted.headers.get('cache-control')).toBe('no-store');
    expect(await signedIn(one)).toBe(false);
    expect(await signedIn(two)).toBe(false);
  });

  it.each([
    ['signed by a key the provider never published', () => logoutToken({}, { foreignKey: true })],
    ['for another client', () => logoutToken({ aud: 'another-client' })],
    ['from another issuer', () => logoutToken({ iss: 'https://impostor.example' })],
    ['issued too long ago', () => logoutToken({ iat: Math.floor(Date.now() / 1000) - 3600, exp: undefined })],
    ['expired', () => logoutToken({ exp: Math.floor(Date.now() / 1000) - 600 })],
    ['without the back-channel logout event', () => logoutToken({ events: { 'http://example.com/other-event': {} } })],
    ['carrying a nonce (an ID token, not a logout token)', () => logoutToken({ nonce: 'abc' })],
    ['without a jti', () => logoutToken({ jti: undefined })],
    ['naming only a provider session (Argus finds accounts by sub)', () => logoutToken({ sub: undefined, sid: 'some-session' })],
  ])('refuses a token %s, and ends nothing', async (_what, make) => {
    const client = await gretaOn(nodeA, provider.browser());
    const refused = await postLogoutToken(nodeA, await make());
    expect(refused.status).toBe(400);
    expect(await codeOf(refused)).toBe('LOGOUT_TOKEN_INVALID');
    expect(await signedIn(client)).toBe(true);
  });

  it('answers malformed requests with a stable code, never a CSRF refusal or a 500', async () => {
    expect((await postLogoutToken(nodeA, 'not-a-jwt')).status).toBe(400);
    const json = await postLogoutToken(nodeA, await logoutToken(), 'application/json');
    expect(json.status).toBe(400);
    expect(await codeOf(json)).toBe('LOGOUT_TOKEN_INVALID');
    const empty = await fetch(`${nodeA.url}/api/auth/oidc/backchannel-logout`, { method: 'POST' });
    expect(await codeOf(empty)).toBe('LOGOUT_TOKEN_INVALID');
  });
});
