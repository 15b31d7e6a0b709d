import type { Logger } from '../log.ts';
import type { Config } from '../config.ts';
import { UnreadableCiphertextError, dataKeysFor } from '../crypto/dataKeys.ts';
import { dataKeyCounts, lockConversationsNotUnderKek, lockPlaintextRestrictedConversations, setWrappedDataKey } from '../db/conversations.ts';
import { query, type Pool, type PoolClient } from '../db/pool.ts';
import { encryptConversation } from './conversationContent.ts';

/**
 * The two jobs over every restricted conversation (issue #21), each in batches of its own
 * transaction, resumable (each works off what is still to do: plaintext restricted rows; data
 * keys not under the current KEK), and run by one process at a time (a session advisory lock):
 *   - encrypting in place the restricted conversations sql/000023 could only mark;
 *   - re-wrapping data keys under the current KEK after a rotation (`rotate-data-key`).
 */

type JobDeps = { pool: Pool; config: Pick<Config, 'dataEncryptionKeys'>; log: Logger };

// Advisory lock keys (docs/locking.md: tried, never waited for, and taken outside the row-lock order).
export const ENCRYPT_LOCK_KEY = 0x4152_4345; // "ARCE"
const REWRAP_LOCK_KEY = 0x4152_4b52; // "ARKR"

export const BATCH_SIZE = 100;

export type JobResult = { ran: false } | { ran: true; done: number };

/** Runs `batch` until it finds nothing more to do, holding `lockKey`; `{ ran: false }` if another process holds it. */
async function runAlone(pool: Pool, lockKey: number, batch: (client: PoolClient) => Promise<number>, onBatch?: (done: number) => void): Promise<JobResult> {
  const client = await pool.connect();
  try {
    const { rows } = await query<{ locked: boolean }>(client, 'data_key_job_lock', 'SELECT pg_try_advisory_lock($1::bigint) AS locked', [lockKey]);
    if (!rows[0]!.locked) return { ran: false };
    try {
      let done = 0;
      for (;;) {
        await client.query('BEGIN');
        let count: number;
        try {
          count = await batch(client);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
        if (count === 0) return { ran: true, done };
        done += count;
        onBatch?.(done);
      }
    } finally {
      await query(client, 'data_key_job_unlock', 'SELECT pg_advisory_unlock($1::bigint)', [lockKey]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}

/** Encrypts restricted conversations still in plaintext, `batchSize` per transaction. */
export function encryptRestrictedConversations(deps: JobDeps, { batchSize = BATCH_SIZE, onBatch }: { batchSize?: number; onBatch?: (done: number) => void } = {}): Promise<JobResult> {
  return runAlone(
    deps.pool,
    ENCRYPT_LOCK_KEY,
    async (client) => {
      const rows = await lockPlaintextRestrictedConversations(client, batchSize);
      for (const row of rows) await encryptConversation(deps, client, row, row.restricted_models);
      return rows.length;
    },
    onBatch,
  );
}

/** A data key wrapped under a KEK that is no longer configured: rotation cannot go on until it is listed again. */
export class MissingKekError extends Error {
  override name = 'MissingKekError';
  constructor(readonly kekId: string) {
    super(`A data key is wrapped under the key-encryption key "${kekId}", which is not configured. Add it back to DATA_ENCRYPTION_KEYS (after the current key) and run rotate-data-key again.`);
  }
}

/** Re-wraps every data key not under the current KEK, `batchSize` per transaction. Messages are not touched. */
export function rewrapDataKeys(deps: JobDeps, { batchSize = BATCH_SIZE, onBatch }: { batchSize?: number; onBatch?: (done: number) => void } = {}): Promise<JobResult> {
  const keys = dataKeysFor(deps.config);
  return runAlone(
    deps.pool,
    REWRAP_LOCK_KEY,
    async (client) => {
      const rows = await lockConversationsNotUnderKek(client, keys.currentKekId, batchSize);
      for (const row of rows) {
        try {
          await setWrappedDataKey(client, row.id, keys.rewrap(row.id, { wrapped: row.wrapped_dek, kekId: row.kek_id }));
        } catch (error) {
          if (error instanceof UnreadableCiphertextError && error.reason === 'unknown_kek') throw new MissingKekError(row.kek_id);
          if (error instanceof UnreadableCiphertextError) deps.log.error({ alarm: 'conversation_unreadable', conversationId: row.id, what: error.what, reason: error.reason }, 'ALARM: a data key does not unwrap');
          throw error;
        }
      }
      return rows.length;
    },
    onBatch,
  );
}

/** Where encryption at rest stands, for admins (GET /api/admin/data-keys) and the CLI. */
export async function dataKeyState(deps: Pick<JobDeps, 'pool' | 'config'>) {
  const keys = dataKeysFor(deps.config);
  const counts = await dataKeyCounts(deps.pool);
  const configured = new Set(keys.kekIds);
  return {
    currentKekId: keys.currentKekId,
    configuredKekIds: keys.kekIds,
    // The current key first.
    perKek: counts.perKek
      .map((row) => ({ ...row, current: row.kekId === keys.currentKekId, configured: configured.has(row.kekId) }))
      .sort((a, b) => Number(b.current) - Number(a.current)),
    rotationComplete: counts.perKek.every((row) => row.kekId === keys.currentKekId),
    plaintextRestricted: counts.plaintextRestricted,
  };
}

/**
 * At start-up, in the background: encrypts what sql/000023 marked (or another node left
 * half-done). A failure is logged, never stops the node: those rows stay gated by the grant
 * check, and the next start (or `encrypt-conversations`) takes them up again.
 */
export function startConversationEncryption(deps: JobDeps): () => Promise<void> {
  const running = encryptRestrictedConversations(deps, { onBatch: (done) => deps.log.info({ done }, 'restricted conversations encrypted so far') }).then(
    (result) => {
      if (result.ran && result.done > 0) deps.log.info({ encrypted: result.done }, 'restricted conversations encrypted in place');
    },
    (error: unknown) => deps.log.error({ code: (error as { code?: unknown }).code, err: error instanceof UnreadableCiphertextError ? error.message : (error as Error).name }, 'restricted conversations not encrypted; retried at the next start'),
  );
  return () => running;
}
