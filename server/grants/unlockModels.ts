import { randomUUID } from 'node:crypto';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { GrantEndReason, HidDeviceInfo, PresenceMode } from '../../shared/api.ts';
import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { getEnabledModels, type ModelRow } from '../db/models.ts';
import { getKeyById, type KeyRow } from '../db/keys.ts';
import type { Pool } from '../db/pool.ts';
import { getUserById, type UserRow } from '../db/users.ts';
import type { Deps } from '../deps.ts';
import { verifyKeyAssertion, type AssertionFailure } from '../keys/verifyKeyAssertion.ts';
import { restrictedUnlockRefusal, type RestrictedUnlockRefusal } from '../keys/hardwareKeyPolicy.ts';
import { grantRecord } from '../keys/proofRecords.ts';
import { toGrantView, type Grant } from './grants.ts';

export type UnlockFailure = AssertionFailure | RestrictedUnlockRefusal | 'no_restricted_models' | 'user_verification_required';
export type UnlockResult = { unlocked: true; grant: Grant; renewed: boolean } | { unlocked: false; reason: UnlockFailure };

/** Thrown inside the assertion's transaction to refuse after verification (rolls the key use back). */
class Refusal extends Error {
  constructor(readonly reason: UnlockFailure) {
    super(reason);
  }
}

/** The restricted models a verified assertion unlocks: those whose verification rule it meets. */
function unlockable(models: ModelRow[], userVerified: boolean): ModelRow[] {
  return models.filter((model) => model.tier === 'restricted' && (userVerified || !model.requires_user_verification));
}

/** Why a grant just written must end at once, and how the unlock is refused; null while key and user still stand. */
type Overtaken = { ended: GrantEndReason; reason: UnlockFailure };

/**
 * Reads the grant's key and user again, from Postgres itself (never the node's row cache): a
 * deactivation, suspension, reassignment or deletion of the key, or a disable of the user, that
 * committed after the assertion may already have ended "this key's grants" and found nothing,
 * this one not being written yet (threat-model G3). A change that commits after this read ends
 * the grant itself: it is in Redis by then.
 */
async function overtakenSinceAssertion(pool: Pool, grant: Grant): Promise<Overtaken | null> {
  const [key, owner] = await Promise.all([getKeyById(pool, grant.keyId), getUserById(pool, grant.userId)]);
  if (!key) return { ended: 'key_deleted', reason: 'key_unknown' };
  // Another account's key now: not this user's any more, so 'key_unknown', not the mismatch alarm.
  if (key.user_id !== grant.userId) return { ended: 'key_reassigned', reason: 'key_unknown' };
  if (key.status === 'suspended') return { ended: 'key_suspended', reason: 'key_suspended' };
  if (key.status !== 'active') return { ended: 'key_deactivated', reason: 'key_inactive' };
  // A disabled user's sessions end too; there is no better reason to answer the request with.
  if (!owner || owner.status !== 'active') return { ended: 'user_disabled', reason: 'key_inactive' };
  return null;
}

function deviceMismatch(key: KeyRow, device: HidDeviceInfo | undefined): boolean {
  if (!device || key.hid_vendor_id === null || key.hid_product_id === null) return false;
  return device.vendorId !== key.hid_vendor_id || device.productId !== key.hid_product_id;
}

/**
 * /api/verify-key-ownership: the only way a grant is made (docs/architecture.md invariant 1). A fresh
 * single-use challenge, an assertion from a key registered to the session's own user
 * (invariant 5), a hardware key (invariant 7: synced passkeys never; the AAGUID allow-list
 * when configured), and user verification where a model asks for it. WebHID device info is
 * compared with the registration and a disagreement audited, but it neither grants nor blocks.
 * The grant lives for the shortest lifetime among the models it unlocks. A change to the key or
 * user that overtakes the grant's write ends it at once, and the unlock is refused (threat-model G3).
 */
export async function unlockModels(
  deps: Pick<Deps, 'pool' | 'config' | 'challenges' | 'sessions' | 'log' | 'bus' | 'grants'>,
  {
    user,
    sessionId,
    response,
    presenceMode,
    device,
    context,
  }: { user: UserRow; sessionId: string; response: AuthenticationResponseJSON; presenceMode: PresenceMode; device: HidDeviceInfo | undefined; context: AuditContext },
): Promise<UnlockResult> {
  const models = await getEnabledModels(deps.pool);
  if (!models.some((m) => m.tier === 'restricted')) return { unlocked: false, reason: 'no_restricted_models' };
  const previous = await deps.grants.forSession(sessionId);
  const grantId = randomUUID();
  // Only WebHID with a device it actually sees counts as WebHID; the mode describes, it never grants.
  const mode: PresenceMode = presenceMode === 'webhid' && !device ? 'assertion' : presenceMode;
  const refuse = async (reason: UnlockFailure, details: Record<string, unknown> = {}): Promise<UnlockResult> => {
    await recordAuditEvent(deps.pool, context, { action: 'grant.denied', outcome: 'denied', target: { type: 'user', id: user.id }, details: { reason, ...details } });
    return { unlocked: false, reason };
  };

  try {
    const result = await verifyKeyAssertion(deps, {
      sessionId,
      ceremony: 'ownership',
      expectedUserId: user.id,
      response,
      requireUserVerification: false,
      allowSynced: false,
      context,
      onVerified: async (client, key, { userVerified, proof }) => {
        // ATTESTATION_POLICY and the AAGUID allow-list (threat-model G16): server/keys/hardwareKeyPolicy.ts.
        const keyRefusal = restrictedUnlockRefusal(deps.config, key);
        if (keyRefusal) throw new Refusal(keyRefusal);
        const unlocked = unlockable(models, userVerified);
        if (unlocked.length === 0) throw new Refusal('user_verification_required');
        const lifetimeMs = Math.min(...unlocked.map((m) => m.grant_seconds)) * 1000;
        if (deviceMismatch(key, device)) {
          await recordAuditEvent(client, context, {
            action: 'device_info_mismatch',
            outcome: 'success',
            target: { type: 'security_key', id: key.id },
            details: {
              registered: { vendorId: key.hid_vendor_id, productId: key.hid_product_id, productName: key.hid_product_name },
              reported: device,
            },
          });
        }
        const issuedAt = Date.now();
        const grant: Grant = {
          id: grantId,
          userId: user.id,
          username: user.username,
          sessionId,
          keyId: key.id,
          keyNickname: key.nickname,
          models: unlocked.map((m) => m.id),
          issuedAt,
          expiresAt: issuedAt + lifetimeMs,
          presenceMode: mode,
          device: device ?? null,
        };
        await recordAuditEvent(client, context, {
          action: previous ? 'grant.renewed' : 'grant.issued',
          outcome: 'success',
          target: { type: 'grant', id: grantId },
          details: {
            grantId,
            models: grant.models,
            keyId: key.id,
            aaguid: key.aaguid,
            presenceMode: mode,
            userVerified,
            expiresAt: new Date(grant.expiresAt).toISOString(),
            replaces: previous?.id ?? null,
            // A renewal is a new grant from a new assertion: nothing else renews one (invariant 2).
            ...(previous ? { renewedBy: 'assertion' } : {}),
            // The proof (docs/presence-proofs.md): the signature that made this grant and what it
            // covers. User verification was required of it if any model it unlocks requires it.
            assertion: { ...proof, requireUserVerification: unlocked.some((m) => m.requires_user_verification) },
            grant: grantRecord(grant),
          },
        });
        return grant;
      },
    });
    if (!result.verified) return { unlocked: false, reason: result.reason };
    const { grant } = await deps.grants.issue(result.value);
    // Only after the write: whatever ended the key's grants before it is seen now (threat-model G3).
    const overtaken = await overtakenSinceAssertion(deps.pool, grant);
    if (overtaken) {
      // Ended as the key's change would have ended it (audited, GRANT_REVOKED), and never announced as unlocked.
      await deps.grants.end(grant.id, overtaken.ended, context);
      return await refuse(overtaken.reason, { grantId: grant.id, keyId: grant.keyId });
    }
    deps.bus.notify({ sessionId }, { type: 'MODELS_UNLOCKED', grant: toGrantView(grant) });
    return { unlocked: true, grant, renewed: previous !== null };
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    return refuse(error.reason);
  }
}
