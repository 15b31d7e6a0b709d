import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { bindCredentialSerial, getCredentialSerial, getLiveDetectorsForUser } from '../db/detectors.ts';
import { withTransaction } from '../db/pool.ts';
import type { Deps } from '../deps.ts';
import { distinctKeys } from './protocol.ts';
import { detectorPresence } from './presence.ts';

/**
 * After a verified ownership assertion: if the user's online detectors see exactly one FIDO
 * key, and it has a serial number, that serial is the key just touched, and is bound to the
 * credential (audited). With none or several there is no telling which key was touched.
 * The binding is metadata: it lets a later detach end this credential's grants and a
 * foreign attach raise an alarm, never grant anything.
 */
export async function bindDetectedSerial(
  deps: Pick<Deps, 'pool' | 'redis' | 'config'>,
  { userId, keyId, context }: { userId: string; keyId: string; context: AuditContext },
): Promise<string | null> {
  const detectors = await getLiveDetectorsForUser(deps.pool, userId);
  if (detectors.length === 0) return null;
  const online = await detectorPresence(deps).getMany(detectors.map((detector) => detector.id));
  const seen = distinctKeys([...online.values()].flatMap((record) => record.keys));
  const only = seen.length === 1 ? seen[0]! : null;
  if (!only?.serialNumber) return null;
  const { serialNumber, vendorId, productId } = only as typeof only & { serialNumber: string };
  const previous = await getCredentialSerial(deps.pool, keyId);
  if (previous === serialNumber) return serialNumber;
  await withTransaction(deps.pool, async (client) => {
    await bindCredentialSerial(client, keyId, serialNumber);
    await recordAuditEvent(client, context, {
      action: 'detector.serial_bound',
      outcome: 'success',
      target: { type: 'security_key', id: keyId },
      details: { serialNumber, previous, vendorId, productId, detectorIds: [...online.keys()] },
    });
  });
  return serialNumber;
}
