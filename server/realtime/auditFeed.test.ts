import { describe, expect, it, vi } from 'vitest';
import type { AuditEventView } from '../../shared/audit.ts';
import { recordAuditEvent, SYSTEM_CONTEXT } from '../audit/record.ts';
import { AUDIT_CHANNEL } from '../db/audit.ts';
import type { Pool } from '../db/pool.ts';
import { createLogger } from '../log.ts';
import { useTestDatabase } from '../test/testDatabase.ts';
import { auditFeedChannel } from './auditFeed.ts';

const db = useTestDatabase();

/** The pool, counting the queries made on it. */
function countingPool(pool: Pool): { pool: Pool; queries: () => number } {
  let count = 0;
  const counted = new Proxy(pool, {
    get(target, property, receiver) {
      if (property === 'query') {
        return (...args: Parameters<Pool['query']>) => {
          count += 1;
          return (target.query as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
  return { pool: counted, queries: () => count };
}

describe('the live audit feed', () => {
  it("reads a committed event and hands it on while this node has staff sockets, and reads nothing while it has none", async () => {
    const event = await recordAuditEvent(db.pool, SYSTEM_CONTEXT, { action: 'auth.signout', outcome: 'success' });
    const { pool, queries } = countingPool(db.pool);
    const received: AuditEventView[] = [];
    let staffConnected = false;
    const onEvent = vi.fn((view: AuditEventView) => received.push(view));
    const channel = auditFeedChannel({ pool, log: createLogger('silent'), wanted: () => staffConnected, onEvent })[AUDIT_CHANNEL]!;

    channel(String(event.seq));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(queries()).toBe(0);
    expect(onEvent).not.toHaveBeenCalled();

    staffConnected = true;
    channel(String(event.seq));
    await vi.waitFor(() => expect(onEvent).toHaveBeenCalledTimes(1));
    expect(queries()).toBe(1);
    expect(received[0]).toMatchObject({ seq: event.seq, action: 'auth.signout' });
  });
});
