import type { AuditEventView } from '../../shared/audit.ts';
import { AUDIT_CHANNEL, getAuditEvent } from '../db/audit.ts';
import type { Pool } from '../db/pool.ts';
import type { Logger } from '../log.ts';

/**
 * The live audit feed, as a channel of the node's Postgres listener: every node hears each
 * committed audit event (the INSERT notifies in the same transaction, so a rolled-back change
 * is never announced) and hands it to its own admin and auditor sockets. A node with none of
 * those sockets (`wanted` false) does not read the event at all: a read per event per node
 * would otherwise cost every audited request a query nobody sees.
 */
export function auditFeedChannel({
  pool,
  log,
  wanted,
  onEvent,
}: {
  pool: Pool;
  log: Logger;
  wanted: () => boolean;
  onEvent: (event: AuditEventView) => void;
}): Record<string, (payload: string) => void> {
  return {
    [AUDIT_CHANNEL]: (payload) => {
      if (!wanted()) return;
      getAuditEvent(pool, Number(payload)).then(
        (event) => event && onEvent(event),
        (error: unknown) => log.warn({ err: (error as Error).message }, 'audit feed could not read an event'),
      );
    },
  };
}
