import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createMdsSigner,
  createRootCa,
  createVendor,
  dateFromToday,
  issueCertificate,
  metadataEntry,
  signMetadataBlob,
  type TestCertificate,
} from '../test/fidoFixtures.ts';
import { attestationKeyIdentifier, verifyAttestationTrust } from './attestationTrust.ts';
import { parsePemCertificates, verifyCertificateChain } from './certificateChain.ts';
import { FidoMetadata, isPastNextUpdate, verifyMetadataBlob } from './fidoMetadata.ts';

/**
 * The FIDO metadata blob and the attestation chain, without a server: each guard of
 * verifyMetadataBlob, verifyCertificateChain and verifyAttestationTrust has a test here that
 * fails when the guard is removed. Registration and policy end to end: server/keys/attestation.test.ts.
 */
const AAGUID = '2fc0579f-8113-47ea-b116-bb5a8db9202a';
let mds: { root: TestCertificate; signer: TestCertificate };
let vendor: { root: TestCertificate; attestation: TestCertificate };
const x509 = (cert: TestCertificate) => new X509Certificate(cert.der);
const verify = (jwt: string, roots = [x509(mds.root)], now = new Date()) => verifyMetadataBlob({ jwt, roots, now });

beforeAll(async () => {
  mds = await createMdsSigner();
  vendor = await createVendor(AAGUID);
});

describe('the MDS blob', () => {
  it('loads a blob signed under the configured root, with each model’s certification level and compromise state', () => {
    const jwt = signMetadataBlob({
      signer: mds.signer,
      no: 7,
      entries: [
        metadataEntry({ aaguid: AAGUID, roots: [vendor.root], description: 'Test Key NFC' }),
        metadataEntry({
          aaguid: '11111111-2222-3333-4444-555555555555',
          roots: [vendor.root],
          statusReports: [
            { status: 'FIDO_CERTIFIED_L2', effectiveDate: '2023-01-01' },
            { status: 'USER_VERIFICATION_BYPASS', effectiveDate: '2024-06-01' },
          ],
        }),
        // Neither AAGUID nor key identifiers (a UAF entry): nothing Argus can look up.
        { aaid: '4e4e#4005', statusReports: [], timeOfLastStatusChange: '2024-01-01' },
      ],
    });
    const result = verify(jwt);
    expect(result).toMatchObject({ verified: true, skippedEntries: 1, metadata: { no: 7 } });
    const metadata = new FidoMetadata(true);
    if (!result.verified) throw new Error('not verified');
    metadata.install(result.metadata);
    expect(metadata.statementForAaguid(AAGUID.toUpperCase())).toMatchObject({ description: 'Test Key NFC', certificationLevel: 'FIDO_CERTIFIED_L1', compromised: false });
    expect(metadata.statementForAaguid('11111111-2222-3333-4444-555555555555')).toMatchObject({ certificationLevel: 'FIDO_CERTIFIED_L2', latestStatus: 'USER_VERIFICATION_BYPASS', compromised: true });
    expect(metadata.compromisedModels().map((model) => model.aaguid)).toEqual(['11111111-2222-3333-4444-555555555555']);
    expect(metadata.summary()).toMatchObject({ status: 'loaded', no: 7, statements: 2, lastError: null });
  });

  it('judges compromise by the latest status report, ordered by effective date', () => {
    const jwt = signMetadataBlob({
      signer: mds.signer,
      entries: [
        metadataEntry({
          aaguid: AAGUID,
          roots: [vendor.root],
          // Listed out of order: the compromise is older than the certification that followed the fix.
          statusReports: [
            { status: 'FIDO_CERTIFIED_L1', effectiveDate: '2025-02-01' },
            { status: 'ATTESTATION_KEY_COMPROMISE', effectiveDate: '2024-01-01' },
          ],
        }),
      ],
    });
    const result = verify(jwt);
    expect(result.verified && result.metadata.statements[0]).toMatchObject({ latestStatus: 'FIDO_CERTIFIED_L1', compromised: false });
  });

  it('refuses a blob with a bad signature', () => {
    const result = verify(signMetadataBlob({ signer: mds.signer, entries: [], badSignature: true }));
    expect(result).toMatchObject({ verified: false, error: 'MDS_SIGNATURE_INVALID' });
  });

  it('refuses a blob whose payload was changed after signing', () => {
    const [header, , signature] = signMetadataBlob({ signer: mds.signer, entries: [] }).split('.');
    const payload = Buffer.from(JSON.stringify({ no: 99, nextUpdate: dateFromToday(30), entries: [] })).toString('base64url');
    expect(verify(`${header}.${payload}.${signature}`)).toMatchObject({ verified: false, error: 'MDS_SIGNATURE_INVALID' });
  });

  it('refuses a blob signed under another root, or by a certificate its x5c does not chain', async () => {
    const impostor = await createMdsSigner();
    expect(verify(signMetadataBlob({ signer: impostor.signer, entries: [] }))).toMatchObject({ verified: false, error: 'MDS_CHAIN_INVALID' });
    // The impostor's root itself in the x5c changes nothing: the chain must end at a root Argus trusts.
    expect(verify(signMetadataBlob({ signer: impostor.signer, chain: [impostor.signer, impostor.root], entries: [] }))).toMatchObject({ verified: false, error: 'MDS_CHAIN_INVALID' });
    // A genuine x5c with a blob signed by another key: the chain is fine, the signature is not.
    const [, payload, signature] = signMetadataBlob({ signer: impostor.signer, entries: [] }).split('.');
    const [header] = signMetadataBlob({ signer: mds.signer, entries: [] }).split('.');
    expect(verify(`${header}.${payload}.${signature}`)).toMatchObject({ verified: false, error: 'MDS_SIGNATURE_INVALID' });
  });

  it('refuses a blob past its nextUpdate, and takes one through its nextUpdate day', () => {
    expect(verify(signMetadataBlob({ signer: mds.signer, entries: [], nextUpdate: dateFromToday(-1) }))).toMatchObject({ verified: false, error: 'MDS_EXPIRED' });
    expect(verify(signMetadataBlob({ signer: mds.signer, entries: [], nextUpdate: dateFromToday(0) }))).toMatchObject({ verified: true });
    expect(isPastNextUpdate('2026-03-01', new Date('2026-03-01T23:59:59Z'))).toBe(false);
    expect(isPastNextUpdate('2026-03-01', new Date('2026-03-02T00:00:00Z'))).toBe(true);
    expect(isPastNextUpdate('not-a-date', new Date())).toBe(true);
  });

  it('refuses alg none, HMAC, a JWT without x5c, and what is not a JWT at all', () => {
    const valid = signMetadataBlob({ signer: mds.signer, entries: [] });
    const [header, payload] = valid.split('.') as [string, string];
    const withHeader = (changes: Record<string, unknown>) => {
      const decoded = JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, unknown>;
      return `${Buffer.from(JSON.stringify({ ...decoded, ...changes })).toString('base64url')}.${payload}`;
    };
    expect(verify(`${withHeader({ alg: 'none' })}.`)).toMatchObject({ verified: false, error: 'MDS_SIGNATURE_INVALID' });
    expect(verify(`${withHeader({ alg: 'HS256' })}.AAAA`)).toMatchObject({ verified: false, error: 'MDS_SIGNATURE_INVALID' });
    expect(verify(`${withHeader({ x5c: undefined })}.AAAA`)).toMatchObject({ verified: false, error: 'MDS_MALFORMED' });
    expect(verify('<!doctype html>')).toMatchObject({ verified: false, error: 'MDS_MALFORMED' });
  });

  it('verifies RS256, the algorithm the FIDO Alliance signs MDS3 with, and refuses an RSA signature under an EC certificate', async () => {
    const rsaSigner = await issueCertificate({ issuer: mds.root, subject: 'CN=mds rsa, O=Argus Tests, C=SE', rsa: true });
    expect(verify(signMetadataBlob({ signer: rsaSigner, alg: 'RS256', entries: [] }))).toMatchObject({ verified: true });
    expect(verify(signMetadataBlob({ signer: rsaSigner, alg: 'RS256', entries: [], badSignature: true }))).toMatchObject({ verified: false, error: 'MDS_SIGNATURE_INVALID' });
    // The header names the EC leaf, the signature is RSA: refused, never thrown.
    const [ecHeader] = signMetadataBlob({ signer: mds.signer, entries: [] }).split('.');
    const [, payload, rsaSignature] = signMetadataBlob({ signer: rsaSigner, alg: 'RS256', entries: [] }).split('.');
    const rs256Header = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(ecHeader!, 'base64url').toString()), alg: 'RS256' })).toString('base64url');
    expect(verify(`${rs256Header}.${payload}.${rsaSignature}`)).toMatchObject({ verified: false, error: 'MDS_SIGNATURE_INVALID' });
  });
});

describe('a certificate chain', () => {
  it('leads to a root through an intermediate CA, within every validity period', async () => {
    const root = await createRootCa('CN=Chain Root');
    const intermediate = await issueCertificate({ issuer: root, subject: 'CN=Chain Intermediate', ca: true });
    const leaf = await issueCertificate({ issuer: intermediate, subject: 'CN=Chain Leaf' });
    const anchors = [x509(root)];
    expect(verifyCertificateChain({ chain: [x509(leaf), x509(intermediate)], anchors, now: new Date() })).toEqual({ valid: true });
    // The intermediate left out: nothing links the leaf to the root.
    expect(verifyCertificateChain({ chain: [x509(leaf)], anchors, now: new Date() })).toEqual({ valid: false, reason: 'untrusted' });
    // A year from now the leaf has expired.
    expect(verifyCertificateChain({ chain: [x509(leaf), x509(intermediate)], anchors, now: new Date(Date.now() + 400 * 86_400_000) })).toEqual({ valid: false, reason: 'outside_validity' });
  });

  it('refuses a leaf that issues another certificate: only a CA may', async () => {
    const root = await createRootCa('CN=Chain Root');
    const leaf = await issueCertificate({ issuer: root, subject: 'CN=Not A CA' });
    const underLeaf = await issueCertificate({ issuer: leaf, subject: 'CN=Under A Leaf' });
    expect(verifyCertificateChain({ chain: [x509(underLeaf), x509(leaf)], anchors: [x509(root)], now: new Date() })).toEqual({ valid: false, reason: 'issuer_not_a_ca' });
  });

  it('refuses an x5c whose certificates do not sign one another', async () => {
    const root = await createRootCa('CN=Chain Root');
    const intermediate = await issueCertificate({ issuer: root, subject: 'CN=Chain Intermediate', ca: true });
    const stranger = await issueCertificate({ issuer: await createRootCa('CN=Elsewhere'), subject: 'CN=Stranger' });
    expect(verifyCertificateChain({ chain: [x509(stranger), x509(intermediate)], anchors: [x509(root)], now: new Date() })).toEqual({ valid: false, reason: 'broken' });
  });

  it('reads every certificate of a PEM bundle with comments around them', async () => {
    const one = await createRootCa('CN=One');
    const two = await createRootCa('CN=Two');
    expect(parsePemCertificates(`# one\n${one.pem}\n# two\n${two.pem}`).map((cert) => cert.subject)).toEqual(['CN=One', 'CN=Two']);
  });
});

describe('an attestation judged against the metadata', () => {
  async function metadataWith(entries: Array<Record<string, unknown>>): Promise<FidoMetadata> {
    const result = verify(signMetadataBlob({ signer: mds.signer, entries }));
    if (!result.verified) throw new Error(result.detail);
    const metadata = new FidoMetadata(true);
    metadata.install(result.metadata);
    return metadata;
  }

  it('is attested when its x5c chains to a root of its model’s statement, whatever certified format carries it (tpm, apple)', async () => {
    const metadata = await metadataWith([metadataEntry({ aaguid: AAGUID, roots: [vendor.root] })]);
    for (const format of ['packed', 'tpm', 'apple']) {
      expect(verifyAttestationTrust({ metadata, format, x5c: [vendor.attestation.der], aaguid: AAGUID })).toMatchObject({ attested: true, certifiedAaguid: AAGUID, certificationLevel: 'FIDO_CERTIFIED_L1' });
    }
    // Another vendor's root, a self-signed certificate: not attested.
    const other = await createVendor(AAGUID, 'Other Vendor');
    const selfSigned = await createRootCa('CN=Self Signed, OU=Authenticator Attestation, O=Nobody, C=SE', { ca: false });
    for (const cert of [other.attestation, selfSigned]) {
      expect(verifyAttestationTrust({ metadata, format: 'tpm', x5c: [cert.der], aaguid: AAGUID })).toEqual({ attested: false, reason: 'untrusted_chain' });
    }
  });

  it('is not attested without metadata, for an unknown model, a compromised one, or none, self and other formats', async () => {
    const metadata = await metadataWith([
      metadataEntry({ aaguid: AAGUID, roots: [vendor.root], statusReports: [{ status: 'USER_KEY_PHYSICAL_COMPROMISE', effectiveDate: '2024-01-01' }] }),
    ]);
    const x5c = [vendor.attestation.der];
    expect(verifyAttestationTrust({ metadata: new FidoMetadata(true), format: 'packed', x5c, aaguid: AAGUID })).toEqual({ attested: false, reason: 'no_metadata' });
    expect(verifyAttestationTrust({ metadata, format: 'packed', x5c, aaguid: AAGUID })).toEqual({ attested: false, reason: 'model_compromised' });
    expect(verifyAttestationTrust({ metadata, format: 'packed', x5c, aaguid: '99999999-2222-3333-4444-555555555555' })).toEqual({ attested: false, reason: 'unknown_model' });
    expect(verifyAttestationTrust({ metadata, format: 'none', x5c: [], aaguid: AAGUID })).toEqual({ attested: false, reason: 'none' });
    expect(verifyAttestationTrust({ metadata, format: 'packed', x5c: [], aaguid: AAGUID })).toEqual({ attested: false, reason: 'self' });
    expect(verifyAttestationTrust({ metadata, format: 'android-key', x5c, aaguid: AAGUID })).toEqual({ attested: false, reason: 'format_unsupported' });
  });

  it('finds a U2F model by its attestation key identifier (SHA-1 of the public key bits)', async () => {
    const u2fRoot = await createRootCa('CN=U2F Root, O=Test Vendor AB, C=SE');
    const u2fCert = await issueCertificate({ issuer: u2fRoot, subject: 'CN=U2F Batch, O=Test Vendor AB, C=SE' });
    const keyId = attestationKeyIdentifier(new X509Certificate(u2fCert.der));
    // The same identifier a Subject Key Identifier extension made by RFC 5280 method 1 would carry.
    const spki = new X509Certificate(u2fCert.der).publicKey.export({ type: 'spki', format: 'der' });
    expect(keyId).toMatch(/^[0-9a-f]{40}$/);
    expect(spki.subarray(-65)[0]).toBe(0x04);
    const metadata = await metadataWith([metadataEntry({ attestationCertificateKeyIdentifiers: [keyId], roots: [u2fRoot], description: 'Test U2F Key' })]);
    expect(verifyAttestationTrust({ metadata, format: 'fido-u2f', x5c: [u2fCert.der], aaguid: '00000000-0000-0000-0000-000000000000' })).toMatchObject({
      attested: true,
      certifiedAaguid: null,
      attestationKeyIdentifier: keyId,
    });
  });
});
