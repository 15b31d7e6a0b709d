import { afterAll, beforeAll } from 'vitest';
import { createPool, type Pool } from '../db/pool.ts';
import { createLogger } from '../log.ts';
import { createTestDatabase } from './harness.ts';

/**
 * A fresh database (cloned from the run's migrated template) and a pool on it, for the tests
 * of one file that need Postgres but no Argus node: made before them, dropped after. Read
 * `pool` and `database` inside tests and hooks, once the set-up has run.
 */
export function useTestDatabase(): { readonly pool: Pool; readonly database: Awaited<ReturnType<typeof createTestDatabase>> } {
  let database: Awaited<ReturnType<typeof createTestDatabase>> | null = null;
  let pool: Pool | null = null;
  beforeAll(async () => {
    database = await createTestDatabase();
    pool = createPool(database.url, createLogger('silent'));
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });
  return {
    get pool() {
      if (!pool) throw new Error('useTestDatabase: the pool is made in beforeAll; read it inside a test or hook');
      return pool;
    },
    get database() {
      if (!database) throw new Error('useTestDatabase: the database is made in beforeAll; read it inside a test or hook');
      return database;
    },
  };
}
