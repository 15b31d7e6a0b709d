/**
 * The offline presence check against logs an insider might forge: every event is appended with
 * recordAuditEvent to a real chain, every signature is made by a software authenticator, and
 * the log is read back from the database as `audit:verify -- --presence --database` reads it.
 * Each forged grant or use is reported with its seq and its reason.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../test/testDatabase.ts';
import { resetChain } from '../testing/auditTestKit.ts';
import { COSE_ALG } from './cose.ts';
import { databaseEvents } from './databaseEvents.ts';
import type { PresenceOptions, PresenceReport } from './presenceVerifier.ts';
import { DatabaseSink, newUser, PresenceLog, TEST_ORIGIN, TEST_RP_ID } from './testing/presenceLog.ts';
import { verifyPresence } from './verifyPresence.ts';

const testDb = useTestDatabase();
let log: PresenceLog;
const alice = newUser('alice');
const bob = newUser('bob');
const admin = newUser('root');

beforeEach(async () => {
  await resetChain(testDb.ownerPool, 0);
  log = new PresenceLog(new DatabaseSink(testDb.pool));
});

const verify = (options: PresenceOptions = {}) => verifyPresence(databaseEvents(testDb.pool), options);
const reasonsAt = (report: PresenceReport, seq: number) => report.problems.filter((p) => p.seq === seq).map((p) => p.reason);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a genuine log is proven throughout', () => {
  it.each([
    ['ES256 (the software authenticator)', COSE_ALG.ES256],
    ['EdDSA (Ed25519)', COSE_ALG.EdDSA],
    ['RS256', COSE_ALG.RS256],
  ])('%s: sign-in, step-up, grants, a renewal by assertion, uses and an end', async (_name, alg) => {
    const { key } = await log.registerKey(alice, { alg });
    await log.signIn(alice, key);
    await log.stepUp(alice, key, { requireUserVerification: true });
    const first = await log.grant(alice, key, { models: ['restricted-demo', 'restricted-large'] });
    await log.use(alice, first.grant.id, 'restricted-demo');
    await log.use(alice, first.grant.id, 'restricted-large');
    const renewed = await log.grant(alice, key, { renewal: true, replaces: first.grant.id, requireUserVerification: true });
    await log.use(alice, renewed.grant.id);
    await log.end(renewed.grant.id);
    // Recorded when a stream is cut because its grant ended: after the end, and not a use.
    await log.sink.append(
      { actor: alice, ip: null, userAgent: null },
      { action: 'model.stream_cut', outcome: 'denied', model: 'restricted-demo', target: { type: 'grant', id: renewed.grant.id }, details: { reason: 'signed_out', grantId: renewed.grant.id } },
    );

    const report = await verify({ expectedOrigins: [TEST_ORIGIN], expectedRpIds: [TEST_RP_ID] });
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ ok: true, grants: { total: 2, proven: 2 }, uses: { total: 3, proven: 3, onClaimedRenewal: 0 }, assertions: { total: 2, verified: 2 }, unprovenUses: [] });
  });

  it('a key registered twice in one go (key.registered and key.first_key_registered) is one registration', async () => {
    const { key } = await log.registerKey(alice);
    await log.recordRegistration(alice, key, 'key.first_key_registered');
    const { grant } = await log.grant(alice, key);
    await log.use(alice, grant.id);
    expect((await verify()).problems).toEqual([]);
  });

  it('counters that stay at 0 (an authenticator without a counter) pass', async () => {
    const { key } = await log.registerKey(alice);
    await log.signIn(alice, key, { tamper: { counter: 0 } });
    await log.grant(alice, key, { tamper: { counter: 0 } });
    expect((await verify()).problems).toEqual([]);
  });
});

describe('a grant forged into the log is reported with its seq', () => {
  it('a signature that does not verify: signature_invalid, and its use unproven', async () => {
    const { key } = await log.registerKey(alice);
    const { grant, event } = await log.grant(alice, key, { tamper: { badSignature: true } });
    const use = await log.use(alice, grant.id);
    const report = await verify();
    expect(reasonsAt(report, event.seq)).toEqual(['signature_invalid']);
    expect(reasonsAt(report, use.seq)).toEqual(['grant_unproven']);
    expect(report).toMatchObject({ ok: false, grants: { total: 1, proven: 0 }, uses: { total: 1, proven: 0 }, unprovenUses: [use.seq] });
  });

  it('a challenge accepted before, at a sign-in: challenge_reused', async () => {
    const { key } = await log.registerKey(alice);
    const challenge = randomBytes(32).toString('base64url');
    const signIn = await log.signIn(alice, key, { challenge });
    // A fresh signature (the counter moves on) over the same challenge: only its reuse gives it away.
    const { event } = await log.grant(alice, key, { challenge });
    const report = await verify();
    expect(reasonsAt(report, signIn.seq)).toEqual([]);
    expect(reasonsAt(report, event.seq)).toEqual(['challenge_reused']);
    expect(report.problems[0]!.detail).toBe(`first accepted at #${signIn.seq}`);
  });

  it("signed by another user's key: wrong_owner", async () => {
    await log.registerKey(alice);
    const { key: bobsKey } = await log.registerKey(bob);
    // Bob's real signature, recorded as Alice's unlock.
    const { event } = await log.grant(alice, bobsKey);
    expect(reasonsAt(await verify(), event.seq)).toEqual(['wrong_owner']);
  });

  it("another user's key passed off as the owner's credential: signature_invalid", async () => {
    const { key: alicesKey } = await log.registerKey(alice);
    const { key: bobsKey } = await log.registerKey(bob);
    const { event } = await log.grant(alice, bobsKey, { credentialId: alicesKey.credentialId });
    expect(reasonsAt(await verify(), event.seq)).toEqual(['signature_invalid']);
  });

  it('a forged signature does not move the counter: a genuine assertion after it is judged against the last genuine one', async () => {
    const { key } = await log.registerKey(alice);
    await log.signIn(alice, key, { tamper: { counter: 5 } });
    const forged = await log.grant(alice, key, { tamper: { counter: 1_000, badSignature: true } });
    const genuine = await log.grant(alice, key, { tamper: { counter: 6 } });
    const report = await verify();
    expect(reasonsAt(report, forged.event.seq)).toEqual(['signature_invalid']);
    expect(reasonsAt(report, genuine.event.seq)).toEqual([]);
  });

  it('a counter lower than the last one recorded: counter_not_increased (and an equal one)', async () => {
    const { key } = await log.registerKey(alice);
    await log.signIn(alice, key, { tamper: { counter: 10 } });
    const lower = await log.grant(alice, key, { tamper: { counter: 5 } });
    const equal = await log.grant(alice, key, { tamper: { counter: 10 } });
    const higher = await log.grant(alice, key, { tamper: { counter: 11 } });
    const report = await verify();
    expect(reasonsAt(report, lower.event.seq)).toEqual(['counter_not_increased']);
    expect(reasonsAt(report, equal.event.seq)).toEqual(['counter_not_increased']);
    expect(reasonsAt(report, higher.event.seq)).toEqual([]);
  });

  it('signed on another origin: origin_mismatch', async () => {
    const { key } = await log.registerKey(alice);
    const { event } = await log.grant(alice, key, { tamper: { origin: 'https://argus.example.evil' } });
    expect(reasonsAt(await verify(), event.seq)).toEqual(['origin_mismatch']);
  });

  it('signed for another RP ID: rp_id_mismatch', async () => {
    const { key } = await log.registerKey(alice);
    const { event } = await log.grant(alice, key, { tamper: { rpId: 'evil.example' } });
    expect(reasonsAt(await verify(), event.seq)).toEqual(['rp_id_mismatch']);
  });

  it('user presence not set: user_not_present', async () => {
    const { key } = await log.registerKey(alice);
    const { event } = await log.grant(alice, key, { tamper: { userPresent: false } });
    expect(reasonsAt(await verify(), event.seq)).toEqual(['user_not_present']);
  });

  it('user verification required but not done: uv_required (not required: fine)', async () => {
    const { key } = await log.registerKey(alice);
    const required = await log.grant(alice, key, { requireUserVerification: true, tamper: { userVerified: false } });
    const notRequired = await log.grant(alice, key, { requireUserVerification: false, tamper: { userVerified: false } });
    const report = await verify();
    expect(reasonsAt(report, required.event.seq)).toEqual(['uv_required']);
    expect(reasonsAt(report, notRequired.event.seq)).toEqual([]);
  });

  it('a registration signature passed off as an assertion: type_mismatch', async () => {
    const { key } = await log.registerKey(alice);
    const { event } = await log.grant(alice, key, { tamper: { type: 'webauthn.create' } });
    expect(reasonsAt(await verify(), event.seq)).toEqual(['type_mismatch']);
  });

  it('a signature over another challenge than the one recorded: challenge_mismatch', async () => {
    const { key } = await log.registerKey(alice);
    const { event } = await log.grant(alice, key, { tamper: { challenge: randomBytes(32).toString('base64url') } });
    expect(reasonsAt(await verify(), event.seq)).toEqual(['challenge_mismatch']);
  });

  it('a credential no event registered: unknown_credential', async () => {
    const { key } = await log.registerKey(alice);
    const { event } = await log.grant(alice, key, { credentialId: randomBytes(16).toString('base64url') });
    expect(reasonsAt(await verify(), event.seq)).toEqual(['unknown_credential']);
  });

  it("a grant made for someone other than the assertion's user: user_mismatch", async () => {
    const { key } = await log.registerKey(alice);
    // Alice's genuine unlock, recorded as Bob's grant.
    const { event } = await log.grant(alice, key, { actor: bob });
    expect(reasonsAt(await verify(), event.seq)).toEqual(['user_mismatch']);
  });

  it('a grant event without an assertion: assertion_missing, and its uses unproven', async () => {
    const grantId = randomUUID();
    const event = await log.sink.append(
      { actor: alice, ip: null, userAgent: null },
      { action: 'grant.issued', outcome: 'success', target: { type: 'grant', id: grantId }, details: { grantId, models: ['restricted-demo'] } },
    );
    const use = await log.use(alice, grantId);
    const report = await verify();
    expect(reasonsAt(report, event.seq)).toEqual(['assertion_missing']);
    expect(reasonsAt(report, use.seq)).toEqual(['grant_unproven']);
  });

  it('a lifetime longer than any grant, or an issue time far from the event: grant_lifetime_too_long, grant_time_mismatch', async () => {
    const { key } = await log.registerKey(alice);
    const long = await log.grant(alice, key, { lifetimeMs: 24 * 3_600_000 });
    const backdated = await log.grant(alice, key, { issuedAtOffsetMs: -3_600_000 });
    const report = await verify();
    expect(reasonsAt(report, long.event.seq)).toEqual(['grant_lifetime_too_long']);
    expect(reasonsAt(report, backdated.event.seq)).toEqual(['grant_time_mismatch']);
  });

  it('a second grant under an id already used: grant_id_reused', async () => {
    const { key } = await log.registerKey(alice);
    const first = await log.grant(alice, key);
    const second = await log.grant(alice, key, { grantId: first.grant.id, models: ['restricted-large'] });
    const use = await log.use(alice, first.grant.id, 'restricted-large');
    const report = await verify();
    expect(reasonsAt(report, second.event.seq)).toEqual(['grant_id_reused']);
    // The second cannot widen the first.
    expect(reasonsAt(report, use.seq)).toEqual(['model_not_covered']);
    expect(report.grants).toEqual({ total: 2, proven: 1 });
  });

  it('only the origins and RP IDs given are expected: origin_not_expected, rp_id_not_expected', async () => {
    const { key } = await log.registerKey(alice);
    const { event } = await log.grant(alice, key);
    const report = await verify({ expectedOrigins: ['https://argus.other'], expectedRpIds: ['argus.other'] });
    expect(reasonsAt(report, event.seq)).toEqual(['origin_not_expected', 'rp_id_not_expected']);
  });

  it('sign-in and step-up assertions are checked the same way', async () => {
    const { key } = await log.registerKey(alice);
    const signIn = await log.signIn(alice, key, { tamper: { badSignature: true } });
    const stepUp = await log.stepUp(alice, key, { requireUserVerification: true, tamper: { userVerified: false } });
    const report = await verify();
    expect(reasonsAt(report, signIn.seq)).toEqual(['signature_invalid']);
    expect(reasonsAt(report, stepUp.seq)).toEqual(['uv_required']);
    expect(report.assertions).toEqual({ total: 2, verified: 0 });
  });
});

describe('every restricted use falls inside a proven grant', () => {
  it('a use naming no grant, or a grant no event made: use_outside_grant', async () => {
    const none = await log.use(alice, null);
    const unknown = await log.use(alice, randomUUID());
    const report = await verify();
    expect(reasonsAt(report, none.seq)).toEqual(['use_outside_grant']);
    expect(reasonsAt(report, unknown.seq)).toEqual(['use_outside_grant']);
    expect(report.unprovenUses).toEqual([none.seq, unknown.seq]);
  });

  it('a use before the grant event: use_outside_grant', async () => {
    const { key } = await log.registerKey(alice);
    const grantId = randomUUID();
    const early = await log.use(alice, grantId);
    await log.grant(alice, key, { grantId });
    expect(reasonsAt(await verify(), early.seq)).toEqual(['use_outside_grant']);
  });

  it("after the grant's end event: use_after_grant_end", async () => {
    const { key } = await log.registerKey(alice);
    const { grant } = await log.grant(alice, key);
    const inside = await log.use(alice, grant.id);
    const end = await log.end(grant.id, 'key_removed');
    const after = await log.use(alice, grant.id);
    const report = await verify();
    expect(reasonsAt(report, inside.seq)).toEqual([]);
    expect(reasonsAt(report, after.seq)).toEqual(['use_after_grant_end']);
    expect(report.problems.find((p) => p.seq === after.seq)!.detail).toBe(`ended at #${end.seq}`);
  });

  it('after a renewal replaced the grant: use_after_grant_end', async () => {
    const { key } = await log.registerKey(alice);
    const first = await log.grant(alice, key);
    await log.grant(alice, key, { renewal: true, replaces: first.grant.id });
    const stale = await log.use(alice, first.grant.id);
    expect(reasonsAt(await verify(), stale.seq)).toEqual(['use_after_grant_end']);
  });

  it('before the grant was issued: use_before_issue', async () => {
    const { key } = await log.registerKey(alice);
    // A grant dated an hour ahead of its event, to cover a use recorded now.
    const { grant, event } = await log.grant(alice, key, { issuedAtOffsetMs: 3_600_000, lifetimeMs: 60_000 });
    const use = await log.use(alice, grant.id);
    const report = await verify();
    expect(reasonsAt(report, event.seq)).toEqual(['grant_time_mismatch']);
    expect(reasonsAt(report, use.seq)).toEqual(['grant_unproven', 'use_before_issue']);
  });

  it('naming one grant in its details and another as its target: grant_id_conflict', async () => {
    const { key } = await log.registerKey(alice);
    const { grant } = await log.grant(alice, key);
    const use = await log.sink.append(
      { actor: alice, ip: null, userAgent: null },
      { action: 'model.access', outcome: 'success', model: 'restricted-demo', target: { type: 'grant', id: randomUUID() }, details: { grantId: grant.id } },
    );
    expect(reasonsAt(await verify(), use.seq)).toEqual(['grant_id_conflict']);
  });

  it('for a model the grant did not cover: model_not_covered', async () => {
    const { key } = await log.registerKey(alice);
    const { grant } = await log.grant(alice, key, { models: ['restricted-demo'] });
    const use = await log.use(alice, grant.id, 'restricted-large');
    expect(reasonsAt(await verify(), use.seq)).toEqual(['model_not_covered']);
  });

  it("by another user under someone's grant: use_wrong_user", async () => {
    const { key } = await log.registerKey(alice);
    const { grant } = await log.grant(alice, key);
    const use = await log.use(bob, grant.id);
    expect(reasonsAt(await verify(), use.seq)).toEqual(['use_wrong_user']);
  });

  it('after the grant expired: use_after_expiry', async () => {
    const { key } = await log.registerKey(alice);
    const { grant } = await log.grant(alice, key, { lifetimeMs: 20 });
    await sleep(300);
    const use = await log.use(alice, grant.id);
    expect(reasonsAt(await verify({ clockAllowanceMs: 200 }), use.seq)).toEqual(['use_after_expiry']);
  });

  it('a renewal the server claims (detector presence) extends the lifetime: counted apart, not failed', async () => {
    const { key } = await log.registerKey(alice);
    const { grant } = await log.grant(alice, key, { lifetimeMs: 20 });
    await log.claimedRenewal(alice, grant.id, new Date(Date.now() + 60_000));
    await sleep(300);
    const use = await log.use(alice, grant.id);
    const report = await verify({ clockAllowanceMs: 200 });
    expect(reasonsAt(report, use.seq)).toEqual([]);
    expect(report).toMatchObject({ ok: true, uses: { total: 1, proven: 0, onClaimedRenewal: 1 }, renewals: { claimed: 1 } });
  });

  it('a renewal by an assertion that fails extends nothing: the later use is after expiry', async () => {
    const { key } = await log.registerKey(alice);
    const { grant } = await log.grant(alice, key, { lifetimeMs: 20 });
    // grant.renewed of the same grant, without a new grant: only the expiry moves, if the assertion holds.
    const renewal = await log.sink.append(
      { actor: alice, ip: null, userAgent: null },
      {
        action: 'grant.renewed',
        outcome: 'success',
        target: { type: 'grant', id: grant.id },
        details: { grantId: grant.id, expiresAt: new Date(Date.now() + 60_000).toISOString(), renewedBy: 'assertion', assertion: log.assertion(alice, key, { tamper: { badSignature: true } }) },
      },
    );
    await sleep(300);
    const use = await log.use(alice, grant.id);
    const report = await verify({ clockAllowanceMs: 200 });
    expect(reasonsAt(report, renewal.seq)).toEqual(['signature_invalid']);
    expect(reasonsAt(report, use.seq)).toEqual(['use_after_expiry']);
    expect(report.renewals).toEqual({ byAssertion: 1, byAssertionProven: 0, claimed: 0 });
  });

  it('a claimed renewal of a grant that does not exist, or has ended: renewal_of_unknown_grant, renewal_after_end', async () => {
    const { key } = await log.registerKey(alice);
    const { grant } = await log.grant(alice, key);
    await log.end(grant.id);
    const unknown = await log.claimedRenewal(alice, randomUUID(), new Date(Date.now() + 60_000));
    const ended = await log.claimedRenewal(alice, grant.id, new Date(Date.now() + 60_000));
    const report = await verify();
    expect(reasonsAt(report, unknown.seq)).toEqual(['renewal_of_unknown_grant']);
    expect(reasonsAt(report, ended.seq)).toEqual(['renewal_after_end']);
  });
});

describe('ownership at the moment of the assertion, following the owner history', () => {
  it('a key reassigned to Bob: his grants with it are proven, Alice’s after the move are wrong_owner', async () => {
    const { key } = await log.registerKey(alice);
    const before = await log.grant(alice, key);
    await log.reassign(key, alice, bob, admin);
    const bobs = await log.grant(bob, key);
    await log.use(bob, bobs.grant.id);
    const alices = await log.grant(alice, key);
    const report = await verify();
    expect(reasonsAt(report, before.event.seq)).toEqual([]);
    expect(reasonsAt(report, bobs.event.seq)).toEqual([]);
    expect(reasonsAt(report, alices.event.seq)).toEqual(['wrong_owner']);
    expect(report.problems).toHaveLength(1);
  });

  it('a deleted key signs for nobody: credential_deleted (key.deleted and user.deleted)', async () => {
    const { key: deletedKey } = await log.registerKey(alice);
    const { key: bobsKey } = await log.registerKey(bob);
    await log.deleteKey(deletedKey, alice, admin);
    const afterKeyDeletion = await log.grant(alice, deletedKey);
    await log.deleteUser(bob, [bobsKey], admin);
    const afterUserDeletion = await log.signIn(bob, bobsKey);
    const report = await verify();
    expect(reasonsAt(report, afterKeyDeletion.event.seq)).toEqual(['credential_deleted']);
    expect(reasonsAt(report, afterUserDeletion.seq)).toEqual(['credential_deleted']);
  });

  it('a reassignment or deletion that does not start from the current owner: owner_history_mismatch', async () => {
    const { key } = await log.registerKey(alice);
    const moved = await log.reassign(key, bob, admin, admin);
    const deleted = await log.deleteKey(key, alice, admin);
    const report = await verify();
    expect(reasonsAt(report, moved.seq)).toEqual(['owner_history_mismatch']);
    expect(reasonsAt(report, deleted.seq)).toEqual(['owner_history_mismatch']);
  });

  it('a live credential registered again with another key or owner: credential_reregistered, and the first registration stands', async () => {
    const { key } = await log.registerKey(alice);
    const { key: mallorysKey } = await log.registerKey(bob);
    // Bob's public key recorded under Alice's credential id, so his signatures would pass as hers.
    const swap = await log.recordRegistration(alice, key, 'key.registered', { ...log.credentialRecord(alice, mallorysKey), id: key.credentialId });
    const { event } = await log.grant(alice, mallorysKey, { credentialId: key.credentialId });
    const report = await verify();
    expect(reasonsAt(report, swap.seq)).toEqual(['credential_reregistered']);
    expect(reasonsAt(report, event.seq)).toEqual(['signature_invalid']);
  });

  it('a registration whose public key is unusable: its problem at the registration and at each assertion', async () => {
    const { key } = await log.registerKey(alice);
    const registration = await log.recordRegistration(alice, key, 'key.registered', { ...log.credentialRecord(alice, key), id: 'AAAA', alg: COSE_ALG.EdDSA });
    const { event } = await log.grant(alice, key, { credentialId: 'AAAA' });
    const report = await verify();
    expect(reasonsAt(report, registration.seq)).toEqual(['algorithm_mismatch']);
    expect(reasonsAt(report, event.seq)).toEqual(['algorithm_mismatch']);
  });
});
