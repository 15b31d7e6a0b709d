import type { AuditEventView } from '../../shared/audit.ts';
import { listResolvedAuditEventsAfter, parseAuditNotification } from '../db/audit.ts';
import type { Pool } from '../db/pool.ts';
import type { Logger } from '../log.ts';

/** Events one read of the feed takes at most; a longer range is read in several. */
export const AUDIT_FEED_READ = 500;

/**
 * The live audit feed, as the handler of the node's `argus_audit` notifications: every node
 * hears of each committed append (the function notifies in its transaction, so a rolled-back
 * change is never announced) and hands its events to its own admin and auditor sockets.
 *
 * A notification names a seq range (one event, or a group-committed batch: sql/000025). The feed
 * reads from the last seq it handed on through the newest announced, one read at a time, so its
 * sockets get every event once and in chain order, including events whose notification was lost
 * while the listener reconnected (they are read with the next range). A node with none of those
 * sockets (`wanted` false) reads nothing and moves past what was announced: a read per append per
 * node would otherwise cost every audited request a query nobody sees.
 */
export function auditFeed({
  pool,
  log,
  wanted,
  onEvent,
  readLimit = AUDIT_FEED_READ,
}: {
  pool: Pool;
  log: Logger;
  wanted: () => boolean;
  onEvent: (event: AuditEventView) => void;
  readLimit?: number;
}): (payload: string) => void {
  /** The last seq handed on (or passed over while nobody wanted it); null until the first notification. */
  let seen: number | null = null;
  /** The newest seq announced. */
  let announced = 0;
  let reading = false;

  const readAnnounced = async () => {
    reading = true;
    try {
      while (seen !== null && seen < announced) {
        if (!wanted()) {
          seen = announced;
          break;
        }
        const events = await listResolvedAuditEventsAfter(pool, { afterSeq: seen, throughSeq: announced, limit: readLimit });
        // Nothing where something was announced (seqs are contiguous, so only a chain rewritten
        // under us): move past it rather than read it again on every notification.
        if (events.length === 0) seen = announced;
        for (const event of events) {
          seen = event.seq;
          onEvent(event);
        }
      }
    } catch (error) {
      // `seen` stays: the next notification reads from there again.
      log.warn({ err: (error as Error).message }, 'audit feed could not read events');
    } finally {
      reading = false;
    }
  };

  return (payload) => {
    const range = parseAuditNotification(payload);
    if (!range) {
      log.warn({ payload: payload.slice(0, 40) }, 'audit feed ignored a notification that names no seq range');
      return;
    }
    announced = Math.max(announced, range.lastSeq);
    // The first range heard starts the feed; after that, a range past the one expected means
    // notifications were missed, and the events between are read too.
    if (seen === null) seen = range.firstSeq - 1;
    if (!wanted()) seen = Math.max(seen, range.lastSeq);
    if (!reading && seen < announced) void readAnnounced();
  };
}
