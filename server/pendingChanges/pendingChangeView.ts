import type { ModelChangeRequest, ModelSettings, PendingChangeView, Role, UserStatus } from '../../shared/api.ts';
import type { PendingChangeRow } from '../db/pendingChanges.ts';

/** The public encoder of a pending change: what an admin sees of it. Never the link's token hash. */
export function toPendingChangeView(row: PendingChangeRow): PendingChangeView {
  const base = {
    id: row.id,
    status: row.status,
    source: row.source,
    requestedBy: { id: row.requested_by, username: row.requested_by_username },
    requestedAt: row.requested_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    decidedBy: row.decided_by && row.decided_by_username ? { id: row.decided_by, username: row.decided_by_username } : null,
    decidedAt: row.decided_at?.toISOString() ?? null,
  };
  const snapshot = row.target_snapshot;
  switch (row.kind) {
    case 'enrollment_link':
    case 'promote_admin': {
      const target = { type: 'user' as const, id: row.target_user_id!, username: String(snapshot.username), role: snapshot.role as Role };
      return row.kind === 'enrollment_link'
        ? { ...base, kind: row.kind, target }
        : {
            ...base,
            kind: row.kind,
            target,
            change: row.change as { role: 'admin'; status?: UserStatus },
            ...(Array.isArray(snapshot.groups) ? { groups: snapshot.groups.map(String) } : {}),
          };
    }
    case 'model_endpoint':
      return {
        ...base,
        kind: row.kind,
        target: { type: 'model', id: row.target_model_id!, displayName: String(snapshot.displayName) },
        change: row.change as ModelChangeRequest,
        before: snapshot as unknown as ModelSettings & { enabled: boolean },
      };
  }
}
