import { test as base, expect, type Browser, type BrowserContext, type ConsoleMessage } from '@playwright/test';
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

/** A console error or uncaught page error seen during a test. */
export interface ConsoleReport {
  kind: 'console' | 'pageerror';
  text: string;
  /** The page's address, or for a failed resource the resource's. */
  url: string;
}

/**
 * Every test fails on a console error or uncaught error in any of its pages, in any context
 * (a second browser made with `browser.newContext()` included). A test that provokes one on
 * purpose says so: `consoleErrors.allow(/…/, 'why')`, or for Chromium's "Failed to load
 * resource" line of an expected HTTP error, `consoleErrors.allowResponse(401, '/api/…', 'why')`.
 */
export interface ConsoleErrors {
  allow(pattern: RegExp, why: string): void;
  allowResponse(status: number, path: string | RegExp, why: string): void;
  /** Everything reported so far, allowed or not. */
  readonly reports: readonly ConsoleReport[];
}

/**
 * Warnings Chromium gives for a broken page setup rather than for the app's state: a policy
 * header it cannot read is as much a bug as an error.
 */
const WARNINGS_THAT_ARE_ERRORS = [/Permissions-Policy/i, /Content[- ]Security[- ]Policy/i];

/**
 * Answers that are part of a conversation the app has on purpose, not failures: the server's
 * 403 STEP_UP_REQUIRED asks for a touch, and withStepUp answers it. Chromium still logs their
 * "Failed to load resource" line; only these codes, on the very response, are let through.
 */
const PROTOCOL_ERROR_CODES = new Set(['STEP_UP_REQUIRED']);

function isError(message: ConsoleMessage): boolean {
  if (message.type() === 'error') return true;
  return message.type() === 'warning' && WARNINGS_THAT_ARE_ERRORS.some((pattern) => pattern.test(message.text()));
}

export const test = base.extend<{ argus: ArgusFixture; key: VirtualAuthenticator; consoleErrors: ConsoleErrors }>({
  consoleErrors: [
    async ({ context, browser }, use, testInfo) => {
      const reports: ConsoleReport[] = [];
      const allowed: { pattern: RegExp; why: string }[] = [];
      /** `${status} ${url}` of responses whose error code is in PROTOCOL_ERROR_CODES. */
      const protocolAnswers = new Set<string>();
      const reading: Promise<void>[] = [];
      const watch = (watched: BrowserContext) => {
        watched.on('response', (response) => {
          if (response.status() < 400 || !response.headers()['content-type']?.includes('json')) return;
          reading.push(
            response.json().then(
              (body: { error?: { code?: string } }) => {
                if (PROTOCOL_ERROR_CODES.has(body.error?.code ?? '')) protocolAnswers.add(`${response.status()} ${response.url()}`);
              },
              () => undefined,
            ),
          );
        });
        watched.on('console', (message) => {
          if (!isError(message)) return;
          reports.push({ kind: 'console', text: message.text(), url: message.location().url || (message.page()?.url() ?? '') });
        });
        watched.on('weberror', (webError) => {
          const error = webError.error();
          reports.push({ kind: 'pageerror', text: `${error.name}: ${error.message}`, url: webError.page()?.url() ?? '' });
        });
      };
      watch(context);
      // Contexts a test opens itself (another person's browser) are watched too.
      const newContext = browser.newContext.bind(browser);
      (browser as { newContext: Browser['newContext'] }).newContext = async (...args) => {
        const made = await newContext(...args);
        watch(made);
        return made;
      };
      const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      try {
        await use({
          allow: (pattern, why) => allowed.push({ pattern, why }),
          allowResponse: (status, path, why) => {
            const where = typeof path === 'string' ? escape(path) : path.source;
            allowed.push({ pattern: new RegExp(`status of ${status} [\\s\\S]*@ https?://[^/]+${where}`), why });
          },
          reports,
        });
      } finally {
        (browser as { newContext: Browser['newContext'] }).newContext = newContext;
      }
      await Promise.all(reading);
      const isProtocolAnswer = (report: ConsoleReport) => {
        const status = /status of (\d{3})/.exec(report.text)?.[1];
        return status !== undefined && protocolAnswers.has(`${status} ${report.url}`);
      };
      const unexpected = reports.filter(
        (report) => !isProtocolAnswer(report) && !allowed.some(({ pattern }) => pattern.test(`${report.text} @ ${report.url}`)),
      );
      if (unexpected.length > 0) {
        await testInfo.attach('console-errors.json', { body: JSON.stringify(reports, null, 2), contentType: 'application/json' });
      }
      expect(
        unexpected.map((report) => `${report.kind}: ${report.text} @ ${report.url}`),
        'console errors and page errors (allow expected ones with consoleErrors.allow)',
      ).toEqual([]);
    },
    { auto: true },
  ],
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
        // The session cookie only: the enrollment's end sets the known-device cookie too.
        cookie = response.headers.getSetCookie().find((header) => header.startsWith('argus.sid='))?.split(';')[0] ?? cookie;
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
