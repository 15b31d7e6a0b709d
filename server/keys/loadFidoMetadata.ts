import { readFile, stat } from 'node:fs/promises';
import { SYSTEM_CONTEXT } from '../audit/record.ts';
import { getUnsuspendedKeysOfModels } from '../db/keys.ts';
import type { Deps } from '../deps.ts';
import { parsePemCertificates } from '../webauthn/certificateChain.ts';
import { verifyMetadataBlob, type KeyModelStatement, type MetadataLoadError } from '../webauthn/fidoMetadata.ts';
import { suspendKeyOfCompromisedModel } from './manageKeys.ts';

export type MetadataLoadResult =
  | { loaded: true; no: number; nextUpdate: string; statements: number; keysSuspended: number }
  | { loaded: false; error: MetadataLoadError; detail: string; kept: { no: number } | null };

type LoadDeps = Pick<Deps, 'config' | 'fidoMetadata' | 'pool' | 'grants' | 'sessions' | 'bus' | 'log'>;

/** The real MDS3 blob is a few MiB; anything far bigger is not one. */
const MAX_BLOB_BYTES = 64 * 1024 * 1024;

/**
 * Reads FIDO_MDS_FILE, verifies it (server/webauthn/fidoMetadata.ts) and, if it holds, puts
 * it in place of the node's metadata; then suspends every key of a model the blob reports
 * compromised. A blob that does not verify, is past its nextUpdate, or is older than the one
 * loaded is refused with a stable code, logged, shown on /readyz, and the metadata already
 * loaded (if any) stays.
 */
export async function loadFidoMetadata(deps: LoadDeps, { now = new Date() }: { now?: Date } = {}): Promise<MetadataLoadResult> {
  const { config, fidoMetadata, log } = deps;
  const previous = fidoMetadata.current;
  const refuse = (error: MetadataLoadError, detail: string): MetadataLoadResult => {
    fidoMetadata.recordFailure(error, now);
    log.error({ code: error, file: config.attestation.mdsFile, keptBlob: previous?.no ?? null }, `FIDO metadata not loaded: ${detail}`);
    return { loaded: false, error, detail, kept: previous ? { no: previous.no } : null };
  };
  const file = config.attestation.mdsFile;
  if (!file) return refuse('MDS_FILE_UNREADABLE', 'FIDO_MDS_FILE is not set');
  let jwt: string;
  try {
    if ((await stat(file)).size > MAX_BLOB_BYTES) return refuse('MDS_MALFORMED', `${file} is larger than ${MAX_BLOB_BYTES} bytes`);
    jwt = await readFile(file, 'utf8');
  } catch {
    return refuse('MDS_FILE_UNREADABLE', `cannot read ${file}`);
  }
  const verification = verifyMetadataBlob({ jwt, roots: parsePemCertificates(config.attestation.mdsRootsPem.join('\n')), now });
  if (!verification.verified) return refuse(verification.error, verification.detail);
  const { metadata } = verification;
  // FIDO MDS3 §3.2: a blob whose serial number is below the one held is an older blob (a rollback).
  if (previous && metadata.no < previous.no) return refuse('MDS_OLDER_THAN_LOADED', `blob no. ${metadata.no} is older than the loaded no. ${previous.no}`);
  fidoMetadata.install(metadata);
  log.info(
    { no: metadata.no, nextUpdate: metadata.nextUpdate, statements: metadata.statements.length, skippedEntries: verification.skippedEntries },
    'FIDO metadata loaded',
  );
  const keysSuspended = await suspendKeysOfCompromisedModels(deps, metadata.no);
  return { loaded: true, no: metadata.no, nextUpdate: metadata.nextUpdate, statements: metadata.statements.length, keysSuspended };
}

/**
 * Suspends every key whose model the loaded metadata reports compromised (its latest status
 * report), each with a `key.model_compromised` critical audit event; its grants and sessions
 * end as they do for any suspension. Nodes that load the same blob suspend each key once.
 */
async function suspendKeysOfCompromisedModels(deps: LoadDeps, blobNo: number): Promise<number> {
  const compromised = deps.fidoMetadata.compromisedModels();
  const byAaguid = new Map<string, KeyModelStatement>();
  const byKeyId = new Map<string, KeyModelStatement>();
  for (const statement of compromised) {
    if (statement.aaguid) byAaguid.set(statement.aaguid, statement);
    for (const id of statement.attestationKeyIdentifiers) byKeyId.set(id, statement);
  }
  const keys = await getUnsuspendedKeysOfModels(deps.pool, { aaguids: [...byAaguid.keys()], attestationKeyIds: [...byKeyId.keys()] });
  let suspended = 0;
  for (const key of keys) {
    const statement = byAaguid.get(key.aaguid.toLowerCase()) ?? (key.attestation_key_id ? byKeyId.get(key.attestation_key_id) : undefined);
    if (!statement) continue;
    const result = await suspendKeyOfCompromisedModel(deps, { keyId: key.id, statement, blobNo, context: SYSTEM_CONTEXT });
    if (!result.changed) continue;
    suspended += 1;
    deps.bus.notify({ userId: key.user_id }, { type: 'KEY_SUSPENDED', keyId: key.id });
    deps.log.warn({ keyId: key.id, aaguid: key.aaguid, status: statement.latestStatus, sessionsEnded: result.sessionsEnded }, 'security key suspended: FIDO metadata reports its model compromised');
  }
  return suspended;
}

/**
 * Loads the metadata at start, when FIDO_MDS_FILE is set, and again on every SIGHUP
 * (docs/deploy.md "FIDO metadata"). A failed load never stops the node: it runs on with the
 * metadata it has (none at first), and says so in the log and on /readyz. Returns the stop
 * function that removes the signal handler.
 */
export async function startFidoMetadata(deps: LoadDeps): Promise<() => void> {
  if (!deps.config.attestation.mdsFile) return () => undefined;
  const load = (trigger: 'start' | 'SIGHUP') =>
    loadFidoMetadata(deps).catch((error: unknown) => {
      // The blob was installed but the suspension sweep failed (Postgres away): the next reload sweeps again.
      deps.log.error({ err: (error as Error).message, trigger }, 'FIDO metadata: suspending keys of compromised models failed');
    });
  await load('start');
  const onHangUp = () => void load('SIGHUP');
  process.on('SIGHUP', onHangUp);
  return () => process.off('SIGHUP', onHangUp);
}
