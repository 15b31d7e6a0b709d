import { createHash, type X509Certificate } from 'node:crypto';
import { parseCertificates, verifyCertificateChain } from './certificateChain.ts';
import type { FidoMetadata, KeyModelStatement } from './fidoMetadata.ts';

/**
 * What a registration's attestation proves about the key's model, judged against the FIDO
 * metadata (docs/threat-model.md G16). SimpleWebAuthn has already checked, for each format,
 * that the attestation statement is well formed and that its leaf certificate (x5c[0]) signed
 * this very credential (packed, fido-u2f, tpm) or certifies its public key (apple); for packed,
 * also that the leaf names the same AAGUID as the authenticator data. What it cannot know is
 * whether to trust that leaf: that is this step, a chain from x5c[0] to one of the roots the
 * model's metadata statement lists.
 */
export type AttestationTrust =
  | {
      attested: true;
      /** The certified model: its AAGUID (FIDO2) or, for U2F, null with its attestation key identifier. */
      certifiedAaguid: string | null;
      attestationKeyIdentifier: string | null;
      certificationLevel: string | null;
      description: string;
    }
  | { attested: false; reason: UnattestedReason };

export type UnattestedReason =
  /** The authenticator sent no attestation (`none`). */
  | 'none'
  /** Self attestation: signed with the credential's own key, no certificate (packed without x5c). */
  | 'self'
  /** A format Argus does not judge against metadata (android-key, android-safetynet). */
  | 'format_unsupported'
  /** No metadata is loaded (FIDO_MDS_FILE unset, or no blob verified yet). */
  | 'no_metadata'
  /** The metadata has no statement for this model. */
  | 'unknown_model'
  /** The metadata reports this model compromised. */
  | 'model_compromised'
  /** x5c does not lead to a root the model's statement lists (self-signed, another vendor's, forged). */
  | 'untrusted_chain';

/** Formats whose x5c leaf SimpleWebAuthn has bound to the credential, so a chain check completes the proof. */
const CERTIFIED_FORMATS = new Set(['packed', 'fido-u2f', 'tpm', 'apple']);

const ZERO_AAGUID = '00000000-0000-0000-0000-000000000000';

/** Reads one DER TLV at `offset`: its tag, and where its contents start and end. */
function readTlv(der: Buffer, offset: number): { tag: number; start: number; end: number } {
  const tag = der[offset]!;
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    length = 0;
    for (let i = 0; i < bytes; i += 1) length = length * 256 + der[start + i]!;
    start += bytes;
  }
  return { tag, start, end: start + length };
}

/**
 * A U2F attestation key's identifier as FIDO metadata lists it (MDS3
 * `attestationCertificateKeyIdentifiers`): the hex SHA-1 of the certificate's subjectPublicKey
 * bit string, as RFC 5280 §4.2.1.2 method 1 computes a key identifier.
 */
export function attestationKeyIdentifier(certificate: X509Certificate): string {
  const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
  const outer = readTlv(spki, 0);
  const algorithm = readTlv(spki, outer.start);
  const bitString = readTlv(spki, algorithm.end);
  // Skip the bit string's leading "unused bits" byte.
  return createHash('sha1').update(spki.subarray(bitString.start + 1, bitString.end)).digest('hex');
}

export function verifyAttestationTrust({
  metadata,
  format,
  x5c,
  aaguid,
  now = new Date(),
}: {
  metadata: FidoMetadata;
  format: string;
  /** The attestation statement's certificates, leaf first; empty when it has none. */
  x5c: readonly Uint8Array[];
  aaguid: string;
  now?: Date;
}): AttestationTrust {
  // `none` carries no statement at all.
  if (format === 'none') return { attested: false, reason: 'none' };
  // Packed without a certificate is signed by the credential itself: it proves nothing about the model.
  if (format === 'packed' && x5c.length === 0) return { attested: false, reason: 'self' };
  if (!CERTIFIED_FORMATS.has(format) || x5c.length === 0) return { attested: false, reason: 'format_unsupported' };
  if (!metadata.current) return { attested: false, reason: 'no_metadata' };
  const chain = parseCertificates(x5c);
  if (!chain) return { attested: false, reason: 'untrusted_chain' };

  // FIDO2 models are found by AAGUID; U2F keys report the zero AAGUID and are found by their attestation key.
  const keyIdentifier = format === 'fido-u2f' ? attestationKeyIdentifier(chain[0]!) : null;
  const statement: KeyModelStatement | null =
    keyIdentifier !== null ? metadata.statementForKeyIdentifier(keyIdentifier) : aaguid === ZERO_AAGUID ? null : metadata.statementForAaguid(aaguid);
  if (!statement) return { attested: false, reason: 'unknown_model' };
  // A model reported compromised proves nothing any more, whatever its chain.
  if (statement.compromised) return { attested: false, reason: 'model_compromised' };
  // The one check that makes an attestation worth anything: a chain to the model's own roots.
  if (!verifyCertificateChain({ chain, anchors: statement.attestationRoots, now }).valid) return { attested: false, reason: 'untrusted_chain' };
  return {
    attested: true,
    certifiedAaguid: keyIdentifier !== null ? statement.aaguid : aaguid.toLowerCase(),
    attestationKeyIdentifier: keyIdentifier,
    certificationLevel: statement.certificationLevel,
    description: statement.description,
  };
}
