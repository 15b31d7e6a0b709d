/**
 * The one module that imports `pg`. Every query goes through `query()`, which logs its
 * name and timing but never its parameters: they may hold secrets.
 */
import pg from 'pg';
import type { Logger } from '../log.ts';
import { dbTransactionRetries } from '../metrics.ts';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything a query can run on: the pool, or a client inside a transaction. */
export type Queryable = pg.Pool | pg.PoolClient;

/** Postgres error codes we act on. */
export const PG_UNIQUE_VIOLATION = '23505';
/** A row is still referenced by a foreign key without ON DELETE CASCADE / SET NULL. */
export const PG_FOREIGN_KEY_VIOLATION = '23503';
/** 23514 check_violation: a row breaks a CHECK constraint (or a trigger raising it, sql/000023). */
export const PG_CHECK_VIOLATION = '23514';
/** Raised by our append-only trigger on audit_event. */
export const PG_RAISE_EXCEPTION = 'P0001';
/** 40001 serialization_failure and 40P01 deadlock_detected: the transaction may simply run again. */
export const PG_SERIALIZATION_FAILURE = '40001';
export const PG_DEADLOCK_DETECTED = '40P01';
/** 42501 insufficient_privilege: the connected role may not do this (least privilege, sql/000015). */
export const PG_INSUFFICIENT_PRIVILEGE = '42501';
/**
 * Raised by audit_checkpoint_append (sql/000015): the chain has no event with the checkpoint's
 * seq and hash. Class ZA is Argus's own: PostgreSQL uses no class starting with Z.
 */
export const PG_AUDIT_CHECKPOINT_UNKNOWN_EVENT = 'ZA001';

// Return bigint (int8) columns as strings is pg's default; we convert where a row is read.
// timestamptz stays a Date.

/**
 * Each pool's logger, and its clients' (recorded as the pool opens them), so a query logs
 * through the pool it runs on however many pools the process holds.
 */
const loggers = new WeakMap<Queryable, Logger>();

export function createPool(connectionString: string, logger: Logger, max = 10): Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // A query that hangs longer than this is a fault, not a slow query.
    statement_timeout: 15_000,
    application_name: 'argus',
  });
  // Errors on idle clients (e.g. Postgres restarted) must not crash the process.
  pool.on('error', (error) => logger.warn({ err: error.message }, 'idle postgres client error'));
  pool.on('connect', (client) => loggers.set(client, logger));
  loggers.set(pool, logger);
  return pool;
}

/**
 * `prepare` keeps the statement parsed and planned on each connection under `name` (which
 * must then always go with the same text): for the hottest statements only.
 */
export async function query<Row extends pg.QueryResultRow>(
  db: Queryable,
  name: string,
  text: string,
  values: unknown[] = [],
  { prepare = false }: { prepare?: boolean } = {},
): Promise<pg.QueryResult<Row>> {
  const started = performance.now();
  try {
    return await db.query<Row>(prepare ? { name, text, values } : { text, values });
  } finally {
    loggers.get(db)?.trace({ query: name, ms: +(performance.now() - started).toFixed(2) }, 'db query');
  }
}

/** Whether `db` is the pool itself (a query on it commits by itself) rather than a client that may be in a transaction. */
export function isPool(db: Queryable): db is Pool {
  return db instanceof pg.Pool;
}

export async function withClient<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await fn(client);
  } finally {
    client.release();
  }
}

/** How often a transaction runs in all when Postgres ends it as a deadlock victim or serialization failure. */
const TRANSACTION_ATTEMPTS = 4;

/**
 * Runs fn in one transaction: committed if it resolves, rolled back if it throws. Every
 * transaction takes its locks in one order (docs/locking.md), so a deadlock should not
 * happen; if one does (or a serialization failure), the whole transaction runs again after a
 * short random pause, a bounded number of times, instead of surfacing as a 500. So fn may run
 * more than once: it must only touch the database (and compute), never Redis or the network.
 */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await withClient(pool, async (client) => {
        await client.query('BEGIN');
        try {
          const result = await fn(client);
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      });
    } catch (error) {
      const code = pgErrorCode(error);
      const retryable = code === PG_DEADLOCK_DETECTED || code === PG_SERIALIZATION_FAILURE;
      if (!retryable || attempt >= TRANSACTION_ATTEMPTS) throw error;
      dbTransactionRetries.inc({ code });
      loggers.get(pool)?.warn({ code, attempt }, 'transaction retried after a lock conflict');
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}

/**
 * Quoting for the few statements that take no parameters (ALTER ROLE … PASSWORD, CREATE ROLE):
 * a value as a string literal, a name as an identifier.
 */
export const escapeLiteral: (value: string) => string = pg.escapeLiteral;
export const escapeIdentifier: (name: string) => string = pg.escapeIdentifier;

/** A plain pg client for administrative work (creating databases in tests, migrations). */
export function createAdminClient(connectionString: string): pg.Client {
  return new pg.Client({ connectionString, connectionTimeoutMillis: 5_000 });
}

export function pgErrorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}
