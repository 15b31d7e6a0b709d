import type { KeyObject } from 'node:crypto';
import type { ExportManifest } from '../../shared/audit.ts';
import { canonicalJson } from './canonicalJson.ts';
import { publicKeyFingerprint, verifySignature, type AuditSigner } from './signingKey.ts';

export type UnsignedManifest = Omit<ExportManifest, 'signature' | 'signingKey'>;

/** The bytes a manifest's signature covers: RFC 8785 JSON of every member but `signature`. */
export function manifestPayload(manifest: Omit<ExportManifest, 'signature'>): string {
  const { signature: _ignored, ...signed } = manifest as ExportManifest;
  return canonicalJson(signed);
}

export function signManifest(signer: AuditSigner, unsigned: UnsignedManifest): ExportManifest {
  const withKey = { ...unsigned, signingKey: { algorithm: 'Ed25519' as const, fingerprint: signer.fingerprint } };
  return { ...withKey, signature: signer.sign(manifestPayload(withKey)) };
}

export type ManifestSignatureCheck = { valid: true } | { valid: false; reason: 'wrong_key' | 'bad_signature' };

/**
 * Checks a manifest against the trusted public keys (the signing key, and retired ones for
 * older exports); never against a key the manifest supplies, only one it names by fingerprint.
 */
export function verifyManifestSignature(manifest: ExportManifest, trusted: KeyObject | readonly KeyObject[]): ManifestSignatureCheck {
  const key = (Array.isArray(trusted) ? trusted : [trusted]).find((candidate: KeyObject) => publicKeyFingerprint(candidate) === manifest.signingKey?.fingerprint);
  if (!key) return { valid: false, reason: 'wrong_key' };
  return verifySignature(key, manifestPayload(manifest), manifest.signature) ? { valid: true } : { valid: false, reason: 'bad_signature' };
}
