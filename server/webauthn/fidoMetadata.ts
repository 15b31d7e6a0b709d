import { constants, verify, type KeyObject, type X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { parseCertificates, verifyCertificateChain } from './certificateChain.ts';

/**
 * The FIDO Metadata Service (MDS3) blob, verified and loaded from a file the operator
 * downloads (https://mds3.fidoalliance.org/). Argus never fetches anything at run time: not
 * the blob, not a revocation list. The blob is a JWT whose x5c chain must end at one of the
 * roots Argus ships (server/webauthn/fido-mds-roots.pem, or FIDO_MDS_ROOT_FILE), whose
 * signature must verify with that chain's leaf, and whose `nextUpdate` must not be past.
 *
 * Why not @simplewebauthn/server's MetadataService (v14): its `initialize` takes MDS *URLs*
 * and downloads them (there is no option for a local blob; local `statements` are taken
 * unverified and without their status reports); its chain check (`validateCertificatePath`)
 * downloads the CRLs named in the certificates, with no timeout, and carries on as "not
 * revoked" when it cannot; it only warns about a blob past `nextUpdate`; and it is a
 * process-wide singleton configured through the equally global SettingsService, where each
 * Argus node (and each test node in one process) needs metadata and roots of its own.
 */

/** Status reports that mean a key model can no longer be trusted (FIDO MDS3 §3.1.4, AuthenticatorStatus). */
export const COMPROMISE_STATUSES = [
  'ATTESTATION_KEY_COMPROMISE',
  'USER_VERIFICATION_BYPASS',
  'USER_KEY_REMOTE_COMPROMISE',
  'USER_KEY_PHYSICAL_COMPROMISE',
  'REVOKED',
] as const;

/** Status reports that state a certification level; the latest of them is the model's. */
const CERTIFICATION_STATUSES = new Set([
  'NOT_FIDO_CERTIFIED',
  'SELF_ASSERTION_SUBMITTED',
  'FIDO_CERTIFIED',
  'FIDO_CERTIFIED_L1',
  'FIDO_CERTIFIED_L1plus',
  'FIDO_CERTIFIED_L2',
  'FIDO_CERTIFIED_L2plus',
  'FIDO_CERTIFIED_L3',
  'FIDO_CERTIFIED_L3plus',
]);

/** Why a blob was not loaded: stable codes for logs, /readyz and the tests. */
export type MetadataLoadError =
  | 'MDS_FILE_UNREADABLE'
  | 'MDS_MALFORMED'
  | 'MDS_CHAIN_INVALID'
  | 'MDS_SIGNATURE_INVALID'
  | 'MDS_EXPIRED'
  | 'MDS_OLDER_THAN_LOADED';

/** What Argus keeps of one metadata entry: a key model. */
export interface KeyModelStatement {
  /** FIDO2 models are named by AAGUID; U2F models by their attestation keys' identifiers. */
  aaguid: string | null;
  attestationKeyIdentifiers: string[];
  description: string;
  /** The model's attestation roots: an attestation chain must end at one of them. */
  attestationRoots: X509Certificate[];
  /** The latest status report, and the latest that states a certification level. */
  latestStatus: string | null;
  /** That report's identity, STATUS@effectiveDate: a key suspended for it is not suspended for it again. */
  latestReport: string | null;
  certificationLevel: string | null;
  /** The latest status report is a compromise (COMPROMISE_STATUSES). */
  compromised: boolean;
}

export interface LoadedMetadata {
  /** The blob's serial number: a newer blob has a higher one. */
  no: number;
  /** YYYY-MM-DD: FIDO publishes the next blob by then. */
  nextUpdate: string;
  statements: KeyModelStatement[];
  loadedAt: Date;
}

export type BlobVerification = { verified: true; metadata: LoadedMetadata; skippedEntries: number } | { verified: false; error: MetadataLoadError; detail: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEY_IDENTIFIER = /^[0-9a-f]{40}$/;

const HeaderSchema = z.object({
  alg: z.string().max(16),
  // RFC 7515 §4.1.6: standard base64 DER, leaf first.
  x5c: z.array(z.string().max(16_384)).min(1).max(5),
});

const PayloadSchema = z.object({
  no: z.number().int().nonnegative(),
  nextUpdate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  entries: z.array(z.unknown()),
});

const StatusReportSchema = z.object({ status: z.string().max(64), effectiveDate: z.string().max(32).optional() });

const EntrySchema = z.object({
  aaguid: z.string().transform((value) => value.toLowerCase()).pipe(z.string().regex(UUID)).optional(),
  attestationCertificateKeyIdentifiers: z.array(z.string().transform((value) => value.toLowerCase()).pipe(z.string().regex(KEY_IDENTIFIER))).optional(),
  metadataStatement: z
    .object({
      description: z.string().max(512).optional(),
      attestationRootCertificates: z.array(z.string().max(16_384)).max(32).default([]),
    })
    .optional(),
  statusReports: z.array(StatusReportSchema).max(256).default([]),
});

/** Decodes the three parts of a compact JWS; null when it is not one. */
function decodeJws(jwt: string): { header: unknown; payload: unknown; signingInput: Buffer; signature: Buffer } | null {
  const parts = jwt.trim().split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]*$/.test(part))) return null;
  const [header, payload, signature] = parts as [string, string, string];
  try {
    return {
      header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')),
      payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')),
      signingInput: Buffer.from(`${header}.${payload}`, 'ascii'),
      signature: Buffer.from(signature, 'base64url'),
    };
  } catch {
    return null;
  }
}

/** RFC 7518 §3: the JWS algorithms an MDS blob may be signed with. `none` and HMAC are never accepted. */
function verifyJwsSignature(alg: string, signingInput: Buffer, signature: Buffer, key: KeyObject): boolean {
  try {
    switch (alg) {
      case 'RS256':
        return verify('sha256', signingInput, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
      case 'RS384':
        return verify('sha384', signingInput, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
      case 'RS512':
        return verify('sha512', signingInput, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
      case 'PS256':
        return verify('sha256', signingInput, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
      case 'ES256':
        return key.asymmetricKeyType === 'ec' && verify('sha256', signingInput, { key, dsaEncoding: 'ieee-p1363' }, signature);
      case 'ES384':
        return key.asymmetricKeyType === 'ec' && verify('sha384', signingInput, { key, dsaEncoding: 'ieee-p1363' }, signature);
      default:
        return false;
    }
  } catch {
    // A key of the wrong type for the algorithm, or a signature of the wrong size.
    return false;
  }
}

/** A blob is current through its nextUpdate day (UTC); from the day after, it is stale. */
export function isPastNextUpdate(nextUpdate: string, now: Date): boolean {
  const dayStart = Date.parse(`${nextUpdate}T00:00:00Z`);
  return Number.isNaN(dayStart) || now.getTime() >= dayStart + 86_400_000;
}

/** Orders status reports by effective date; reports of one date keep the blob's order. */
function latestReports(reports: Array<z.infer<typeof StatusReportSchema>>) {
  return reports
    .map((report, index) => ({ report, index }))
    .sort((a, b) => (a.report.effectiveDate ?? '').localeCompare(b.report.effectiveDate ?? '') || a.index - b.index)
    .map(({ report }) => report);
}

function toStatement(entry: z.infer<typeof EntrySchema>): KeyModelStatement | null {
  const roots = parseCertificates((entry.metadataStatement?.attestationRootCertificates ?? []).map((b64) => Buffer.from(b64, 'base64')));
  // An entry whose roots cannot be read can attest nothing; it is skipped, not fatal.
  if (!roots) return null;
  const ordered = latestReports(entry.statusReports);
  const latest = ordered.at(-1);
  const latestStatus = latest?.status ?? null;
  const certificationLevel = ordered.filter((report) => CERTIFICATION_STATUSES.has(report.status)).at(-1)?.status ?? null;
  return {
    aaguid: entry.aaguid ?? null,
    attestationKeyIdentifiers: entry.attestationCertificateKeyIdentifiers ?? [],
    description: entry.metadataStatement?.description ?? 'Unnamed key model',
    attestationRoots: roots,
    latestStatus,
    latestReport: latest ? `${latest.status}@${latest.effectiveDate ?? ''}` : null,
    certificationLevel,
    compromised: (COMPROMISE_STATUSES as readonly string[]).includes(latestStatus ?? ''),
  };
}

/**
 * Verifies an MDS3 blob, in the order the FIDO MDS3 spec (§3.2) gives: the x5c chain up to
 * one of `roots`, the JWT signature with the chain's leaf, then `nextUpdate`; and only then
 * reads the entries. A blob that fails any step is not loaded at all.
 */
export function verifyMetadataBlob({ jwt, roots, now }: { jwt: string; roots: readonly X509Certificate[]; now: Date }): BlobVerification {
  const refuse = (error: MetadataLoadError, detail: string): BlobVerification => ({ verified: false, error, detail });
  const jws = decodeJws(jwt);
  // Not a compact JWS with JSON header and payload.
  if (!jws) return refuse('MDS_MALFORMED', 'the file is not a JWT');
  const header = HeaderSchema.safeParse(jws.header);
  // The header must name its algorithm and carry the signing chain.
  if (!header.success) return refuse('MDS_MALFORMED', 'the JWT header has no alg or x5c');
  const chain = parseCertificates(header.data.x5c.map((b64) => Buffer.from(b64, 'base64')));
  if (!chain) return refuse('MDS_CHAIN_INVALID', 'a certificate of the x5c chain cannot be read');
  // The chain must end at a root Argus ships (or the operator configured).
  const path = verifyCertificateChain({ chain, anchors: roots, now });
  if (!path.valid) return refuse('MDS_CHAIN_INVALID', `the x5c chain does not lead to a trusted FIDO root (${path.reason})`);
  // The leaf of that chain signed this very blob.
  if (!verifyJwsSignature(header.data.alg, jws.signingInput, jws.signature, chain[0]!.publicKey)) {
    return refuse('MDS_SIGNATURE_INVALID', `the ${header.data.alg} signature does not verify with the chain's leaf`);
  }
  const payload = PayloadSchema.safeParse(jws.payload);
  if (!payload.success) return refuse('MDS_MALFORMED', 'the payload has no no, nextUpdate or entries');
  // Stale metadata may miss a compromise reported since: refused, never loaded.
  if (isPastNextUpdate(payload.data.nextUpdate, now)) return refuse('MDS_EXPIRED', `nextUpdate ${payload.data.nextUpdate} has passed; download a current blob`);
  const statements: KeyModelStatement[] = [];
  let skippedEntries = 0;
  for (const raw of payload.data.entries) {
    const entry = EntrySchema.safeParse(raw);
    const statement = entry.success ? toStatement(entry.data) : null;
    if (statement && (statement.aaguid || statement.attestationKeyIdentifiers.length > 0)) statements.push(statement);
    else skippedEntries += 1;
  }
  return { verified: true, metadata: { no: payload.data.no, nextUpdate: payload.data.nextUpdate, statements, loadedAt: now }, skippedEntries };
}

/** The metadata a node holds, as /readyz and the logs describe it. */
export type MetadataSummary =
  | { status: 'off' }
  | {
      status: 'loaded' | 'stale' | 'not_loaded';
      no: number | null;
      nextUpdate: string | null;
      statements: number;
      /** The last load that failed, if it came after the last that succeeded. */
      lastError: { code: MetadataLoadError; at: string } | null;
    };

/**
 * The FIDO metadata a node holds: the last blob that verified (a refused reload keeps it),
 * looked up by AAGUID or attestation key identifier.
 */
export class FidoMetadata {
  private loaded: LoadedMetadata | null = null;
  private byAaguid = new Map<string, KeyModelStatement>();
  private byKeyIdentifier = new Map<string, KeyModelStatement>();
  private lastError: { code: MetadataLoadError; at: Date } | null = null;

  /** `configured`: whether the operator gave a blob file at all (FIDO_MDS_FILE). */
  constructor(readonly configured: boolean) {}

  get current(): LoadedMetadata | null {
    return this.loaded;
  }

  install(metadata: LoadedMetadata): void {
    const byAaguid = new Map<string, KeyModelStatement>();
    const byKeyIdentifier = new Map<string, KeyModelStatement>();
    for (const statement of metadata.statements) {
      if (statement.aaguid) byAaguid.set(statement.aaguid, statement);
      for (const id of statement.attestationKeyIdentifiers) byKeyIdentifier.set(id, statement);
    }
    this.loaded = metadata;
    this.byAaguid = byAaguid;
    this.byKeyIdentifier = byKeyIdentifier;
    this.lastError = null;
  }

  recordFailure(code: MetadataLoadError, at: Date): void {
    this.lastError = { code, at };
  }

  statementForAaguid(aaguid: string): KeyModelStatement | null {
    return this.byAaguid.get(aaguid.toLowerCase()) ?? null;
  }

  statementForKeyIdentifier(keyIdentifier: string): KeyModelStatement | null {
    return this.byKeyIdentifier.get(keyIdentifier.toLowerCase()) ?? null;
  }

  /** The models whose latest status report is a compromise. */
  compromisedModels(): KeyModelStatement[] {
    return this.loaded?.statements.filter((statement) => statement.compromised) ?? [];
  }

  summary(now = new Date()): MetadataSummary {
    if (!this.configured) return { status: 'off' };
    const loaded = this.loaded;
    return {
      status: !loaded ? 'not_loaded' : isPastNextUpdate(loaded.nextUpdate, now) ? 'stale' : 'loaded',
      no: loaded?.no ?? null,
      nextUpdate: loaded?.nextUpdate ?? null,
      statements: loaded?.statements.length ?? 0,
      lastError: this.lastError ? { code: this.lastError.code, at: this.lastError.at.toISOString() } : null,
    };
  }
}
