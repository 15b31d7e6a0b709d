import { randomBytes } from 'node:crypto';
import type { SessionIntegrity } from '../auth/sessionStore.ts';
import type { ForgedRecord } from '../crypto/forgedRecordAlarm.ts';
import { RecordMac } from '../crypto/recordMac.ts';
import { createLogger } from '../log.ts';

/**
 * A session store's integrity for tests that run a store without a node (no Postgres): a
 * record key of its own, and the alarms it raised collected in `raised` (a node's alarm writes
 * them to the audit log; server/auth/sessionRecords.test.ts checks that on a real node).
 */
export function testSessionIntegrity(): SessionIntegrity & { raised: ForgedRecord[] } {
  const raised: ForgedRecord[] = [];
  return {
    mac: new RecordMac([{ id: 'test', secret: randomBytes(32) }]),
    forgedRecords: {
      raise: async (record) => {
        raised.push(record);
        return true;
      },
    },
    log: createLogger('silent'),
    raised,
  };
}
