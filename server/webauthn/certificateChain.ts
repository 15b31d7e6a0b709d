import { X509Certificate } from 'node:crypto';

/** Why a certificate chain did not lead to a trusted root. */
export type ChainFailure = 'empty' | 'too_long' | 'unparsable' | 'outside_validity' | 'issuer_not_a_ca' | 'broken' | 'untrusted';

export type ChainVerification = { valid: true } | { valid: false; reason: ChainFailure };

/** Attestation and MDS chains are a leaf, an intermediate or two, and a root; anything longer is refused. */
const MAX_CHAIN_LENGTH = 5;

/** Parses DER certificates; null when any of them is not one. */
export function parseCertificates(ders: readonly Uint8Array[]): X509Certificate[] | null {
  try {
    return ders.map((der) => new X509Certificate(Buffer.from(der)));
  } catch {
    return null;
  }
}

/** Every CERTIFICATE block of a PEM text (comments around them are allowed), parsed. */
export function parsePemCertificates(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((block) => new X509Certificate(block));
}

export function withinValidity(certificate: X509Certificate, now: Date): boolean {
  return new Date(certificate.validFrom) <= now && now <= new Date(certificate.validTo);
}

/** `issuer` named and signed `certificate` (OpenSSL's issuer check, then the signature itself). */
function issuedBy(certificate: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * Whether `chain` (leaf first, as an x5c carries it) leads to one of `anchors`: every
 * certificate within its validity at `now`, each signed by the next, every issuer a CA, and
 * the last one issued by an anchor, or itself an anchor (a vendor may list its attestation
 * certificate as the root, and an x5c may carry the root too).
 *
 * Nothing is fetched: certificate revocation lists are not consulted. For attestations the
 * FIDO metadata's status reports say which models and attestation keys are compromised, and
 * the MDS blob's own `nextUpdate` bounds how old that news can be.
 */
export function verifyCertificateChain({
  chain,
  anchors,
  now,
}: {
  chain: readonly X509Certificate[];
  anchors: readonly X509Certificate[];
  now: Date;
}): ChainVerification {
  // An empty x5c proves nothing.
  if (chain.length === 0) return { valid: false, reason: 'empty' };
  // A chain longer than any real one is refused before any signature is checked.
  if (chain.length > MAX_CHAIN_LENGTH) return { valid: false, reason: 'too_long' };
  const usableAnchors = anchors.filter((anchor) => withinValidity(anchor, now));
  for (const [index, certificate] of chain.entries()) {
    // Every certificate on the path must be valid now, the leaf included.
    if (!withinValidity(certificate, now)) return { valid: false, reason: 'outside_validity' };
    // The path ends at a certificate that is itself trusted…
    if (usableAnchors.some((anchor) => anchor.raw.equals(certificate.raw))) return { valid: true };
    // …or at one a trusted root (a CA) signed.
    if (usableAnchors.some((anchor) => anchor.ca && issuedBy(certificate, anchor))) return { valid: true };
    const issuer = chain[index + 1];
    // The x5c ran out before reaching a trusted root.
    if (!issuer) return { valid: false, reason: 'untrusted' };
    // Only a CA may issue certificates: a leaf cannot vouch for another leaf.
    if (!issuer.ca) return { valid: false, reason: 'issuer_not_a_ca' };
    // Each certificate is signed by the next one in the x5c.
    if (!issuedBy(certificate, issuer)) return { valid: false, reason: 'broken' };
  }
  return { valid: false, reason: 'untrusted' };
}
