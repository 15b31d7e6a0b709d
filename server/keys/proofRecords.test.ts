/**
 * What the audit log records so a grant can be proven offline (issue #25, docs/presence-proofs.md):
 * every registration's credential, every accepted assertion as the browser sent it with what
 * Argus expected, the grant it made, the grant every restricted use and grant end names, and
 * the owner history of every credential. Each assertion is re-verified here with node:crypto
 * alone, from the COSE key its registration event holds: the recorded bytes are the signed ones.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrantResponse } from '../../shared/api.ts';
import type { AssertionRecord, AuditEventView, CredentialRecord } from '../../shared/audit.ts';
import { searchAuditEvents } from '../db/audit.ts';
import { query } from '../db/pool.ts';
import {
  createEnrollee,
  enrollSteppedUpAdmin,
  enrollUser,
  lastAudit,
  stepUpWith,
  startTestNode,
  TEST_ORIGIN,
  type TestClient,
  type TestNode,
} from '../test/harness.ts';
import type { SoftAuthenticator } from '../test/softAuthenticator.ts';

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
});
afterAll(() => node.destroy());

const RP_ID = new URL(TEST_ORIGIN).hostname;

let counter = 0;
const nextName = () => `prover${(counter += 1)}`;

type Options = { options: { challenge: string } };
type AssertionJson = { id: string; response: { clientDataJSON: string; authenticatorData: string; signature: string } };

/** The newest event with this action whose details match `where` (details->>key = value). */
async function eventWhere(action: string, key: string, value: string): Promise<AuditEventView> {
  const { rows } = await query<{ seq: string }>(
    node.deps.pool,
    't',
    'SELECT seq FROM audit_event WHERE action = $1 AND details #>> $2::text[] = $3 ORDER BY seq DESC LIMIT 1',
    [action, key.split('.'), value],
  );
  expect(rows, `${action} with ${key} = ${value}`).toHaveLength(1);
  const [event] = await searchAuditEvents(node.deps.pool, { action, fromSeq: Number(rows[0]!.seq), toSeq: Number(rows[0]!.seq) }, { limit: 1 });
  return event!;
}

/** The registration event of a credential, as a verifier finds it: by details.credential.id. */
const registrationOf = (credentialId: string) => eventWhere('key.registered', 'credential.id', credentialId);

/**
 * Verifies a recorded ES256 assertion with node:crypto only, from a recorded COSE key: the
 * signature is over authenticatorData || SHA-256(clientDataJSON) (WebAuthn §6.3.3, step 11).
 */
function signatureVerifies(assertion: AssertionRecord, credential: CredentialRecord): boolean {
  const cose = isoCBOR.decodeFirst<Map<number, unknown>>(new Uint8Array(Buffer.from(credential.publicKey, 'base64url')));
  expect(cose.get(3)).toBe(-7);
  const key = createPublicKey({
    format: 'jwk',
    key: { kty: 'EC', crv: 'P-256', x: Buffer.from(cose.get(-2) as Uint8Array).toString('base64url'), y: Buffer.from(cose.get(-3) as Uint8Array).toString('base64url') },
  });
  const clientDataHash = createHash('sha256').update(Buffer.from(assertion.clientDataJSON, 'base64url')).digest();
  const signed = Buffer.concat([Buffer.from(assertion.authenticatorData, 'base64url'), clientDataHash]);
  return verify('sha256', signed, { key, dsaEncoding: 'der' }, Buffer.from(assertion.signature, 'base64url'));
}

/** The assertion object an event must record for `response`, answering `challenge`, for `userId`. */
function expectedAssertion(response: AssertionJson, challenge: string, userId: string, requireUserVerification: boolean): AssertionRecord {
  return {
    credentialId: response.id,
    clientDataJSON: response.response.clientDataJSON,
    authenticatorData: response.response.authenticatorData,
    signature: response.response.signature,
    userHandle: null,
    challenge,
    origin: TEST_ORIGIN,
    rpId: RP_ID,
    userId,
    requireUserVerification,
  };
}

/** Checks an event's assertion is exactly the response sent, and that it verifies with the registered key. */
async function expectProvenAssertion(event: AuditEventView | undefined, response: AssertionJson, challenge: string, userId: string, requireUserVerification: boolean) {
  const assertion = event?.details.assertion as AssertionRecord;
  expect(assertion).toEqual(expectedAssertion(response, challenge, userId, requireUserVerification));
  // The challenge Argus issued is the one the key signed over.
  expect(JSON.parse(Buffer.from(assertion.clientDataJSON, 'base64url').toString('utf8'))).toMatchObject({ type: 'webauthn.get', challenge });
  const registration = await registrationOf(assertion.credentialId);
  expect(signatureVerifies(assertion, registration.details.credential as CredentialRecord)).toBe(true);
  // And it is the signature that would fail with any other bytes.
  const flipped = { ...assertion, authenticatorData: Buffer.from(Buffer.from(assertion.authenticatorData, 'base64url').map((b, i) => (i === 33 ? b ^ 1 : b))).toString('base64url') };
  expect(signatureVerifies(flipped, registration.details.credential as CredentialRecord)).toBe(false);
}

async function unlock(client: TestClient, authenticator: SoftAuthenticator) {
  const { options } = (await client.post<Options>('/api/verify-key-ownership/options')).body;
  const response = authenticator.assert(options) as unknown as AssertionJson;
  const answer = await client.post<GrantResponse>('/api/verify-key-ownership', { response, presenceMode: 'assertion' });
  expect(answer.status).toBe(200);
  return { challenge: options.challenge, response, grant: answer.body.grant! };
}

describe('registration events record the credential a proof verifies with', () => {
  it('keeps the COSE public key exactly as the authenticator returned it, its algorithm, AAGUID, attestation hash and owner', async () => {
    const username = nextName();
    const { user, token } = await createEnrollee(node, { username });
    const client = node.client();
    const authenticator = node.authenticator({ aaguid: 'cb69481e-8ff7-4039-93ec-0a2729a154a8' });
    expect((await client.post(`/api/enrollment/${token}/password`, { password: 'a lantern in the fog' })).status).toBeLessThan(300);
    const { options } = (await client.post<Options>(`/api/enrollment/${token}/key/options`)).body;
    const response = authenticator.register(options) as { id: string; response: { attestationObject: string } };
    expect((await client.post(`/api/enrollment/${token}/key`, { response })).status).toBeLessThan(300);

    const registered = await registrationOf(response.id);
    expect(registered.details.credential).toEqual({
      id: response.id,
      publicKey: Buffer.from(authenticator.credentials[0]!.publicKeyCose).toString('base64url'),
      alg: -7,
      aaguid: 'cb69481e-8ff7-4039-93ec-0a2729a154a8',
      attestationObjectSha256: createHash('sha256').update(Buffer.from(response.response.attestationObject, 'base64url')).digest('hex'),
      userId: user.id,
    });
  });

  it('records no credential for a registration Argus refused', async () => {
    const { token } = await createEnrollee(node, { username: nextName() });
    const client = node.client();
    const authenticator = node.authenticator();
    await client.post(`/api/enrollment/${token}/password`, { password: 'a lantern in the fog' });
    const { options } = (await client.post<Options>(`/api/enrollment/${token}/key/options`)).body;
    const refused = await client.post(`/api/enrollment/${token}/key`, { response: authenticator.register(options, { origin: 'https://evil.example' }) });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect((await lastAudit(node, 'webauthn.registration_failed'))?.details).not.toHaveProperty('credential');
  });
});

describe('every accepted assertion is recorded as the browser sent it, with what Argus expected', () => {
  it('a sign-in: the auth.signin event holds the assertion, over the challenge /api/auth/key/options issued', async () => {
    const person = await enrollUser(node, { username: nextName() });
    const client = node.client();
    await client.post('/api/auth/signin', { username: `prover${counter}`, password: person.password });
    const { options } = (await client.post<Options>('/api/auth/key/options')).body;
    const response = person.authenticator.assert(options) as unknown as AssertionJson;
    expect((await client.post('/api/auth/key', { response })).status).toBe(200);

    const signin = await lastAudit(node, 'auth.signin');
    expect(signin?.targetId).toBe(person.userId);
    await expectProvenAssertion(signin, response, options.challenge, person.userId, node.deps.config.webauthn.userVerification === 'required');
  });

  it('a step-up: the auth.step_up event holds the assertion, over the challenge /api/account/step-up/options issued', async () => {
    const person = await enrollUser(node, { username: nextName() });
    const { options } = (await person.client.post<Options>('/api/account/step-up/options')).body;
    const response = person.authenticator.assert(options) as unknown as AssertionJson;
    expect((await person.client.post('/api/account/step-up', { response })).status).toBe(200);
    await expectProvenAssertion(await lastAudit(node, 'auth.step_up'), response, options.challenge, person.userId, node.deps.config.webauthn.userVerification === 'required');
  });

  it('an unlock: grant.issued holds the assertion and the grant it made; restricted uses and the grant end name the grant', async () => {
    const person = await enrollUser(node, { username: nextName() });
    const { challenge, response, grant } = await unlock(person.client, person.authenticator);

    const issued = await lastAudit(node, 'grant.issued');
    expect(issued?.targetId).toBe(grant.id);
    await expectProvenAssertion(issued, response, challenge, person.userId, false);
    expect(issued?.details.grant).toEqual({ id: grant.id, models: grant.models, issuedAt: grant.issuedAt, expiresAt: grant.expiresAt, presenceMode: 'assertion' });

    const chat = await fetch(`${person.client.baseUrl}/api/chat/stream`, {
      method: 'POST',
      headers: { origin: person.client.origin, 'content-type': 'application/json', cookie: person.client.cookie! },
      body: JSON.stringify({ model: 'demo-restricted', messages: [{ role: 'user', content: 'hello' }] }),
    });
    expect(chat.status).toBe(200);
    await chat.text();
    expect(await lastAudit(node, 'model.access')).toMatchObject({ model: 'demo-restricted', targetId: grant.id, details: { grantId: grant.id } });

    expect((await person.client.request('DELETE', '/api/grants/current', { reason: 'locked_by_user' })).status).toBe(204);
    expect(await lastAudit(node, 'grant.revoked')).toMatchObject({ targetId: grant.id, details: { grantId: grant.id, reason: 'locked_by_user' } });
  });

  it('a renewal: grant.renewed holds its own assertion, the new grant, its expiry and what renewed it', async () => {
    const person = await enrollUser(node, { username: nextName() });
    const first = await unlock(person.client, person.authenticator);
    const second = await unlock(person.client, person.authenticator);
    expect(second.challenge).not.toBe(first.challenge);

    const renewed = await lastAudit(node, 'grant.renewed');
    expect(renewed?.details).toMatchObject({ grantId: second.grant.id, expiresAt: second.grant.expiresAt, renewedBy: 'assertion', replaces: first.grant.id });
    expect(renewed?.details.grant).toMatchObject({ id: second.grant.id, expiresAt: second.grant.expiresAt });
    await expectProvenAssertion(renewed, second.response, second.challenge, person.userId, false);
  });

  it('a grant that runs out: grant.expired names it', async () => {
    const person = await enrollUser(node, { username: nextName() });
    const { grant } = await unlock(person.client, person.authenticator);
    await node.deps.grants.sweep(Date.parse(grant.expiresAt) + 1);
    expect(await lastAudit(node, 'grant.expired')).toMatchObject({ targetId: grant.id, details: { grantId: grant.id, reason: 'expired' } });
  });

  it('records that user verification was required when the grant covers a model that requires it', async () => {
    await query(node.deps.pool, 't', "UPDATE model SET requires_user_verification = true WHERE id = 'demo-restricted'");
    try {
      const person = await enrollUser(node, { username: nextName() });
      const { challenge, response } = await unlock(person.client, person.authenticator);
      await expectProvenAssertion(await lastAudit(node, 'grant.issued'), response, challenge, person.userId, true);
    } finally {
      await query(node.deps.pool, 't', "UPDATE model SET requires_user_verification = false WHERE id = 'demo-restricted'");
    }
  });

  it('records nothing of an assertion Argus refused', async () => {
    const person = await enrollUser(node, { username: nextName() });
    const { options } = (await person.client.post<Options>('/api/verify-key-ownership/options')).body;
    const refused = await person.client.post('/api/verify-key-ownership', { response: person.authenticator.assert(options, { badSignature: true }), presenceMode: 'assertion' });
    expect(refused.status).toBe(400);
    const failed = await lastAudit(node, 'webauthn.assertion_failed');
    expect(failed?.details).toMatchObject({ ceremony: 'ownership' });
    expect(failed?.details).not.toHaveProperty('assertion');
  });
});

describe("a credential's owner history", () => {
  it('is complete: reassignment names both owners, deletion the last one, by credential id', async () => {
    const admin = await enrollSteppedUpAdmin(node, nextName());
    const from = await enrollUser(node, { username: nextName() });
    const to = await enrollUser(node, { username: nextName() });
    const credentialId = from.authenticator.credentials[0]!.id.toString('base64url');

    expect((await admin.client.post(`/api/admin/keys/${from.keyId}/reassign`, { userId: to.userId })).status).toBe(200);
    expect((await lastAudit(node, 'key.reassigned'))?.details.credential).toEqual({ id: credentialId, fromUserId: from.userId, toUserId: to.userId });

    expect((await admin.client.request('DELETE', `/api/admin/keys/${from.keyId}`)).status).toBe(204);
    expect((await lastAudit(node, 'key.deleted'))?.details.credential).toEqual({ id: credentialId, userId: to.userId });
  });

  it("names each credential a user's deletion takes with it", async () => {
    const admin = await enrollSteppedUpAdmin(node, nextName());
    const leaving = await enrollUser(node, { username: nextName() });
    const credentialId = leaving.authenticator.credentials[0]!.id.toString('base64url');
    expect((await admin.client.request('DELETE', `/api/admin/users/${leaving.userId}`)).status).toBe(204);
    expect((await lastAudit(node, 'user.deleted'))?.details.keysDeleted).toEqual([expect.objectContaining({ id: leaving.keyId, credential: { id: credentialId, userId: leaving.userId } })]);
  });

  it("names the credential a user removes from their own keys", async () => {
    const person = await enrollUser(node, { username: nextName() });
    const second = node.authenticator();
    await stepUpWith(person.client, person.authenticator);
    const { options } = (await person.client.post<Options>('/api/account/keys/options')).body;
    const added = await person.client.post<{ key: { id: string } }>('/api/account/keys', { response: second.register(options), nickname: 'spare' });
    expect(added.status).toBe(201);
    expect((await person.client.request('DELETE', `/api/account/keys/${added.body.key.id}`)).status).toBe(204);
    expect((await lastAudit(node, 'key.removed'))?.details.credential).toEqual({ id: second.credentials[0]!.id.toString('base64url'), userId: person.userId });
  });
});
