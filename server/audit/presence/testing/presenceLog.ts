/**
 * Builds audit logs with real presence proofs for the verifier's tests, its document's worked
 * example and its benchmark: registrations and assertions made by software authenticators
 * (server/test/softAuthenticator.ts for ES256; EdDSA and RS256 keys here), recorded in exactly
 * the shape the server records them (docs/presence-proofs.md), and appended either with
 * recordAuditEvent (a real chain in a test database) or in memory (hashes computed here).
 * Every field can be bent, to forge what an insider would.
 */
import { createHash, generateKeyPairSync, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { AUDIT_ACTIONS, type AssertionRecord, type AuditEventView, type CredentialRecord, type GrantRecord } from '../../../../shared/audit.ts';
import type { Pool } from '../../../db/pool.ts';
import { SoftAuthenticator, type SoftCredential, type Tamper } from '../../../test/softAuthenticator.ts';
import { eventHash, GENESIS_HASH } from '../../chain.ts';
import { recordAuditEvent, type AuditContext, type AuditInput } from '../../record.ts';
import { COSE_ALG, type CoseAlg } from '../cose.ts';

export const TEST_ORIGIN = 'https://argus.example';
export const TEST_RP_ID = 'argus.example';

export interface TestUser {
  id: string;
  username: string;
}

export const newUser = (username: string): TestUser => ({ id: randomUUID(), username });

/** A WebAuthn assertion as the browser sends it (response members, base64url). */
interface SignedAssertion {
  clientDataJSON: string;
  authenticatorData: string;
  signature: string;
}

/** A registered credential that can sign assertions. */
export interface TestKey {
  readonly credentialId: string;
  readonly alg: CoseAlg;
  readonly publicKeyCose: Buffer;
  readonly attestationObject: Buffer;
  assert(challenge: string, tamper?: Tamper): SignedAssertion;
}

/** ES256 through the shared software authenticator, exactly as server tests use it. */
class SoftAuthenticatorKey implements TestKey {
  readonly alg = COSE_ALG.ES256;
  readonly credentialId: string;
  readonly publicKeyCose: Buffer;
  readonly attestationObject: Buffer;
  private readonly credential: SoftCredential;

  constructor(private readonly authenticator: SoftAuthenticator) {
    const registration = authenticator.register({ challenge: randomBytes(32).toString('base64url') });
    this.credential = authenticator.credentials.at(-1)!;
    this.credentialId = this.credential.id.toString('base64url');
    this.publicKeyCose = Buffer.from(this.credential.publicKeyCose);
    this.attestationObject = Buffer.from((registration.response as { attestationObject: string }).attestationObject, 'base64url');
  }

  assert(challenge: string, tamper: Tamper = {}): SignedAssertion {
    return this.authenticator.assert({ challenge }, tamper, this.credential).response as SignedAssertion;
  }
}

/**
 * An EdDSA (Ed25519) or RS256 credential: the same authenticator data and client data as the
 * software authenticator makes, signed with that algorithm (it speaks ES256 only).
 */
class OtherAlgorithmKey implements TestKey {
  readonly credentialId = randomBytes(16).toString('base64url');
  readonly publicKeyCose: Buffer;
  readonly attestationObject: Buffer;
  private readonly privateKey: KeyObject;
  private signCount = 0;

  constructor(
    readonly alg: typeof COSE_ALG.EdDSA | typeof COSE_ALG.RS256,
    private readonly origin: string,
    private readonly rpId: string,
  ) {
    if (alg === COSE_ALG.EdDSA) {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      this.privateKey = privateKey;
      const x = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
      // kty OKP, alg EdDSA, crv Ed25519, x (RFC 9053 §7.2).
      this.publicKeyCose = cbor(new Map<number, number | Uint8Array>([[1, 1], [3, -8], [-1, 6], [-2, new Uint8Array(x)]]));
    } else {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      this.privateKey = privateKey;
      const jwk = publicKey.export({ format: 'jwk' });
      // kty RSA, alg RS256, n, e (RFC 8230 §4).
      this.publicKeyCose = cbor(
        new Map<number, number | Uint8Array>([[1, 3], [3, -257], [-1, new Uint8Array(Buffer.from(jwk.n!, 'base64url'))], [-2, new Uint8Array(Buffer.from(jwk.e!, 'base64url'))]]),
      );
    }
    this.attestationObject = cbor(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', new Uint8Array(32)]]));
  }

  assert(challenge: string, tamper: Tamper = {}): SignedAssertion {
    this.signCount = tamper.counter ?? this.signCount + 1;
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.signCount);
    const flags = (tamper.userPresent === false ? 0 : 0x01) | (tamper.userVerified === false ? 0 : 0x04);
    const authenticatorData = Buffer.concat([createHash('sha256').update(tamper.rpId ?? this.rpId).digest(), Buffer.from([flags]), counter]);
    const clientDataJSON = Buffer.from(
      JSON.stringify({ type: tamper.type ?? 'webauthn.get', challenge: tamper.challenge ?? challenge, origin: tamper.origin ?? this.origin, crossOrigin: false }),
    );
    const signed = Buffer.concat([authenticatorData, createHash('sha256').update(clientDataJSON).digest()]);
    const signature = sign(this.alg === COSE_ALG.EdDSA ? null : 'sha256', signed, this.privateKey);
    if (tamper.badSignature) signature[signature.length - 1]! ^= 0x01;
    return { clientDataJSON: clientDataJSON.toString('base64url'), authenticatorData: authenticatorData.toString('base64url'), signature: signature.toString('base64url') };
  }
}

const cbor = (value: unknown) => Buffer.from(isoCBOR.encode(value as never));

/** Where events go: the chain in a database, or an in-memory chain with a clock the caller sets. */
export interface EventSink {
  append(context: AuditContext, input: AuditInput): Promise<AuditEventView>;
}

/** recordAuditEvent on a real database: the chain, jsonb round trip and times are the server's own. */
export class DatabaseSink implements EventSink {
  constructor(private readonly pool: Pool) {}
  append(context: AuditContext, input: AuditInput): Promise<AuditEventView> {
    return recordAuditEvent(this.pool, context, input);
  }
}

/** An in-memory chain (hashes as the database computes them); `now` is the time of the next event. */
export class MemorySink implements EventSink {
  readonly events: AuditEventView[] = [];
  now = Date.parse('2026-12-01T09:00:00.000Z');
  private prevHash = GENESIS_HASH;
  private seqCounter = 0;
  constructor(private readonly onEvent?: (event: AuditEventView) => void) {}

  async append(context: AuditContext, input: AuditInput): Promise<AuditEventView> {
    return this.appendNow(context, input);
  }

  /** Synchronous, for the benchmark's hundred thousand grants. */
  appendNow(context: AuditContext, input: AuditInput): AuditEventView {
    const body = {
      seq: this.seqCounter + 1,
      time: new Date(this.now).toISOString(),
      actorId: context.actor?.id ?? null,
      actorUsername: context.actor?.username ?? null,
      action: input.action,
      targetType: input.target?.type ?? null,
      targetId: input.target?.id ?? null,
      outcome: input.outcome,
      severity: input.severity ?? AUDIT_ACTIONS[input.action],
      ip: context.ip,
      userAgent: context.userAgent,
      model: input.model ?? null,
      details: (input.details ?? {}) as Record<string, unknown>,
    };
    const event: AuditEventView = { ...body, prevHash: this.prevHash, hash: eventHash(this.prevHash, body) };
    this.prevHash = event.hash;
    this.seqCounter = body.seq;
    if (this.onEvent) this.onEvent(event);
    else this.events.push(event);
    return event;
  }

  get lastSeq(): number | null {
    return this.seqCounter === 0 ? null : this.seqCounter;
  }
}

/** What may be bent in an assertion event, on top of the authenticator's own Tamper. */
export interface AssertionOptions {
  tamper?: Tamper;
  /** Record this challenge as the one Argus issued (default: a fresh one, which the key signs). */
  challenge?: string;
  /** Record this as the assertion's user (default: the user the event is for). */
  assertionUserId?: string;
  requireUserVerification?: boolean;
  /** Record this origin / RP ID as expected (default: the log's). */
  origin?: string;
  rpId?: string;
  /** Record the assertion under this credential id (default: the signing key's). */
  credentialId?: string;
}

export interface GrantOptions extends AssertionOptions {
  models?: string[];
  lifetimeMs?: number;
  /** Milliseconds between the grant's issuedAt and the event's time (default 0). */
  issuedAtOffsetMs?: number;
  grantId?: string;
  replaces?: string | null;
  presenceMode?: string;
  /** grant.renewed instead of grant.issued (a renewal is a new grant from a new assertion). */
  renewal?: boolean;
  /** The event's actor, if not the user. */
  actor?: TestUser;
}

/** A log of events with real signatures, appended to `sink` in order. */
export class PresenceLog {
  constructor(
    readonly sink: EventSink,
    readonly origin = TEST_ORIGIN,
    readonly rpId = TEST_RP_ID,
  ) {}

  private context(user: TestUser | null): AuditContext {
    return { actor: user ? { id: user.id, username: user.username } : null, ip: '192.0.2.10', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36' };
  }

  private now(): number {
    return this.sink instanceof MemorySink ? this.sink.now : Date.now();
  }

  /** A new key (ES256 from the software authenticator, or EdDSA / RS256), registered to `user` with key.registered. */
  async registerKey(user: TestUser, { alg = COSE_ALG.ES256 as CoseAlg, action = 'key.registered' as AuditInput['action'] } = {}): Promise<{ key: TestKey; event: AuditEventView }> {
    const key: TestKey = alg === COSE_ALG.ES256 ? new SoftAuthenticatorKey(new SoftAuthenticator(this.origin, this.rpId)) : new OtherAlgorithmKey(alg, this.origin, this.rpId);
    const event = await this.recordRegistration(user, key, action);
    return { key, event };
  }

  credentialRecord(user: TestUser, key: TestKey): CredentialRecord {
    return {
      id: key.credentialId,
      publicKey: key.publicKeyCose.toString('base64url'),
      alg: key.alg,
      aaguid: '00000000-0000-0000-0000-000000000000',
      attestationObjectSha256: createHash('sha256').update(key.attestationObject).digest('hex'),
      userId: user.id,
    };
  }

  recordRegistration(user: TestUser, key: TestKey, action: AuditInput['action'] = 'key.registered', credential = this.credentialRecord(user, key)): Promise<AuditEventView> {
    return this.sink.append(this.context(user), {
      action,
      outcome: 'success',
      target: { type: 'security_key', id: randomUUID() },
      details: { ownerId: user.id, ownerUsername: user.username, credential },
    });
  }

  /** The assertion member of an event, signed now by `key` over a fresh (or the given) challenge. */
  assertion(user: TestUser, key: TestKey, options: AssertionOptions = {}): AssertionRecord {
    const challenge = options.challenge ?? randomBytes(32).toString('base64url');
    const signed = key.assert(challenge, options.tamper);
    return {
      credentialId: options.credentialId ?? key.credentialId,
      clientDataJSON: signed.clientDataJSON,
      authenticatorData: signed.authenticatorData,
      signature: signed.signature,
      userHandle: null,
      challenge,
      origin: options.origin ?? this.origin,
      rpId: options.rpId ?? this.rpId,
      userId: options.assertionUserId ?? user.id,
      requireUserVerification: options.requireUserVerification ?? false,
    };
  }

  signIn(user: TestUser, key: TestKey, options: AssertionOptions = {}): Promise<AuditEventView> {
    return this.sink.append(this.context(user), {
      action: 'auth.signin',
      outcome: 'success',
      target: { type: 'user', id: user.id },
      details: { method: 'password+security_key', assertion: this.assertion(user, key, options) },
    });
  }

  stepUp(user: TestUser, key: TestKey, options: AssertionOptions = {}): Promise<AuditEventView> {
    return this.sink.append(this.context(user), { action: 'auth.step_up', outcome: 'success', target: { type: 'security_key', id: randomUUID() }, details: { assertion: this.assertion(user, key, options) } });
  }

  /** The details the server records with a grant (server/grants/unlockModels.ts). */
  grantInput(user: TestUser, key: TestKey, options: GrantOptions = {}): { input: AuditInput; grant: GrantRecord } {
    const issuedAt = this.now() + (options.issuedAtOffsetMs ?? 0);
    const grant: GrantRecord = {
      id: options.grantId ?? randomUUID(),
      models: options.models ?? ['restricted-demo'],
      issuedAt: new Date(issuedAt).toISOString(),
      expiresAt: new Date(issuedAt + (options.lifetimeMs ?? 300_000)).toISOString(),
      presenceMode: options.presenceMode ?? 'assertion',
    };
    const assertion = this.assertion(user, key, options);
    return {
      grant,
      input: {
        action: options.renewal ? 'grant.renewed' : 'grant.issued',
        outcome: 'success',
        target: { type: 'grant', id: grant.id },
        details: {
          grantId: grant.id,
          models: grant.models,
          presenceMode: grant.presenceMode,
          expiresAt: grant.expiresAt,
          replaces: options.replaces ?? null,
          ...(options.renewal ? { renewedBy: 'assertion' } : {}),
          assertion,
          grant,
        },
      },
    };
  }

  async grant(user: TestUser, key: TestKey, options: GrantOptions = {}): Promise<{ grant: GrantRecord; event: AuditEventView }> {
    const { input, grant } = this.grantInput(user, key, options);
    return { grant, event: await this.sink.append(this.context(options.actor ?? user), input) };
  }

  /** A renewal the server claims without a signature (detector presence): only the expiry moves. */
  claimedRenewal(user: TestUser, grantId: string, expiresAt: Date): Promise<AuditEventView> {
    return this.sink.append(this.context(user), {
      action: 'grant.renewed',
      outcome: 'success',
      target: { type: 'grant', id: grantId },
      details: { grantId, expiresAt: expiresAt.toISOString(), renewedBy: 'detector_presence' },
    });
  }

  /** A restricted use: model.access under `grantId` (null: naming no grant), as the chat stream records it. */
  use(user: TestUser, grantId: string | null, model = 'restricted-demo'): Promise<AuditEventView> {
    return this.sink.append(this.context(user), {
      action: 'model.access',
      outcome: 'success',
      model,
      target: grantId ? { type: 'grant', id: grantId } : null,
      details: grantId ? { grantId } : {},
    });
  }

  end(grantId: string, reason = 'signed_out', action: 'grant.revoked' | 'grant.expired' = 'grant.revoked'): Promise<AuditEventView> {
    return this.sink.append(this.context(null), { action, outcome: 'success', target: { type: 'grant', id: grantId }, details: { grantId, reason } });
  }

  reassign(key: TestKey, from: TestUser, to: TestUser, admin: TestUser): Promise<AuditEventView> {
    return this.sink.append(this.context(admin), {
      action: 'key.reassigned',
      outcome: 'success',
      target: { type: 'security_key', id: randomUUID() },
      details: { fromUserId: from.id, toUserId: to.id, credential: { id: key.credentialId, fromUserId: from.id, toUserId: to.id } },
    });
  }

  deleteKey(key: TestKey, owner: TestUser, admin: TestUser): Promise<AuditEventView> {
    return this.sink.append(this.context(admin), {
      action: 'key.deleted',
      outcome: 'success',
      target: { type: 'security_key', id: randomUUID() },
      details: { ownerId: owner.id, credential: { id: key.credentialId, userId: owner.id } },
    });
  }

  deleteUser(user: TestUser, keys: TestKey[], admin: TestUser): Promise<AuditEventView> {
    return this.sink.append(this.context(admin), {
      action: 'user.deleted',
      outcome: 'success',
      target: { type: 'user', id: user.id },
      details: { username: user.username, keysDeleted: keys.map((key) => ({ id: randomUUID(), credential: { id: key.credentialId, userId: user.id } })) },
    });
  }
}
