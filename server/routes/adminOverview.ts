import type { GrantEndReason, OverviewHour, OverviewResponse } from '../../shared/api.ts';
import type { AuditAction } from '../../shared/audit.ts';
import { countActionsByHour } from '../db/auditCounts.ts';
import { countEnabledModels } from '../db/models.ts';
import { getSetupProgress } from '../db/setupProgress.ts';
import { countActiveUsers } from '../db/users.ts';
import { defineRoute, responds } from '../http/route.ts';

const HOURS = 24;
const HOUR_MS = 3_600_000;

/** Which audit actions feed which series of the overview. */
const SERIES: Record<Exclude<keyof OverviewHour, 'hour'>, readonly AuditAction[]> = {
  signIns: ['auth.signin'],
  signInFailures: ['auth.signin_failed'],
  // A renewal is a new grant from a new assertion.
  grantsIssued: ['grant.issued', 'grant.renewed'],
  grantsRevoked: ['grant.revoked'],
  denials: ['grant.denied'],
  mismatches: ['auth.key_mismatch', 'device_info_mismatch'],
};
const SERIES_OF = new Map<string, keyof typeof SERIES>(
  Object.entries(SERIES).flatMap(([series, actions]) => actions.map((action) => [action, series as keyof typeof SERIES] as const)),
);

/** Folds the per-hour, per-action counts into one row per hour (empty hours included). */
export function buildOverviewHours(rows: Awaited<ReturnType<typeof countActionsByHour>>, firstHour: number) {
  const hours: OverviewHour[] = Array.from({ length: HOURS }, (_, i) => ({
    hour: new Date((firstHour + i) * HOUR_MS).toISOString(),
    signIns: 0,
    signInFailures: 0,
    grantsIssued: 0,
    grantsRevoked: 0,
    denials: 0,
    mismatches: 0,
  }));
  const revokedByReason: Partial<Record<GrantEndReason, number>> = {};
  for (const row of rows) {
    const bucket = hours[row.hour - firstHour];
    const series = SERIES_OF.get(row.action);
    if (!bucket || !series) continue;
    bucket[series] += row.count;
    if (row.action === 'grant.revoked') {
      const reason = (row.reason ?? 'unknown') as GrantEndReason;
      revokedByReason[reason] = (revokedByReason[reason] ?? 0) + row.count;
    }
  }
  return { hours, revokedByReason };
}

export const adminOverviewRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/admin/overview',
    access: ['admin'],
    summary: 'Counts for the last 24 hours from the audit log, hour by hour, what is live now, and the first steps of setting up.',
    response: responds<OverviewResponse>(),
    async handler({ deps }) {
      // The current hour and the 23 before it.
      const firstHour = Math.floor(Date.now() / HOUR_MS) - (HOURS - 1);
      const since = new Date(firstHour * HOUR_MS);
      const [rows, activeUsers, enabledModels, sessions, grants, setup] = await Promise.all([
        countActionsByHour(deps.pool, { since, actions: [...SERIES_OF.keys()] }),
        countActiveUsers(deps.pool),
        countEnabledModels(deps.pool),
        deps.sessions.listLive(1),
        deps.grants.listLive(),
        getSetupProgress(deps.pool),
      ]);
      return { body: {
        since: since.toISOString(),
        ...buildOverviewHours(rows, firstHour),
        current: { activeUsers, liveSessions: sessions.total, liveGrants: grants.length, enabledModels },
        setup,
      } };
    },
  }),
];
