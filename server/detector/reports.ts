import type { DetectedKey } from '../../shared/detector.ts';
import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { getCredentialsBySerial, getUnboundCredentials, type DetectorRow } from '../db/detectors.ts';
import { isSynced } from '../db/keys.ts';
import type { Deps } from '../deps.ts';

export const FOREIGN_KEY_MESSAGE = 'A security key registered to another account was plugged into your computer.';

/**
 * What a detector's report may do, and all it may do (docs/architecture.md invariant 2): a detached
 * serial bound to one of the owner's credentials ends that credential's grants (key_removed);
 * an attached serial bound only to other users' credentials, while every one of the owner's
 * hardware keys has its own serial bound, raises KEY_MISMATCH_ERROR and a high-severity audit
 * event. Nothing here creates or extends a grant.
 * Detaches go first: taking access away is the urgent part.
 */
export async function applyDetectorReport(
  deps: Pick<Deps, 'pool' | 'grants' | 'bus' | 'log'>,
  { detector, attached, detached, context }: { detector: DetectorRow; attached: readonly DetectedKey[]; detached: readonly DetectedKey[]; context: AuditContext },
): Promise<{ grantsEnded: number; mismatches: number; unconfirmed: number }> {
  let grantsEnded = 0;
  for (const key of detached) {
    if (!key.serialNumber) continue;
    const own = (await getCredentialsBySerial(deps.pool, key.serialNumber)).filter((credential) => credential.user_id === detector.user_id);
    for (const credential of own) grantsEnded += await deps.grants.endForKey(credential.id, 'key_removed', context);
  }

  let mismatches = 0;
  let unconfirmed = 0;
  let ownerUnbound: Promise<string[]> | null = null;
  for (const key of attached) {
    if (!key.serialNumber) continue;
    const bound = await getCredentialsBySerial(deps.pool, key.serialNumber);
    // Bound to the owner (as well): the owner's own key, whatever else a lying detector claimed.
    if (bound.length === 0 || bound.some((credential) => credential.user_id === detector.user_id)) continue;
    ownerUnbound ??= unboundHardwareKeys(deps.pool, detector.user_id);
    const unbound = await ownerUnbound;
    // Another user's binding is only their detector's word (threat model G11): while one of the
    // owner's own keys has no serial bound, this may be that key, claimed by a lying detector.
    const confirmed = unbound.length === 0;
    await recordAuditEvent(deps.pool, context, {
      action: 'detector.key_mismatch',
      outcome: 'denied',
      ...(confirmed ? {} : { severity: 'low' as const }),
      target: { type: 'detector', id: detector.id },
      details: {
        ownerId: detector.user_id,
        keyOwnerIds: [...new Set(bound.map((credential) => credential.user_id))],
        credentialIds: bound.map((credential) => credential.id),
        vendorId: key.vendorId,
        productId: key.productId,
        serialNumber: key.serialNumber,
        confirmed,
        ownerUnboundKeyIds: unbound,
      },
    });
    if (!confirmed) {
      unconfirmed += 1;
      continue;
    }
    mismatches += 1;
    deps.bus.notify({ userId: detector.user_id }, { type: 'KEY_MISMATCH_ERROR', message: FOREIGN_KEY_MESSAGE });
  }
  return { grantsEnded, mismatches, unconfirmed };
}

/**
 * The owner's credentials whose serial no detector of theirs has bound yet, deactivated,
 * suspended and pending ones too: the owner may still hold that key. Synced passkeys are no
 * HID devices and never unlock (invariant 7), so are never bound: they are left out.
 */
async function unboundHardwareKeys(pool: Deps['pool'], userId: string): Promise<string[]> {
  return (await getUnboundCredentials(pool, userId)).filter((key) => !isSynced(key)).map((key) => key.id);
}
