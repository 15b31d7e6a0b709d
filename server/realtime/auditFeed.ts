import type { AuditEventView } from '../../shared/audit.ts';
import { AUDIT_CHANNEL, getAuditEvent } from '../db/audit.ts';
import type { Pool } from '../db/pool.ts';
import type { Logger } from '../log.ts';
import { startPgListener } from './pgListener.ts';

/**
 * The live audit feed: every node LISTENs for committed audit events (the INSERT notifies
 * in the same transaction, so a rolled-back change is never announced) and hands each to
 * its own admin and auditor sockets. Reconnects by itself if Postgres restarts.
 */
export function startAuditFeed({ databaseUrl, pool, log, onEvent }: { databaseUrl: string; pool: Pool; log: Logger; onEvent: (event: AuditEventView) => void }): () => Promise<void> {
  return startPgListener({
    databaseUrl,
    log,
    channels: {
      [AUDIT_CHANNEL]: (payload) => {
        getAuditEvent(pool, Number(payload)).then(
          (event) => event && onEvent(event),
          (error: unknown) => log.warn({ err: (error as Error).message }, 'audit feed could not read an event'),
        );
      },
    },
  });
}
