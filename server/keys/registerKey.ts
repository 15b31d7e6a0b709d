import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { HidDeviceInfo } from '../../shared/api.ts';
import { recordAuditEvent, type AuditContext, type AuditInput } from '../audit/record.ts';
import { insertKey, isSynced, type KeyRow } from '../db/keys.ts';
import { PG_UNIQUE_VIOLATION, pgErrorCode, withTransaction, type PoolClient } from '../db/pool.ts';
import type { Deps } from '../deps.ts';
import { modelNameFor } from '../webauthn/aaguids.ts';
import { verifyRegistration, type VerificationFailure } from '../webauthn/ceremonies.ts';

export type RegistrationFailure = VerificationFailure | 'already_registered' | 'synced_not_allowed';

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
 * Verifies a registration response against this session's single-use challenge and stores
 * the new key for the user, audited in the same transaction as the caller's own change.
 */
export async function registerKey(
  { pool, config, challenges }: Pick<Deps, 'pool' | 'config' | 'challenges'>,
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
     * it, appended after key.registered once every row is written (docs/locking.md).
     */
    onRegistered?: (client: PoolClient, key: KeyRow) => Promise<AuditInput[]>;
  },
): Promise<RegistrationResult> {
  const expectedChallenge = await challenges.consume(sessionId, 'register');
  const verification = expectedChallenge
    ? await verifyRegistration({ config, response, expectedChallenge })
    : ({ verified: false, reason: 'challenge_invalid' } as const);
  let reason: RegistrationFailure | null = verification.verified ? null : verification.reason;
  // Synced passkeys that could never sign in are not worth registering.
  if (verification.verified && !config.webauthn.allowSyncedPasskeys && isSynced({ device_type: verification.deviceType, backed_up: verification.backedUp })) {
    reason = 'synced_not_allowed';
  }

  try {
    return await withTransaction(pool, async (client): Promise<RegistrationResult> => {
      if (reason !== null || !verification.verified) {
        await recordAuditEvent(client, context, {
          action: 'webauthn.registration_failed',
          outcome: 'denied',
          target: { type: 'user', id: user.id },
          details: { reason: reason ?? 'bad_signature' },
        });
        return { registered: false, reason: reason ?? 'bad_signature' };
      }
      const modelName = modelNameFor(verification.aaguid);
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
      });
      const callerEvents = (await onRegistered?.(client, key)) ?? [];
      await recordAuditEvent(client, context, {
        action: 'key.registered',
        outcome: 'success',
        target: { type: 'security_key', id: key.id },
        details: { ownerId: user.id, ownerUsername: user.username, aaguid: key.aaguid, modelName, synced: isSynced(key), hid: hid ?? null },
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
