import type { AuditEventView } from '../../shared/audit.ts';
import { AUDIT_CHANNEL, getAuditEvent } from '../db/audit.ts';
import { createAdminClient, type Pool } from '../db/pool.ts';
import type { Logger } from '../log.ts';

/**
 * The live audit feed: every node LISTENs for committed audit events (the INSERT notifies
 * in the same transaction, so a rolled-back change is never announced) and hands each to
 * its own admin and auditor sockets. Reconnects by itself if Postgres restarts.
 */
export function startAuditFeed({ databaseUrl, pool, log, onEvent }: { databaseUrl: string; pool: Pool; log: Logger; onEvent: (event: AuditEventView) => void }): () => Promise<void> {
  let stopped = false;
  let client: ReturnType<typeof createAdminClient> | null = null;
  let retry: NodeJS.Timeout | null = null;

  const connect = async () => {
    if (stopped) return;
    const listener = createAdminClient(databaseUrl);
    client = listener;
    listener.on('error', (error) => {
      log.warn({ err: error.message }, 'audit feed connection lost');
      schedule();
    });
    listener.on('notification', (message) => {
      if (message.channel !== AUDIT_CHANNEL || !message.payload) return;
      getAuditEvent(pool, Number(message.payload)).then(
        (event) => event && onEvent(event),
        (error: unknown) => log.warn({ err: (error as Error).message }, 'audit feed could not read an event'),
      );
    });
    try {
      await listener.connect();
      await listener.query(`LISTEN ${AUDIT_CHANNEL}`);
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'audit feed could not listen');
      schedule();
    }
  };
  const schedule = () => {
    const old = client;
    client = null;
    old?.end().catch(() => undefined);
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = null;
      void connect();
    }, 2_000);
    retry.unref();
  };
  void connect();
  return async () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    await client?.end().catch(() => undefined);
  };
}
