import type { TestProject } from 'vitest/node';
import { migrate } from '../db/migrate.ts';
import { createAdminClient, createPool } from '../db/pool.ts';
import { createLogger } from '../log.ts';
import { ADMIN_DATABASE_URL, databaseUrl } from './env.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}

/**
 * Builds one migrated template database per test run; every test file clones it
 * (CREATE DATABASE … TEMPLATE), which takes milliseconds and isolates files completely.
 */
export default async function setup(project: TestProject) {
  const template = `argus_tpl_${process.pid}_${Date.now().toString(36)}`;
  const admin = createAdminClient(ADMIN_DATABASE_URL);
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${template}`);
  } finally {
    await admin.end();
  }
  const pool = createPool(databaseUrl(template), createLogger('silent'), 1);
  await migrate(pool, createLogger('silent'));
  await pool.end();
  project.provide('templateDatabase', template);

  return async () => {
    const cleanup = createAdminClient(ADMIN_DATABASE_URL);
    await cleanup.connect();
    try {
      const { rows } = await cleanup.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE datname = $1::text OR datname LIKE $2::text`,
        [template, `argus_t_${process.pid}_%`],
      );
      for (const { datname } of rows) await cleanup.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    } finally {
      await cleanup.end();
    }
  };
}
