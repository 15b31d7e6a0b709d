import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { persistedOnce } from '../crypto/keyFiles.ts';

/** File names under the data directory (development and test only; gitignored). */
export const DEV_PRIVATE_KEY_FILE = 'audit-signing-key.pem';
export const DEV_PUBLIC_KEY_FILE = 'audit-signing-key.pub.pem';

/**
 * The Ed25519 key that signs export manifests and chain checkpoints. Signatures are
 * plain Ed25519 (RFC 8032) over the exact bytes given, so stock OpenSSL verifies them.
 */
export class AuditSigner {
  readonly publicKey: KeyObject;
  readonly publicKeyPem: string;
  /** Lowercase hex SHA-256 of the public key's SubjectPublicKeyInfo DER encoding. */
  readonly fingerprint: string;
  /** Whose checkpoints are evidence: this key, then the retired keys it replaced. */
  readonly trustedPublicKeys: readonly KeyObject[];

  constructor(
    private readonly privateKey: KeyObject,
    retiredPublicKeys: readonly KeyObject[] = [],
  ) {
    if (privateKey.asymmetricKeyType !== 'ed25519') {
      throw new TypeError(`the audit signing key must be Ed25519, got ${privateKey.asymmetricKeyType ?? 'a symmetric key'}`);
    }
    this.publicKey = createPublicKey(privateKey);
    this.publicKeyPem = this.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    this.fingerprint = publicKeyFingerprint(this.publicKey);
    this.trustedPublicKeys = [this.publicKey, ...retiredPublicKeys];
  }

  static fromPem(pem: string, retiredPublicKeysPem: readonly string[] = []): AuditSigner {
    return new AuditSigner(createPrivateKey(pem), retiredPublicKeysPem.map((key) => createPublicKey(key)));
  }

  /** Base64 Ed25519 signature of the UTF-8 bytes of `payload`. */
  sign(payload: string): string {
    return sign(null, Buffer.from(payload, 'utf8'), this.privateKey).toString('base64');
  }
}

export function publicKeyFingerprint(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** True when `signature` (base64) is `publicKey`'s Ed25519 signature of `payload`. */
export function verifySignature(publicKey: KeyObject, payload: string, signature: string): boolean {
  try {
    return verify(null, Buffer.from(payload, 'utf8'), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * Development and tests: a key generated on first start and kept under the data directory
 * (persistedOnce: one key wins among processes starting at once), with its public half
 * beside it for offline verifiers.
 */
export function persistedSigningKeyPem(dataDir: string): string {
  const pem = persistedOnce(dataDir, DEV_PRIVATE_KEY_FILE, () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const publicFile = path.join(dataDir, DEV_PUBLIC_KEY_FILE);
  if (!existsSync(publicFile)) {
    writeFileSync(publicFile, AuditSigner.fromPem(pem).publicKeyPem, { mode: 0o644 });
  }
  return pem;
}
