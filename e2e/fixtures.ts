import { test as base, expect } from '@playwright/test';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Role } from '../shared/api.ts';
import type { ChatStreamEvent } from '../shared/events.ts';
import { createPool, type Pool } from '../server/db/pool.ts';
import { createLogger } from '../server/log.ts';
import { SoftAuthenticator, type SoftCredential } from '../server/test/softAuthenticator.ts';
import { createUserWithEnrollment } from '../server/users/createUser.ts';
import { VirtualAuthenticator } from './virtualAuthenticator.ts';

export interface TestAccount {
  username: string;
  displayName: string;
  password: string;
  role: Role;
  userId: string;
  /** The account's security key, registered over the API; put it into a browser with `key.addCredential`. */
  credential: SoftCredential;
}

export interface ArgusFixture {
  url: string;
  pool: Pool;
  /** A user with an unused enrollment link, as an admin or `create-admin` makes one. */
  invite(role: Role): Promise<{ username: string; displayName: string; enrollmentUrl: string }>;
  /** A user who has finished enrollment over the API (password and a software security key). */
  account(role: Role): Promise<TestAccount>;
}

export const test = base.extend<{ argus: ArgusFixture; key: VirtualAuthenticator }>({
  key: async ({ page }, use) => use(await VirtualAuthenticator.attach(page)),
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
      let cookie = '';
      const post = async (path: string, body: unknown = {}) => {
        const response = await fetch(`${url}${path}`, {
          method: 'POST',
          headers: { origin: url, 'content-type': 'application/json', cookie },
          body: JSON.stringify(body),
        });
        cookie = response.headers.get('set-cookie')?.split(';')[0] ?? cookie;
        expect(response.status, await response.clone().text()).toBe(200);
        return response.json() as Promise<{ options: { challenge: string } }>;
      };
      await post(`/api/enrollment/${token}/password`, { password });
      const { options } = await post(`/api/enrollment/${token}/key/options`);
      const soft = new SoftAuthenticator(url, new URL(url).hostname);
      const done = (await post(`/api/enrollment/${token}/key`, { response: soft.register(options), nickname: 'Test key' })) as unknown as {
        user: { id: string };
      };
      // The enrollment signed this fetch client in; leave no stray session behind.
      await fetch(`${url}/api/auth/signout`, { method: 'POST', headers: { origin: url, 'content-type': 'application/json', cookie }, body: '{}' });
      return { username: invited.username, displayName: invited.displayName, password, role, userId: done.user.id, credential: soft.credentials[0]! };
    };
    await use({ url, pool, invite, account });
    await pool.end();
  },
});

/**
 * `route.fulfill` options for a mocked answer to a conversation message: a `start` with fresh
 * ids, then `events`, as server-sent events.
 */
export function streamedAnswer(events: ChatStreamEvent[]): { status: number; headers: Record<string, string>; body: string } {
  const all: ChatStreamEvent[] = [{ type: 'start', userMessageId: randomUUID(), assistantMessageId: randomUUID() }, ...events];
  return {
    status: 200,
    headers: { 'Content-Type': 'text/event-stream' },
    body: all.map((event) => `data: ${JSON.stringify(event)}\n\n`).join(''),
  };
}

export { expect };
