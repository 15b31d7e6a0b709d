/**
 * The proof of one grant from its event and its credential's registration (what the server's
 * proof route and the export manifest use), and the COSE keys it reads.
 */
import { generateKeyPairSync } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { describe, expect, it } from 'vitest';
import type { AuditEventView } from '../../../shared/audit.ts';
import { COSE_ALG, coseToPublicKey, decodeCoseKey } from './cose.ts';
import { isRestrictedUse } from './presenceVerifier.ts';
import { base64urlBytes } from './recordedFields.ts';
import { MemorySink, newUser, PresenceLog, type TestKey } from './testing/presenceLog.ts';
import { verifyGrantEvent } from './verifyGrant.ts';

const alice = newUser('alice');
const bob = newUser('bob');
const admin = newUser('root');

async function setUp(alg: -7 | -8 | -257 = COSE_ALG.ES256): Promise<{ log: PresenceLog; key: TestKey; registration: AuditEventView }> {
  const log = new PresenceLog(new MemorySink());
  const { key, event } = await log.registerKey(alice, { alg });
  return { log, key, registration: event };
}

describe('verifyGrantEvent', () => {
  it.each([
    ['ES256', COSE_ALG.ES256],
    ['EdDSA', COSE_ALG.EdDSA],
    ['RS256', COSE_ALG.RS256],
  ] as const)('proves a genuine %s grant and names the credential', async (_name, alg) => {
    const { log, key, registration } = await setUp(alg);
    const { event } = await log.grant(alice, key);
    expect(verifyGrantEvent({ grant: event, registration })).toEqual({ verified: true, credentialId: key.credentialId });
  });

  it.each([
    ['signature_invalid', { tamper: { badSignature: true } }],
    ['origin_mismatch', { tamper: { origin: 'https://evil.example' } }],
    ['rp_id_mismatch', { tamper: { rpId: 'evil.example' } }],
    ['user_not_present', { tamper: { userPresent: false } }],
    ['uv_required', { requireUserVerification: true, tamper: { userVerified: false } }],
    ['type_mismatch', { tamper: { type: 'webauthn.create' } }],
    ['challenge_mismatch', { tamper: { challenge: 'c29tZXRoaW5nIGVsc2U' } }],
    ['user_mismatch', { actor: bob }],
  ] as const)('refuses a grant with %s', async (reason, options) => {
    const { log, key, registration } = await setUp();
    const { event } = await log.grant(alice, key, options);
    expect(verifyGrantEvent({ grant: event, registration })).toEqual({ verified: false, reason });
  });

  it("refuses another user's key (wrong_owner) and a missing or other registration (unknown_credential)", async () => {
    const { log, key, registration } = await setUp();
    const { event: bobsRegistration, key: bobsKey } = await log.registerKey(bob);
    const { event: signedByBob } = await log.grant(alice, bobsKey);
    expect(verifyGrantEvent({ grant: signedByBob, registration: bobsRegistration })).toEqual({ verified: false, reason: 'wrong_owner' });
    const { event } = await log.grant(alice, key);
    expect(verifyGrantEvent({ grant: event, registration: null })).toEqual({ verified: false, reason: 'unknown_credential' });
    expect(verifyGrantEvent({ grant: event, registration: bobsRegistration })).toEqual({ verified: false, reason: 'unknown_credential' });
  });

  it('follows the owner history it is given: a reassigned key proves its new owner’s grant, a deleted one nothing', async () => {
    const { log, key, registration } = await setUp();
    const moved = await log.reassign(key, alice, bob, admin);
    const { event: bobsGrant } = await log.grant(bob, key);
    expect(verifyGrantEvent({ grant: bobsGrant, registration })).toEqual({ verified: false, reason: 'wrong_owner' });
    expect(verifyGrantEvent({ grant: bobsGrant, registration, ownerChanges: [moved] })).toEqual({ verified: true, credentialId: key.credentialId });
    const deleted = await log.deleteKey(key, bob, admin);
    expect(verifyGrantEvent({ grant: bobsGrant, registration, ownerChanges: [moved, deleted] })).toEqual({ verified: false, reason: 'credential_deleted' });
  });

  it('refuses what cannot be read: no assertion, a malformed one, a malformed grant or registration', async () => {
    const { log, key, registration } = await setUp();
    const { event } = await log.grant(alice, key);
    const withDetails = (details: Record<string, unknown>): AuditEventView => ({ ...event, details: { ...event.details, ...details } });
    const { assertion: _assertion, ...withoutAssertion } = event.details;
    expect(verifyGrantEvent({ grant: { ...event, details: withoutAssertion }, registration })).toEqual({ verified: false, reason: 'assertion_missing' });
    expect(verifyGrantEvent({ grant: withDetails({ assertion: { credentialId: key.credentialId } }), registration })).toEqual({ verified: false, reason: 'assertion_malformed' });
    const notBase64url = { ...(event.details.assertion as object), signature: 'not base64url!' };
    expect(verifyGrantEvent({ grant: withDetails({ assertion: notBase64url }), registration })).toEqual({ verified: false, reason: 'assertion_malformed' });
    expect(verifyGrantEvent({ grant: withDetails({ grant: { id: 'g' } }), registration })).toEqual({ verified: false, reason: 'grant_malformed' });
    const assertion = event.details.assertion as Record<string, unknown>;
    const notJson = { ...assertion, clientDataJSON: Buffer.from('not json').toString('base64url') };
    expect(verifyGrantEvent({ grant: withDetails({ assertion: notJson }), registration })).toEqual({ verified: false, reason: 'client_data_malformed' });
    const shortAuthData = { ...assertion, authenticatorData: Buffer.alloc(36).toString('base64url') };
    expect(verifyGrantEvent({ grant: withDetails({ assertion: shortAuthData }), registration })).toEqual({ verified: false, reason: 'assertion_malformed' });
    expect(verifyGrantEvent({ grant: event, registration: { ...registration, details: { credential: { id: key.credentialId } } } })).toEqual({
      verified: false,
      reason: 'registration_malformed',
    });
  });
});

describe('COSE keys', () => {
  const cbor = (map: Map<number, unknown>) => new Uint8Array(isoCBOR.encode(map as never));
  const ec2 = () => {
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    return new Map<number, unknown>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, new Uint8Array(Buffer.from(jwk.x!, 'base64url'))],
      [-3, new Uint8Array(Buffer.from(jwk.y!, 'base64url'))],
    ]);
  };

  it('reads an EC2 P-256 key for ES256', () => {
    expect(coseToPublicKey(cbor(ec2()), -7)).toMatchObject({ ok: true, publicKey: { alg: -7 } });
  });

  it('refuses a key whose alg is not the recorded one, one it does not support, and a wrong curve', () => {
    expect(coseToPublicKey(cbor(ec2()), -8)).toEqual({ ok: false, reason: 'algorithm_mismatch' });
    expect(coseToPublicKey(cbor(new Map([...ec2(), [3, -35]])), -35)).toEqual({ ok: false, reason: 'unsupported_algorithm' });
    expect(coseToPublicKey(cbor(new Map([...ec2(), [-1, 2]])), -7)).toEqual({ ok: false, reason: 'public_key_invalid' });
  });

  it('refuses a point off the curve, a short coordinate and bytes that are not one CBOR map', () => {
    const offCurve = ec2();
    offCurve.set(-3, new Uint8Array(32).fill(7));
    expect(coseToPublicKey(cbor(offCurve), -7)).toEqual({ ok: false, reason: 'public_key_invalid' });
    expect(coseToPublicKey(cbor(new Map([...ec2(), [-2, new Uint8Array(31)]])), -7)).toEqual({ ok: false, reason: 'public_key_invalid' });
    const bytes = cbor(ec2());
    expect(coseToPublicKey(new Uint8Array([...bytes, 0]), -7)).toEqual({ ok: false, reason: 'public_key_invalid' });
    expect(coseToPublicKey(bytes.subarray(0, bytes.length - 1), -7)).toEqual({ ok: false, reason: 'public_key_invalid' });
    expect(decodeCoseKey(new Uint8Array([0xbf, 0xff]))).toBeNull(); // an indefinite-length map
    expect(decodeCoseKey(new Uint8Array([0xa2, 0x01, 0x02, 0x01, 0x02]))).toBeNull(); // a label twice
  });
});

describe('reading the records', () => {
  it('binary members are canonical base64url without padding: one text for one byte string', () => {
    expect(base64urlBytes('AA')).toEqual(Buffer.from([0]));
    // Same byte, stray bits set in the last character: a second spelling of it, refused.
    expect(base64urlBytes('AB')).toBeNull();
    expect(base64urlBytes('AA==')).toBeNull();
    expect(base64urlBytes('A+/A')).toBeNull();
    expect(base64urlBytes('AAAAA')).toBeNull();
  });

  it('a stream cut because its grant ended is not a use, whatever its outcome', async () => {
    const { log } = await setUp();
    const cut = await log.sink.append(
      { actor: alice, ip: null, userAgent: null },
      { action: 'model.stream_cut', outcome: 'success', model: 'restricted-demo', target: { type: 'grant', id: 'g1' }, details: { grantId: 'g1' } },
    );
    expect(isRestrictedUse(cut)).toBe(false);
    expect(isRestrictedUse({ ...cut, action: 'conversation.read' })).toBe(true);
  });
});
