import type { SetupProgress } from '../../shared/api.ts';
import { query, type Queryable } from './pool.ts';

/**
 * How far a new installation got, in one statement of four EXISTS probes, each stopping at
 * the first row: a second account, an enabled model that is not the demo, any detector ever
 * paired (revoking it later does not undo the step), a successful audit export (the
 * audit_event_action index).
 */
export async function getSetupProgress(db: Queryable): Promise<SetupProgress> {
  const { rows } = await query<SetupProgress>(
    db,
    'setup_progress',
    `SELECT (SELECT count(*) FROM (SELECT 1 FROM app_user LIMIT 2) two) > 1 AS "usersCreated",
            EXISTS (SELECT 1 FROM model WHERE enabled AND provider <> 'demo') AS "realModel",
            EXISTS (SELECT 1 FROM detector) AS "detectorPaired",
            EXISTS (SELECT 1 FROM audit_event WHERE action = 'audit.export' AND outcome = 'success') AS "auditExported"`,
  );
  return rows[0]!;
}
