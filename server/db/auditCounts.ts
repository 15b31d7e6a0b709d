import { query, type Queryable } from './pool.ts';

/** How many events of one action (and, for revocations, one reason) fell in one hour. */
export interface HourlyActionCount {
  /** Whole hours since the Unix epoch (UTC). */
  hour: number;
  action: string;
  /** details.reason of grant.revoked events; null for other actions. */
  reason: string | null;
  count: number;
}

/**
 * Counts of the given actions per hour since `since`, in one grouped query. Revocations are
 * split by their reason. The existing indexes serve it (the planner picks audit_event_time
 * or a bitmap on audit_event_action): measured at 500 000 events, ~20 ms over a month of
 * them and ~40–90 ms with all of them inside the last day. An (action, time) index was
 * tried and never chosen, so there is none.
 */
export async function countActionsByHour(db: Queryable, { since, actions }: { since: Date; actions: readonly string[] }): Promise<HourlyActionCount[]> {
  const { rows } = await query<HourlyActionCount>(
    db,
    'audit_counts_by_hour',
    `SELECT floor(extract(epoch FROM time) / 3600)::int AS hour,
            action,
            CASE WHEN action = 'grant.revoked' THEN details->>'reason' END AS reason,
            count(*)::int AS count
     FROM audit_event
     WHERE action = ANY($2::text[]) AND time >= $1::timestamptz
     GROUP BY 1, 2, 3`,
    [since, actions],
  );
  return rows;
}
