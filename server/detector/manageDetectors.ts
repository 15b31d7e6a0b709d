import type { DetectorView } from '../../shared/detector.ts';
import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { revokeDetector, type DetectorRow } from '../db/detectors.ts';
import { withTransaction } from '../db/pool.ts';
import type { Deps } from '../deps.ts';
import { detectorPresence, type DetectorPresenceRecord } from './presence.ts';

/** The public encoder for detectors: never the key id or its hash. */
export function toDetectorView(row: DetectorRow, presence: DetectorPresenceRecord | undefined): DetectorView {
  return {
    id: row.id,
    name: row.name,
    ownerId: row.user_id,
    ownerUsername: row.owner_username,
    createdAt: row.created_at.toISOString(),
    lastSeenAt: row.last_seen_at?.toISOString() ?? null,
    online: presence !== undefined,
    keys: presence?.keys ?? [],
  };
}

export async function detectorViews(deps: Pick<Deps, 'redis' | 'config'>, rows: readonly DetectorRow[]): Promise<DetectorView[]> {
  const online = await detectorPresence(deps).getMany(rows.map((row) => row.id));
  return rows.map((row) => toDetectorView(row, online.get(row.id)));
}

/**
 * Revokes a detector (its owner's, or any as an admin), audited with the change. Its live
 * connection closes at once on whichever node holds it: the DETECTOR_STATUS 'revoked' event
 * goes over the bus to every node's detector hub, and to the owner's browsers.
 */
export async function revokeDetectorAs(
  deps: Pick<Deps, 'pool' | 'redis' | 'config' | 'bus'>,
  { detectorId, ownerId, context }: { detectorId: string; ownerId: string | null; context: AuditContext },
): Promise<DetectorRow | null> {
  const revoked = await withTransaction(deps.pool, async (client) => {
    const row = await revokeDetector(client, { id: detectorId, ownerId, revokedBy: context.actor?.id ?? null });
    if (!row) return null;
    await recordAuditEvent(client, context, {
      action: 'detector.revoked',
      outcome: 'success',
      target: { type: 'detector', id: row.id },
      details: { ownerId: row.user_id, ownerUsername: row.owner_username, name: row.name, by: ownerId === null ? 'admin' : 'owner' },
    });
    return row;
  });
  if (!revoked) return null;
  await detectorPresence(deps).remove(revoked.id);
  await deps.bus.publish({ userId: revoked.user_id }, { type: 'DETECTOR_STATUS', detectorId: revoked.id, name: revoked.name, status: 'revoked', keys: [] });
  return revoked;
}
