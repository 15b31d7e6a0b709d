import { randomBytes } from 'node:crypto';
import type session from 'express-session';
import { openSession, sealSession, type SessionIntegrity } from '../auth/sessionStore.ts';
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

/**
 * A stored session record (`raw`, as Redis holds it) opened with `mac`, changed by `edit`, and
 * sealed again as a node would write it: how a test ages a session (an older step-up, sign-in or
 * cookie). Throws if the record is not one `mac` sealed for this session id.
 */
export function resealedSession(mac: RecordMac, sid: string, raw: string, edit: (data: session.SessionData) => void): string {
  const opened = openSession(mac, sid, raw);
  if (!('data' in opened)) throw new Error(`session ${sid} is stored without a valid MAC (${opened.forged})`);
  edit(opened.data);
  return sealSession(mac, sid, opened.data);
}
