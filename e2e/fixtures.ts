import { test as base, expect } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import type { Role } from '../shared/api.ts';
import { createPool, type Pool } from '../server/db/pool.ts';
import { createLogger } from '../server/log.ts';
import { createUserWithEnrollment } from '../server/users/createUser.ts';

export interface TestAccount {
  username: string;
  displayName: string;
  password: string;
  role: Role;
}

export interface ArgusFixture {
  url: string;
  pool: Pool;
  /** A user with an unused enrollment link, as an admin or `create-admin` makes one. */
  invite(role: Role): Promise<{ username: string; displayName: string; enrollmentUrl: string }>;
  /** A user who has finished enrollment (password chosen over the API, not the UI). */
  account(role: Role): Promise<TestAccount>;
}

export const test = base.extend<{ argus: ArgusFixture }>({
  baseURL: async ({}, use) => use(process.env.ARGUS_E2E_URL),
  argus: async ({}, use) => {
    const url = process.env.ARGUS_E2E_URL!;
    const pool = createPool(process.env.ARGUS_E2E_DATABASE_URL!, createLogger('silent'), 2);
    const invite = async (role: Role) => {
      const username = `${role}-${randomBytes(3).toString('hex')}`;
      const displayName = `${role[0]!.toUpperCase()}${role.slice(1)} ${username.slice(-6)}`;
      const result = await createUserWithEnrollment({
        pool,
        config: { origin: url, enrollmentTtlHours: 24 } as Parameters<typeof createUserWithEnrollment>[0]['config'],
        username,
        displayName,
        role,
        context: { actor: null, ip: null, userAgent: 'e2e' },
      });
      if (!result.created) throw new Error(`could not create ${username}`);
      return { username, displayName, enrollmentUrl: result.enrollment.url };
    };
    const account = async (role: Role): Promise<TestAccount> => {
      const invited = await invite(role);
      const password = `e2e ${randomBytes(8).toString('hex')} pass`;
      const token = invited.enrollmentUrl.split('/').pop()!;
      const response = await fetch(`${url}/api/enrollment/${token}/password`, {
        method: 'POST',
        headers: { origin: url, 'content-type': 'application/json' },
        body: JSON.stringify({ password }),
      });
      expect(response.status).toBe(200);
      return { username: invited.username, displayName: invited.displayName, password, role };
    };
    await use({ url, pool, invite, account });
    await pool.end();
  },
});

export { expect };
