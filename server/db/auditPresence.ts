/**
 * The audit events a presence proof joins (issue #25, docs/presence-proofs.md): the event that
 * made a grant, and the history of the credential that signed it (its registration, with the
 * public key, and its owner changes).
 */
import type { AuditEventView } from '../../shared/audit.ts';
import { COLUMNS as AUDIT_COLUMNS, getAuditEvent, toView, type AuditRow } from './audit.ts';
import { query, type Queryable } from './pool.ts';

/** The actions whose events carry `assertion` and `grant`: each makes a grant. */
export const GRANT_ACTIONS: readonly string[] = ['grant.issued', 'grant.renewed'];

/** The actions whose events carry `credential` with its public key. */
export const REGISTRATION_ACTIONS: readonly string[] = ['key.registered', 'key.first_key_registered'];

/**
 * The latest event at or before `atOrBeforeSeq` that made grant `grantId`. Grant events target
 * the grant (audit_event_target); more than one for one id can only be forged, and the one
 * nearest the use is the one it claims to run under.
 */
export async function getGrantEvent(db: Queryable, grantId: string, atOrBeforeSeq: number): Promise<AuditEventView | null> {
  const { rows } = await query<{ seq: string }>(
    db,
    'audit_grant_event',
    `SELECT seq FROM audit_event
      WHERE target_id = $1::text AND seq <= $2::bigint AND action IN ('grant.issued', 'grant.renewed')
      ORDER BY seq DESC LIMIT 1`,
    [grantId, atOrBeforeSeq],
  );
  return rows[0] ? getAuditEvent(db, Number(rows[0].seq)) : null;
}

/**
 * Every event before `beforeSeq` (all of them without it) that registered credential
 * `credentialId` (base64url) or changed its owner, in seq order: registrations, reassignments,
 * deletions (details.credential.id; sql/000022's partial index, whose action list this repeats
 * so the planner can use it) and user deletions that took it (details.keysDeleted[].credential.id;
 * few enough to read by action).
 */
export async function getCredentialHistory(db: Queryable, credentialId: string, beforeSeq: number | null = null): Promise<AuditEventView[]> {
  const { rows } = await query<AuditRow>(
    db,
    'audit_credential_history',
    `SELECT ${AUDIT_COLUMNS} FROM audit_event
      WHERE (details->'credential'->>'id') = $1::text
        AND action IN ('key.registered', 'key.first_key_registered', 'key.reassigned', 'key.deleted', 'key.removed')
        AND ($2::bigint IS NULL OR seq < $2::bigint)
     UNION ALL
     SELECT ${AUDIT_COLUMNS} FROM audit_event
      WHERE action = 'user.deleted' AND details->'keysDeleted' @> jsonb_build_array(jsonb_build_object('credential', jsonb_build_object('id', $1::text)))
        AND ($2::bigint IS NULL OR seq < $2::bigint)
     ORDER BY seq`,
    [credentialId, beforeSeq],
  );
  return rows.map(toView);
}
