import { afterAll, beforeAll } from 'vitest';
import { createPool, type Pool } from '../db/pool.ts';
import { createLogger } from '../log.ts';
import { createTestDatabase, type TestDatabase } from './harness.ts';

/**
 * A fresh database (cloned from the run's migrated template) and pools on it, for the tests
 * of one file that need Postgres but no Argus node: made before them, dropped after. Read
 * `pool`, `ownerPool` and `database` inside tests and hooks, once the set-up has run.
 *
 * `pool` connects as the test application role, as the server does (sql/000015: it may read
 * the audit tables and append only through audit_append / audit_checkpoint_append).
 * `ownerPool` connects as the owner: only for what the server cannot do (tampering with or
 * seeding the audit tables, changing the schema).
 */
export function useTestDatabase(): { readonly pool: Pool; readonly ownerPool: Pool; readonly database: TestDatabase } {
  let database: TestDatabase | null = null;
  let pool: Pool | null = null;
  let ownerPool: Pool | null = null;
  beforeAll(async () => {
    database = await createTestDatabase();
    pool = createPool(database.url, createLogger('silent'));
    ownerPool = createPool(database.ownerUrl, createLogger('silent'), 2);
  });
  afterAll(async () => {
    await pool?.end();
    await ownerPool?.end();
    await database?.drop();
  });
  const setUp = <T>(value: T | null, what: string): T => {
    if (!value) throw new Error(`useTestDatabase: the ${what} is made in beforeAll; read it inside a test or hook`);
    return value;
  };
  return {
    get pool() {
      return setUp(pool, 'pool');
    },
    get ownerPool() {
      return setUp(ownerPool, 'owner pool');
    },
    get database() {
      return setUp(database, 'database');
    },
  };
}
