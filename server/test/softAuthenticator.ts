/**
 * A software FIDO2 authenticator for server tests: it speaks the real WebAuthn formats
 * (CBOR attestation object, COSE key, authenticator data, ECDSA P-256 signatures), so the
 * server verifies its responses with the same code as a real key's. Every field a guard
 * checks can be bent: origin, RP ID, flags, counter, signature.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

export interface SoftCredential {
  id: Buffer;
  privateKey: KeyObject;
  publicKeyCose: Uint8Array;
  signCount: number;
}

export interface Tamper {
  origin?: string;
  rpId?: string;
  userPresent?: boolean;
  userVerified?: boolean;
  /** Counter to report instead of the next one. */
  counter?: number;
  /** Flip a bit of the signature. */
  badSignature?: boolean;
  /** Sign over this challenge instead of the one in the options. */
  challenge?: string;
  type?: string;
}

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];

  constructor(
    readonly origin: string,
    readonly rpId: string,
    readonly options: { aaguid?: string; backupEligible?: boolean; backedUp?: boolean; startCounter?: number } = {},
  ) {}

  private flags(tamper: Tamper, extra = 0): number {
    let flags = extra;
    if (tamper.userPresent !== false) flags |= FLAG_UP;
    if (tamper.userVerified !== false) flags |= FLAG_UV;
    if (this.options.backupEligible || this.options.backedUp) flags |= FLAG_BE;
    if (this.options.backedUp) flags |= FLAG_BS;
    return flags;
  }

  private clientData(type: string, challenge: string, tamper: Tamper): Buffer {
    return Buffer.from(
      JSON.stringify({ type: tamper.type ?? type, challenge: tamper.challenge ?? challenge, origin: tamper.origin ?? this.origin, crossOrigin: false }),
    );
  }

  private rpIdHash(tamper: Tamper): Buffer {
    return createHash('sha256').update(tamper.rpId ?? this.rpId).digest();
  }

  /** Answers navigator.credentials.create() options with a new credential (or attests `existing` again). */
  register(options: { challenge: string }, tamper: Tamper = {}, existing?: SoftCredential): Record<string, unknown> {
    const { privateKey, publicKey } = existing
      ? { privateKey: existing.privateKey, publicKey: createPublicKey(existing.privateKey) }
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const publicKeyCose = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, new Uint8Array(Buffer.from(jwk.x!, 'base64url'))],
        [-3, new Uint8Array(Buffer.from(jwk.y!, 'base64url'))],
      ]),
    );
    const credential: SoftCredential = existing ?? { id: randomBytes(32), privateKey, publicKeyCose, signCount: this.options.startCounter ?? 0 };
    const aaguid = Buffer.from((this.options.aaguid ?? '00000000-0000-0000-0000-000000000000').replaceAll('-', ''), 'hex');
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(credential.id.length);
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(credential.signCount);
    const authData = Buffer.concat([
      this.rpIdHash(tamper),
      Buffer.from([this.flags(tamper, FLAG_AT)]),
      counter,
      aaguid,
      idLength,
      credential.id,
      Buffer.from(publicKeyCose),
    ]);
    const attestationObject = isoCBOR.encode(
      new Map<string, unknown>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', new Uint8Array(authData)],
      ]) as never,
    );
    if (!existing) this.credentials.push(credential);
    return credentialJson(credential, {
      clientDataJSON: this.clientData('webauthn.create', options.challenge, tamper).toString('base64url'),
      attestationObject: Buffer.from(attestationObject).toString('base64url'),
      transports: ['usb'],
    });
  }

  /** Answers navigator.credentials.get() options with the given (default: first) credential. */
  assert(options: { challenge: string }, tamper: Tamper = {}, credential: SoftCredential = this.credentials[0]!): Record<string, unknown> {
    credential.signCount = tamper.counter ?? credential.signCount + 1;
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(credential.signCount);
    const authData = Buffer.concat([this.rpIdHash(tamper), Buffer.from([this.flags(tamper)]), counter]);
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, tamper);
    const signature = sign('sha256', Buffer.concat([authData, createHash('sha256').update(clientDataJSON).digest()]), {
      key: credential.privateKey,
      dsaEncoding: 'der',
    });
    if (tamper.badSignature) signature[signature.length - 1]! ^= 0x01;
    return credentialJson(credential, {
      clientDataJSON: clientDataJSON.toString('base64url'),
      authenticatorData: authData.toString('base64url'),
      signature: signature.toString('base64url'),
    });
  }
}

/** A PublicKeyCredential as the browser serialises it (toJSON), around a ceremony's response. */
function credentialJson(credential: SoftCredential, response: Record<string, unknown>): Record<string, unknown> {
  const id = credential.id.toString('base64url');
  return { id, rawId: id, type: 'public-key', response, clientExtensionResults: {}, authenticatorAttachment: 'cross-platform' };
}
