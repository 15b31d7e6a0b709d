import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { HidDeviceInfo } from '../../shared/api.ts';
import type { CredentialRecord } from '../../shared/audit.ts';
import { recordAuditEvent, type AuditContext, type AuditInput } from '../audit/record.ts';
import { insertKey, isSynced, type KeyRow } from '../db/keys.ts';
import { PG_UNIQUE_VIOLATION, pgErrorCode, withTransaction, type PoolClient } from '../db/pool.ts';
import type { Deps } from '../deps.ts';
import { UNKNOWN_MODEL, modelNameFor } from '../webauthn/aaguids.ts';
import { verifyAttestationTrust, type AttestationTrust } from '../webauthn/attestationTrust.ts';
import { verifyRegistration, type VerificationFailure } from '../webauthn/ceremonies.ts';
import { credentialRecord } from './proofRecords.ts';

export type RegistrationFailure = VerificationFailure | 'already_registered' | 'synced_not_allowed' | 'not_attested' | 'key_model_compromised';

export type RegistrationResult = { registered: true; key: KeyRow } | { registered: false; reason: RegistrationFailure };

/** A registration response from the browser, with the session whose challenge it answers. */
export interface KeyRegistration {
  sessionId: string;
  response: RegistrationResponseJSON;
  nickname: string | undefined;
  hid: HidDeviceInfo | undefined;
  context: AuditContext;
}

/**
 * Verifies a registration response against this session's single-use challenge, judges its
 * attestation against the FIDO metadata (threat-model G16), and stores the new key for the
 * user with what the attestation proved, audited in the same transaction as the caller's own
 * change. A key whose model the metadata reports compromised is never registered; under
 * ATTESTATION_POLICY=all, neither is one whose attestation did not verify.
 */
export async function registerKey(
  { pool, config, challenges, fidoMetadata }: Pick<Deps, 'pool' | 'config' | 'challenges' | 'fidoMetadata'>,
  {
    sessionId,
    user,
    response,
    nickname,
    hid,
    context,
    onRegistered,
  }: KeyRegistration & {
    user: { id: string; username: string };
    /**
     * The caller's own change, made with the key's row: answers the audit events that record
     * it, appended after key.registered once every row is written (docs/locking.md). `credential`
     * is what key.registered records for presence proofs, for an event of the caller's that
     * records the registration too.
     */
    onRegistered?: (client: PoolClient, key: KeyRow, credential: CredentialRecord) => Promise<AuditInput[]>;
  },
): Promise<RegistrationResult> {
  const expectedChallenge = await challenges.consume(sessionId, 'register');
  const verification = expectedChallenge
    ? await verifyRegistration({ config, response, expectedChallenge })
    : ({ verified: false, reason: 'challenge_invalid' } as const);
  let reason: RegistrationFailure | null = verification.verified ? null : verification.reason;
  const trust: AttestationTrust | null = verification.verified
    ? verifyAttestationTrust({ metadata: fidoMetadata, format: verification.attestation.format, x5c: verification.attestation.x5c, aaguid: verification.aaguid })
    : null;
  // Synced passkeys that could never sign in are not worth registering.
  if (verification.verified && !config.webauthn.allowSyncedPasskeys && isSynced({ device_type: verification.deviceType, backed_up: verification.backedUp })) {
    reason = 'synced_not_allowed';
  }
  // A model the metadata reports compromised, by the AAGUID the key claims or (U2F) the
  // attestation key it showed, is refused whatever the policy: the next load would suspend it.
  const compromised =
    (verification.verified && fidoMetadata.statementForAaguid(verification.aaguid)?.compromised === true) ||
    (trust?.attested === false && trust.reason === 'model_compromised');
  if (reason === null && compromised) reason = 'key_model_compromised';
  // ATTESTATION_POLICY=all: only keys whose maker's attestation verified are registered.
  if (reason === null && config.attestation.policy === 'all' && trust && !trust.attested) reason = 'not_attested';
  const attestationAudit = trust && verification.verified ? attestationDetails(trust, verification.attestation.format) : null;

  try {
    return await withTransaction(pool, async (client): Promise<RegistrationResult> => {
      if (reason !== null || !verification.verified) {
        await recordAuditEvent(client, context, {
          action: 'webauthn.registration_failed',
          outcome: 'denied',
          target: { type: 'user', id: user.id },
          details: { reason: reason ?? 'bad_signature', ...(attestationAudit ? { attestation: attestationAudit } : {}) },
        });
        return { registered: false, reason: reason ?? 'bad_signature' };
      }
      // The bundled table names common keys; an attested key the table does not know is named by its metadata.
      const knownName = modelNameFor(verification.aaguid);
      const modelName = knownName === UNKNOWN_MODEL && trust?.attested ? trust.description.slice(0, 128) : knownName;
      const key = await insertKey(client, {
        userId: user.id,
        credentialId: verification.credential.id,
        publicKey: verification.credential.publicKey,
        signCount: verification.credential.counter,
        transports: verification.credential.transports,
        aaguid: verification.aaguid,
        modelName,
        deviceType: verification.deviceType,
        backedUp: verification.backedUp,
        nickname: nickname?.trim() || modelName,
        hid: hid ?? null,
        attestation: trust?.attested
          ? { attested: true, certifiedAaguid: trust.certifiedAaguid, attestationKeyId: trust.attestationKeyIdentifier, certificationLevel: trust.certificationLevel }
          : { attested: false, certifiedAaguid: null, attestationKeyId: null, certificationLevel: null },
      });
      // What an offline verifier needs to check this key's signatures later (docs/presence-proofs.md).
      const credential = credentialRecord({
        credentialId: verification.credential.id,
        publicKey: verification.credential.publicKey,
        aaguid: verification.aaguid,
        attestationObject: response.response.attestationObject,
        userId: user.id,
      });
      const callerEvents = (await onRegistered?.(client, key, credential)) ?? [];
      await recordAuditEvent(client, context, {
        action: 'key.registered',
        outcome: 'success',
        target: { type: 'security_key', id: key.id },
        details: {
          ownerId: user.id,
          ownerUsername: user.username,
          aaguid: key.aaguid,
          modelName,
          synced: isSynced(key),
          hid: hid ?? null,
          attestation: attestationAudit,
          credential,
        },
      });
      for (const event of callerEvents) await recordAuditEvent(client, context, event);
      return { registered: true, key };
    });
  } catch (error) {
    // 23505 unique violation: this credential id is registered already (to anyone).
    if (pgErrorCode(error) === PG_UNIQUE_VIOLATION) return { registered: false, reason: 'already_registered' };
    throw error;
  }
}

/** What the audit log keeps of an attestation: its format, and what it proved or why not. */
function attestationDetails(trust: AttestationTrust, format: string): Record<string, unknown> {
  return trust.attested
    ? { format, attested: true, certifiedAaguid: trust.certifiedAaguid, attestationKeyId: trust.attestationKeyIdentifier, certificationLevel: trust.certificationLevel, description: trust.description }
    : { format, attested: false, reason: trust.reason };
}
