import type { AuditAction, Outcome } from '../../shared/audit.ts';
import type { AuditInput } from '../audit/record.ts';
import type { PendingChangeRow } from '../db/pendingChanges.ts';

/**
 * The audit event of one step of a pending change (requested, approved, rejected, cancelled,
 * expired, applied). Its target is what the change is about (the user or the model), so a
 * search by target finds the whole story; its details name the change, who asked, and exactly
 * what was asked. Never the link's token or its hash.
 */
export function pendingChangeEvent(
  row: PendingChangeRow,
  action: Extract<AuditAction, `pending_change.${string}`>,
  { outcome = 'success', details = {} }: { outcome?: Outcome; details?: Record<string, unknown> } = {},
): AuditInput {
  const snapshot = row.target_snapshot;
  const about =
    row.kind === 'model_endpoint'
      ? { target: { type: 'model', id: row.target_model_id! }, model: row.target_model_id!, name: { displayName: snapshot.displayName } }
      : { target: { type: 'user', id: row.target_user_id! }, model: null, name: { username: snapshot.username } };
  return {
    action,
    outcome,
    target: about.target,
    model: about.model,
    details: {
      pendingChangeId: row.id,
      kind: row.kind,
      ...about.name,
      change: row.change,
      requestedBy: row.requested_by_username,
      // Asked by the user's company sign-in, not by an admin (threat model G20).
      ...(row.source === 'company_groups' ? { source: row.source } : {}),
      expiresAt: row.expires_at.toISOString(),
      ...details,
    },
  };
}
