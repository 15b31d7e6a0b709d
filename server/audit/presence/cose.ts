/**
 * A credential's COSE_Key (RFC 9052 §7, RFC 9053) turned into a node:crypto public key, and
 * the WebAuthn signature check for each algorithm Argus accepts. The CBOR reader is a small,
 * strict one of our own (RFC 8949: definite lengths only, no tags, no floats, the whole input
 * one map), so what it accepts is exactly what docs/presence-proofs.md describes.
 */
import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto';

/** COSE algorithm identifiers (IANA "COSE Algorithms"). */
export const COSE_ALG = { ES256: -7, EdDSA: -8, RS256: -257 } as const;
export type CoseAlg = (typeof COSE_ALG)[keyof typeof COSE_ALG];

/** COSE key parameters (RFC 9052 §7.1, RFC 9053 §7). */
const KTY = 1;
const ALG = 3;
const CRV = -1; // EC2/OKP: curve; RSA: n
const X = -2; // EC2/OKP: x; RSA: e
const Y = -3;
const KTY_OKP = 1;
const KTY_EC2 = 2;
const KTY_RSA = 3;
const CRV_P256 = 1;
const CRV_ED25519 = 6;

export interface CredentialPublicKey {
  key: KeyObject;
  alg: CoseAlg;
}

export type CoseKeyFailure = 'public_key_invalid' | 'unsupported_algorithm' | 'algorithm_mismatch';
export type CoseKeyResult = { ok: true; publicKey: CredentialPublicKey } | { ok: false; reason: CoseKeyFailure };

class CborError extends Error {}

/** Reads one CBOR data item; maps become Map<number | string, unknown>, byte strings Uint8Array. */
class CborReader {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.offset === this.bytes.length;
  }

  private take(length: number): Uint8Array {
    if (length > this.bytes.length - this.offset) throw new CborError('truncated');
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  /** The argument of an initial byte (RFC 8949 §3): the value itself, or 1, 2, 4 or 8 bytes after it. */
  private argument(info: number): number {
    if (info < 24) return info;
    const size = { 24: 1, 25: 2, 26: 4, 27: 8 }[info];
    // 28–30 are reserved; 31 is an indefinite length, which COSE keys never need.
    if (size === undefined) throw new CborError('unsupported length');
    let value = 0n;
    for (const byte of this.take(size)) value = (value << 8n) | BigInt(byte);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new CborError('integer too large');
    return Number(value);
  }

  item(depth = 0): unknown {
    if (depth > 4) throw new CborError('nested too deep');
    const initial = this.take(1)[0]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === 7) {
      // Simple values false, true, null; floats and others never appear in a COSE key.
      if (info === 20) return false;
      if (info === 21) return true;
      if (info === 22) return null;
      throw new CborError('unsupported simple value');
    }
    const argument = this.argument(info);
    switch (major) {
      case 0:
        return argument;
      case 1:
        return -1 - argument;
      case 2:
        return this.take(argument);
      case 3:
        return new TextDecoder('utf-8', { fatal: true }).decode(this.take(argument));
      case 4:
        return Array.from({ length: argument }, () => this.item(depth + 1));
      case 5: {
        const map = new Map<number | string, unknown>();
        for (let i = 0; i < argument; i += 1) {
          const label = this.item(depth + 1);
          if (typeof label !== 'number' && typeof label !== 'string') throw new CborError('map label neither integer nor text');
          if (map.has(label)) throw new CborError('duplicate map label');
          map.set(label, this.item(depth + 1));
        }
        return map;
      }
      default:
        // 6: tags.
        throw new CborError('unsupported major type');
    }
  }
}

/** A COSE_Key's bytes as a map of its parameters, or null if they are not exactly one CBOR map. */
export function decodeCoseKey(bytes: Uint8Array): Map<number | string, unknown> | null {
  try {
    const reader = new CborReader(bytes);
    const value = reader.item();
    return value instanceof Map && reader.done ? value : null;
  } catch (error) {
    if (error instanceof CborError || error instanceof TypeError) return null;
    throw error;
  }
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const isBytes = (value: unknown, length?: number): value is Uint8Array => value instanceof Uint8Array && (length === undefined || value.length === length);

/**
 * The public key a credential signs with, from its COSE_Key as the registration event recorded
 * it. The key's own `alg` must be the recorded `alg`, one of ES256 (EC2, P-256), EdDSA (OKP,
 * Ed25519) or RS256 (RSA), with the key type and curve that algorithm needs.
 */
export function coseToPublicKey(cose: Uint8Array, recordedAlg: number): CoseKeyResult {
  const params = decodeCoseKey(cose);
  if (!params) return { ok: false, reason: 'public_key_invalid' };
  const alg = params.get(ALG);
  if (!Number.isSafeInteger(alg)) return { ok: false, reason: 'public_key_invalid' };
  if (alg !== recordedAlg) return { ok: false, reason: 'algorithm_mismatch' };
  const kty = params.get(KTY);
  let jwk: Record<string, string>;
  if (alg === COSE_ALG.ES256) {
    const [crv, x, y] = [params.get(CRV), params.get(X), params.get(Y)];
    if (kty !== KTY_EC2 || crv !== CRV_P256 || !isBytes(x, 32) || !isBytes(y, 32)) return { ok: false, reason: 'public_key_invalid' };
    jwk = { kty: 'EC', crv: 'P-256', x: b64url(x), y: b64url(y) };
  } else if (alg === COSE_ALG.EdDSA) {
    const [crv, x] = [params.get(CRV), params.get(X)];
    if (kty !== KTY_OKP || crv !== CRV_ED25519 || !isBytes(x, 32)) return { ok: false, reason: 'public_key_invalid' };
    jwk = { kty: 'OKP', crv: 'Ed25519', x: b64url(x) };
  } else if (alg === COSE_ALG.RS256) {
    const [n, e] = [params.get(CRV), params.get(X)];
    if (kty !== KTY_RSA || !isBytes(n) || !isBytes(e) || n.length === 0 || e.length === 0) return { ok: false, reason: 'public_key_invalid' };
    jwk = { kty: 'RSA', n: b64url(n), e: b64url(e) };
  } else {
    return { ok: false, reason: 'unsupported_algorithm' };
  }
  try {
    // createPublicKey refuses an EC point that is not on the curve.
    return { ok: true, publicKey: { key: createPublicKey({ key: jwk, format: 'jwk' }), alg } };
  } catch {
    return { ok: false, reason: 'public_key_invalid' };
  }
}

/**
 * Whether `signature` is the credential's signature over `signed` (authenticatorData ‖
 * SHA-256(clientDataJSON)). ES256: ECDSA P-256 with SHA-256, the signature DER-encoded as
 * WebAuthn sends it (OpenSSL refuses any other encoding of it); EdDSA: pure Ed25519 over the
 * bytes; RS256: RSASSA-PKCS1-v1_5 with SHA-256.
 */
export function verifyCredentialSignature({ key, alg }: CredentialPublicKey, signed: Uint8Array, signature: Uint8Array): boolean {
  try {
    switch (alg) {
      case COSE_ALG.ES256:
        return verify('sha256', signed, { key, dsaEncoding: 'der' }, signature);
      case COSE_ALG.EdDSA:
        return verify(null, signed, key, signature);
      case COSE_ALG.RS256:
        return verify('sha256', signed, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
    }
  } catch {
    // A signature too malformed to parse is simply not a valid one.
    return false;
  }
}
