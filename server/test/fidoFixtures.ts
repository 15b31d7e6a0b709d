/**
 * Software attestations and FIDO metadata for tests (issue #22, threat-model G16): test CAs,
 * attestation certificates, packed and fido-u2f attestation objects over real WebAuthn bytes,
 * and MDS3 blobs (JWTs) signed under a test root that replaces the shipped FIDO root through
 * FIDO_MDS_ROOT_FILE. Nothing here is trusted by a real deployment.
 *
 * Certificates are made with @peculiar/x509 (already installed: @simplewebauthn/server parses
 * certificates with it); signatures with node:crypto.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { KeyObject, createHash, generateKeyPairSync, randomBytes, sign, webcrypto } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import type { SoftAuthenticator, SoftCredential } from './softAuthenticator.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ES256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

/** A certificate with its key pair. */
export interface TestCertificate {
  certificate: x509.X509Certificate;
  keys: CryptoKeyPair;
  der: Buffer;
  pem: string;
  privateKey: KeyObject;
}

function wrap(certificate: x509.X509Certificate, keys: CryptoKeyPair): TestCertificate {
  return {
    certificate,
    keys,
    der: Buffer.from(certificate.rawData),
    pem: certificate.toString('pem'),
    privateKey: KeyObject.from(keys.privateKey),
  };
}

const RSA_2048 = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' } as const;

async function newKeys(rsa = false): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(rsa ? RSA_2048 : EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** A self-signed CA (or, with `ca: false`, a self-signed leaf). */
export async function createRootCa(name: string, { ca = true, notBefore = new Date(Date.now() - DAY), notAfter = new Date(Date.now() + 3650 * DAY) } = {}): Promise<TestCertificate> {
  const keys = await newKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    keys,
    notBefore,
    notAfter,
    signingAlgorithm: ES256,
    extensions: [new x509.BasicConstraintsExtension(ca, undefined, true), new x509.KeyUsagesExtension(ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature, true)],
  });
  return wrap(certificate, keys);
}

/** The FIDO extension id-fido-gen-ce-aaguid (1.3.6.1.4.1.45724.1.1.4): an OCTET STRING of the 16 AAGUID bytes. */
function aaguidExtension(aaguid: string): x509.Extension {
  return new x509.Extension('1.3.6.1.4.1.45724.1.1.4', false, Buffer.concat([Buffer.from([0x04, 0x10]), Buffer.from(aaguid.replaceAll('-', ''), 'hex')]));
}

/** A certificate `issuer` signs: an intermediate CA, or a leaf (an attestation or MDS signing certificate). */
export async function issueCertificate({
  issuer,
  subject,
  ca = false,
  aaguid,
  rsa = false,
  notBefore = new Date(Date.now() - DAY),
  notAfter = new Date(Date.now() + 365 * DAY),
}: {
  issuer: TestCertificate;
  subject: string;
  ca?: boolean;
  aaguid?: string;
  /** An RSA key (the real MDS3 signer's kind) instead of P-256. */
  rsa?: boolean;
  notBefore?: Date;
  notAfter?: Date;
}): Promise<TestCertificate> {
  const keys = await newKeys(rsa);
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(ca, undefined, true)];
  if (ca) extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true));
  if (aaguid) extensions.push(aaguidExtension(aaguid));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'),
    subject,
    issuer: issuer.certificate.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ES256,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    extensions,
  });
  return wrap(certificate, keys);
}

/** The subject WebAuthn §8.2.1 requires of a packed attestation certificate. */
export const ATTESTATION_SUBJECT = 'C=SE, O=Test Vendor AB, OU=Authenticator Attestation, CN=Test Key Batch 1';

/** A vendor: an attestation root and a batch attestation certificate for one model (AAGUID). */
export async function createVendor(aaguid: string, name = 'Test Vendor'): Promise<{ root: TestCertificate; attestation: TestCertificate }> {
  const root = await createRootCa(`CN=${name} Attestation Root, O=${name}, C=SE`);
  const attestation = await issueCertificate({ issuer: root, subject: ATTESTATION_SUBJECT, aaguid });
  return { root, attestation };
}

export type TestAttestation =
  /** fmt packed, full attestation: x5c (leaf first) and a signature by its leaf. */
  | { format: 'packed'; x5c: TestCertificate[]; badSignature?: boolean }
  /** fmt packed, self attestation: signed by the credential itself, no x5c. */
  | { format: 'packed-self' }
  /** fmt fido-u2f: one certificate, the zero AAGUID. */
  | { format: 'fido-u2f'; certificate: TestCertificate };

/**
 * Answers registration options like SoftAuthenticator.register, with a real attestation of
 * the given kind; the new credential joins `authenticator.credentials`, so it can sign in
 * and unlock afterwards.
 */
export function registerWithAttestation(authenticator: SoftAuthenticator, options: { challenge: string }, attestation: TestAttestation): Record<string, unknown> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x!, 'base64url');
  const y = Buffer.from(jwk.y!, 'base64url');
  const publicKeyCose = isoCBOR.encode(
    new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, new Uint8Array(x)],
      [-3, new Uint8Array(y)],
    ]),
  );
  const credential: SoftCredential = { id: randomBytes(32), privateKey, publicKeyCose, signCount: 0 };
  const aaguid = attestation.format === 'fido-u2f' ? '00000000-0000-0000-0000-000000000000' : (authenticator.options.aaguid ?? '00000000-0000-0000-0000-000000000000');
  const rpIdHash = createHash('sha256').update(authenticator.rpId).digest();
  const idLength = Buffer.alloc(2);
  idLength.writeUInt16BE(credential.id.length);
  // Flags: user present, user verified, attested credential data.
  const authData = Buffer.concat([rpIdHash, Buffer.from([0x45]), Buffer.alloc(4), Buffer.from(aaguid.replaceAll('-', ''), 'hex'), idLength, credential.id, Buffer.from(publicKeyCose)]);
  const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin: authenticator.origin, crossOrigin: false }));
  const clientDataHash = createHash('sha256').update(clientDataJSON).digest();

  let fmt: string;
  let attStmt: Map<string, unknown>;
  if (attestation.format === 'fido-u2f') {
    // FIDO U2F raw message: 0x00 || rpIdHash || clientDataHash || credentialId || uncompressed public key.
    const signed = Buffer.concat([Buffer.from([0x00]), rpIdHash, clientDataHash, credential.id, Buffer.from([0x04]), x, y]);
    fmt = 'fido-u2f';
    attStmt = new Map<string, unknown>([
      ['sig', new Uint8Array(sign('sha256', signed, { key: attestation.certificate.privateKey, dsaEncoding: 'der' }))],
      ['x5c', [new Uint8Array(attestation.certificate.der)]],
    ]);
  } else {
    const signed = Buffer.concat([authData, clientDataHash]);
    const signer = attestation.format === 'packed' ? attestation.x5c[0]!.privateKey : privateKey;
    const signature = sign('sha256', signed, { key: signer, dsaEncoding: 'der' });
    if (attestation.format === 'packed' && attestation.badSignature) signature[signature.length - 1]! ^= 0x01;
    fmt = 'packed';
    attStmt = new Map<string, unknown>([
      ['alg', -7],
      ['sig', new Uint8Array(signature)],
    ]);
    if (attestation.format === 'packed') attStmt.set('x5c', attestation.x5c.map((cert) => new Uint8Array(cert.der)));
  }
  const attestationObject = isoCBOR.encode(
    new Map<string, unknown>([
      ['fmt', fmt],
      ['attStmt', attStmt],
      ['authData', new Uint8Array(authData)],
    ]) as never,
  );
  authenticator.credentials.push(credential);
  const id = credential.id.toString('base64url');
  return {
    id,
    rawId: id,
    type: 'public-key',
    response: { clientDataJSON: clientDataJSON.toString('base64url'), attestationObject: Buffer.from(attestationObject).toString('base64url'), transports: ['usb'] },
    clientExtensionResults: {},
    authenticatorAttachment: 'cross-platform',
  };
}

/** One MDS3 entry: a FIDO2 model (AAGUID) or a U2F one (attestation key identifiers), its roots and status reports. */
export function metadataEntry({
  aaguid,
  attestationCertificateKeyIdentifiers,
  roots,
  statusReports = [{ status: 'FIDO_CERTIFIED_L1', effectiveDate: '2024-01-01' }],
  description = 'Test Key',
}: {
  aaguid?: string;
  attestationCertificateKeyIdentifiers?: string[];
  roots: TestCertificate[];
  statusReports?: Array<{ status: string; effectiveDate?: string }>;
  description?: string;
}): Record<string, unknown> {
  return {
    ...(aaguid ? { aaguid } : {}),
    ...(attestationCertificateKeyIdentifiers ? { attestationCertificateKeyIdentifiers } : {}),
    metadataStatement: {
      legalHeader: 'Test metadata: not from the FIDO Alliance.',
      description,
      ...(aaguid ? { aaguid } : {}),
      attestationTypes: ['basic_full'],
      attestationRootCertificates: roots.map((root) => root.der.toString('base64')),
    },
    statusReports,
    timeOfLastStatusChange: '2024-01-01',
  };
}

/** The FIDO MDS signing side: a root (shipped to the node under test) and the blob signer it certifies. */
export async function createMdsSigner(): Promise<{ root: TestCertificate; signer: TestCertificate }> {
  const root = await createRootCa('CN=Test FIDO MDS Root, O=Argus Tests, C=SE');
  const signer = await issueCertificate({ issuer: root, subject: 'CN=mds.test, O=Argus Tests, C=SE' });
  return { root, signer };
}

/** YYYY-MM-DD, `days` from today (UTC). */
export function dateFromToday(days: number): string {
  return new Date(Date.now() + days * DAY).toISOString().slice(0, 10);
}

/** An MDS3 blob: a compact JWS (ES256, or RS256 for an RSA signer), its x5c the signer's chain. */
export function signMetadataBlob({
  signer,
  alg = 'ES256',
  chain = [signer],
  entries,
  no = 1,
  nextUpdate = dateFromToday(30),
  badSignature = false,
}: {
  signer: TestCertificate;
  alg?: 'ES256' | 'RS256';
  chain?: TestCertificate[];
  entries: Array<Record<string, unknown>>;
  no?: number;
  nextUpdate?: string;
  badSignature?: boolean;
}): string {
  const header = Buffer.from(JSON.stringify({ alg, typ: 'JWT', x5c: chain.map((cert) => cert.der.toString('base64')) })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ legalHeader: 'Test metadata', no, nextUpdate, entries })).toString('base64url');
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), alg === 'ES256' ? { key: signer.privateKey, dsaEncoding: 'ieee-p1363' } : signer.privateKey);
  if (badSignature) signature[0]! ^= 0x01;
  return `${header}.${payload}.${signature.toString('base64url')}`;
}

/** A temporary directory with the files a node under test reads: the MDS root and the blob. */
export function metadataFiles(root: TestCertificate): { dir: string; rootFile: string; blobFile: string; writeBlob(jwt: string): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'argus-mds-'));
  const rootFile = path.join(dir, 'root.pem');
  const blobFile = path.join(dir, 'blob.jwt');
  writeFileSync(rootFile, root.pem);
  return { dir, rootFile, blobFile, writeBlob: (jwt) => writeFileSync(blobFile, jwt) };
}
