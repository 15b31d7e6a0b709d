import type { Logger } from '../log.ts';
import type { Config } from '../config.ts';
import { UnreadableCiphertextError, dataKeysFor } from '../crypto/dataKeys.ts';
import {
  countPlaintextRestricted,
  dataKeyCounts,
  lockConversationsNotUnderKek,
  lockPlaintextRestrictedConversations,
  setWrappedDataKey,
  validateEncryptionConstraint,
} from '../db/conversations.ts';
import { PG_CHECK_VIOLATION, pgErrorCode, query, type Pool, type PoolClient } from '../db/pool.ts';
import { encryptConversation } from './conversationContent.ts';

/**
 * The two jobs over every restricted conversation (issue #21), each in batches of its own
 * transaction, resumable (each works off what is still to do: plaintext restricted rows; data
 * keys not under the current KEK), and run by one process at a time (a session advisory lock):
 *   - encrypting in place the restricted conversations sql/000023 could only mark, then having
 *     PostgreSQL validate conversation_restricted_is_encrypted (sql/000026) once none is left;
 *   - re-wrapping data keys under the current KEK after a rotation (`rotate-data-key`).
 */

type JobDeps = { pool: Pool; config: Pick<Config, 'dataEncryptionKeys'>; log: Logger };

// Advisory lock keys (docs/locking.md: tried, never waited for, and taken outside the row-lock order).
export const ENCRYPT_LOCK_KEY = 0x4152_4345; // "ARCE"
const REWRAP_LOCK_KEY = 0x4152_4b52; // "ARKR"

export const BATCH_SIZE = 100;

export type JobResult = { ran: false } | { ran: true; done: number };
/** `constraintValidated`: PostgreSQL has checked every row; no restricted conversation is in plaintext, old ones included. */
export type EncryptionJobResult = { ran: false } | { ran: true; done: number; constraintValidated: boolean };

/** Runs `work` holding `lockKey` on one connection; `{ ran: false }` if another process holds it. */
async function runAlone<T extends object>(pool: Pool, lockKey: number, work: (client: PoolClient) => Promise<T>): Promise<{ ran: false } | ({ ran: true } & T)> {
  const client = await pool.connect();
  try {
    const { rows } = await query<{ locked: boolean }>(client, 'data_key_job_lock', 'SELECT pg_try_advisory_lock($1::bigint) AS locked', [lockKey]);
    if (!rows[0]!.locked) return { ran: false };
    try {
      return { ran: true, ...(await work(client)) };
    } finally {
      await query(client, 'data_key_job_unlock', 'SELECT pg_advisory_unlock($1::bigint)', [lockKey]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}

/** Runs `batch`, each in its own transaction, until it finds nothing more to do; how many rows it did. */
async function runBatches(client: PoolClient, batch: (client: PoolClient) => Promise<number>, onBatch?: (done: number) => void): Promise<number> {
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
    if (count === 0) return done;
    done += count;
    onBatch?.(done);
  }
}

/**
 * Encrypts restricted conversations still in plaintext, `batchSize` per transaction. When none
 * is left, has PostgreSQL validate conversation_restricted_is_encrypted: until then the CHECK
 * (NOT VALID since sql/000023) held only for rows written after that migration.
 */
export function encryptRestrictedConversations(
  deps: JobDeps,
  { batchSize = BATCH_SIZE, onBatch }: { batchSize?: number; onBatch?: (done: number) => void } = {},
): Promise<EncryptionJobResult> {
  return runAlone(deps.pool, ENCRYPT_LOCK_KEY, async (client) => {
    const done = await runBatches(
      client,
      async (batchClient) => {
        const rows = await lockPlaintextRestrictedConversations(batchClient, batchSize);
        for (const row of rows) await encryptConversation(deps, batchClient, row, row.restricted_models);
        return rows.length;
      },
      onBatch,
    );
    return { done, constraintValidated: await validateWhenAllEncrypted(deps, client) };
  });
}

/**
 * After the last batch, still holding the job's lock. A row the batches skipped (another
 * transaction held it: SKIP LOCKED) may still be in plaintext; the constraint then waits for
 * the next run rather than fail on it.
 */
async function validateWhenAllEncrypted({ log }: Pick<JobDeps, 'log'>, client: PoolClient): Promise<boolean> {
  if ((await countPlaintextRestricted(client)) > 0) return false;
  try {
    if (await validateEncryptionConstraint(client)) log.info({ constraint: 'conversation_restricted_is_encrypted' }, 'every restricted conversation is encrypted: constraint validated');
    return true;
  } catch (error) {
    // 23514: a row still breaks it. None should (the count was 0, and the CHECK has held for every
    // write since sql/000023); the constraint stays NOT VALID and the next run tries again.
    if (pgErrorCode(error) === PG_CHECK_VIOLATION) return false;
    throw error;
  }
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
  return runAlone(deps.pool, REWRAP_LOCK_KEY, async (client) => ({
    done: await runBatches(
      client,
      async (batchClient) => {
        const rows = await lockConversationsNotUnderKek(batchClient, keys.currentKekId, batchSize);
        for (const row of rows) {
          try {
            await setWrappedDataKey(batchClient, row.id, keys.rewrap(row.id, { wrapped: row.wrapped_dek, kekId: row.kek_id }));
          } catch (error) {
            if (error instanceof UnreadableCiphertextError && error.reason === 'unknown_kek') throw new MissingKekError(row.kek_id);
            if (error instanceof UnreadableCiphertextError) deps.log.error({ alarm: 'conversation_unreadable', conversationId: row.id, what: error.what, reason: error.reason }, 'ALARM: a data key does not unwrap');
            throw error;
          }
        }
        return rows.length;
      },
      onBatch,
    ),
  }));
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
    encryptionConstraintValidated: counts.encryptionConstraintValidated,
  };
}

/**
 * At start-up, in the background: encrypts what sql/000023 marked (or another node left
 * half-done), then validates the constraint (at once when it is valid already). A failure is
 * logged, never stops the node: those rows stay gated by the grant check, and the next start
 * (or `encrypt-conversations`) takes them up again.
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
