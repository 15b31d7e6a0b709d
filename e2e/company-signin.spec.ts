import { randomBytes } from 'node:crypto';
import { loadConfig } from '../server/config.ts';
import { createAdminClient } from '../server/db/pool.ts';
import { createLogger } from '../server/log.ts';
import { startArgus, type Running } from '../server/runtime.ts';
import { ADMIN_DATABASE_URL, TEST_REDIS_URL, clearRedisPrefix, databaseUrl, freePort } from '../server/test/env.ts';
import { startTestProvider, type TestProvider } from '../server/test/oidcProvider.ts';
import { expectAccessible } from './a11y.ts';
import { expect, test } from './fixtures.ts';
import { AdminApprovalsTab } from './pages/AdminApprovalsTab.ts';
import { SignInPage } from './pages/SignInPage.ts';
import { shotPath } from './screenshots.ts';

/**
 * Company sign-in (OIDC, issue #20) in a real browser: the sign-in page's provider button,
 * the provider's own login page (panva's oidc-provider), then the security key in Chromium's
 * virtual authenticator. This spec runs its own Argus node, configured for the provider.
 */
let provider: TestProvider;
let running: Running;
let origin: string;
let cleanup: () => Promise<void>;

test.beforeAll(async () => {
  const port = await freePort();
  origin = `http://localhost:${port}`;
  provider = await startTestProvider({
    redirectUri: `${origin}/api/auth/oidc/callback`,
    users: { 'sub-olivia': { preferred_username: 'olivia', name: 'Olivia Okafor', groups: ['argus-admins'] } },
  });
  const name = `argus_e2e_oidc_${randomBytes(5).toString('hex')}`;
  const admin = createAdminClient(ADMIN_DATABASE_URL);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const redisPrefix = `argus-e2e-oidc:${randomBytes(6).toString('hex')}:`;
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: String(port),
    ARGUS_ORIGIN: origin,
    DATABASE_URL: databaseUrl(name),
    DATABASE_OWNER_URL: databaseUrl(name),
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: redisPrefix,
    SESSION_SECRET: randomBytes(32).toString('base64url'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...provider.env({ OIDC_DISPLAY_NAME: 'Acme SSO', OIDC_PROVISIONING: 'jit', OIDC_FIRST_KEY: 'self', OIDC_ADMIN_GROUPS: 'argus-admins' }),
  });
  running = await startArgus(config, createLogger(config.logLevel));
  cleanup = async () => {
    await running.close();
    await provider.close();
    await clearRedisPrefix(redisPrefix);
    const drop = createAdminClient(ADMIN_DATABASE_URL);
    await drop.connect();
    await drop.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await drop.end();
  };
});
test.afterAll(async () => cleanup?.());

test('company sign-in goes through the provider, then always the security key', async ({ page, key, browser, consoleErrors }) => {
  test.setTimeout(60_000);
  // The provider's development login page asks for a web font and a favicon: never fetched here.
  await page.route(/^https:\/\/fonts\.(googleapis|gstatic)\.com\//, (route) => route.abort());
  consoleErrors.allow(/Failed to load resource[\s\S]*@ https:\/\/fonts\.googleapis\.com\//, "the test provider's login page asks for a web font (blocked)");
  consoleErrors.allowResponse(404, '/favicon.ico', "the test provider's login page has no favicon");
  const signIn = new SignInPage(page);
  const button = page.getByRole('link', { name: 'Sign in with Acme SSO' });

  await test.step('the sign-in page offers the provider above the password form', async () => {
    await page.goto(`${origin}/signin`);
    await expect(button).toBeVisible();
    await expect(signIn.password).toBeVisible();
    const buttonBox = (await button.boundingBox())!;
    const passwordBox = (await signIn.password.boundingBox())!;
    expect(buttonBox.y + buttonBox.height).toBeLessThan(passwordBox.y);
  });

  await test.step('the provider signs her in; she registers her first key, and only then is she signed in', async () => {
    await button.click();
    // The provider's own (development) login page.
    await expect(page).toHaveURL(new RegExp(`^${provider.issuer}/interaction/`));
    await page.locator('input[name="login"]').fill('sub-olivia');
    await page.locator('input[name="password"]').fill('anything');
    await page.locator('button[type="submit"]').click();
    await expect(page.getByRole('heading', { name: 'Register your security key' })).toBeVisible();
    expect(await (await page.request.get(`${origin}/api/session`)).json()).toEqual({ signedIn: false });
    await page.getByLabel('Key nickname').fill('Olivia key');
    await page.getByRole('button', { name: 'Register security key' }).click();
    await expect(page).toHaveURL(`${origin}/`);
    await expect(page.getByText('Olivia Okafor').first()).toBeVisible();
    expect(await key.credentialCount()).toBe(1);
  });

  await test.step('next time the provider remembers her, and the key step still comes', async () => {
    await page.request.post(`${origin}/api/auth/signout`, { headers: { origin, 'content-type': 'application/json' }, data: {} });
    await page.goto(`${origin}/signin`);
    await button.click();
    // Her provider session answers at once: straight back to Argus, to the key step.
    await expect(page.getByRole('heading', { name: 'Touch your security key' })).toBeVisible();
    await expect(page.getByText('Signing in as')).toContainText('olivia');
    expect(await (await page.request.get(`${origin}/api/session`)).json()).toEqual({ signedIn: false });
    expect(await signIn.touchKey()).toBe(200);
    await expect(page).toHaveURL(`${origin}/`);
  });

  await test.step('the admin users list says she signs in with her company account', async () => {
    await page.goto(`${origin}/admin/users`);
    const row = page.getByRole('row', { name: /olivia/ });
    await expect(row.getByText('Company account')).toBeVisible();
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 800 });
      await page.reload();
      await expect(page.getByText('Company account').first()).toBeVisible();
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
      await page.screenshot({ path: shotPath(`admin-users-${width}.png`), fullPage: true });
    }
  });

  await test.step('a second sign-in in the admin group waits for her approval, said to be asked by their company sign-in; without the group, it is withdrawn', async () => {
    // Olivia is an admin with a key now: the two-person rule holds Paul's promotion (threat model G20).
    provider.users.set('sub-paul', { preferred_username: 'paul', name: 'Paul Park', groups: ['argus-admins'] });
    const pauls = await browser.newContext();
    await pauls.route(/^https:\/\/fonts\.(googleapis|gstatic)\.com\//, (route) => route.abort());
    const paul = await pauls.newPage();
    const signInAsPaul = async ({ providerAsks }: { providerAsks: boolean }) => {
      await paul.goto(`${origin}/signin`);
      await paul.getByRole('link', { name: 'Sign in with Acme SSO' }).click();
      // The provider asks once; then it remembers him.
      if (providerAsks) {
        await paul.locator('input[name="login"]').fill('sub-paul');
        await paul.locator('input[name="password"]').fill('anything');
        await paul.locator('button[type="submit"]').click();
      }
      await expect(paul.getByRole('heading', { name: 'Register your security key' })).toBeVisible();
    };
    try {
      await signInAsPaul({ providerAsks: true });
      const approvals = new AdminApprovalsTab(page);
      const row = approvals.changeRow('Make @paul an admin');
      await page.goto(`${origin}/admin/approvals`);
      await expect(row).toContainText('Asked by their company sign-in: their groups at the provider (argus-admins) include an admin group.');
      await expect(row.getByRole('button', { name: 'Approve' })).toBeVisible();
      for (const width of [390, 1280]) {
        await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
        await expect(row.getByRole('button', { name: 'Approve' })).toBeVisible();
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
        await page.screenshot({ path: shotPath(`approvals-company-sign-in-${width}.png`), fullPage: true });
      }

      provider.users.set('sub-paul', { preferred_username: 'paul', name: 'Paul Park', groups: ['staff'] });
      await signInAsPaul({ providerAsks: false });
      // The list follows the live feed: the withdrawal takes the row away without a reload.
      await expect(row).toHaveCount(0);
      await expect(approvals.list).toContainText('Nothing waits for approval');
    } finally {
      await pauls.close();
    }
  });
});

test('a refused company sign-in comes back to the sign-in page as a clear message', async ({ page }) => {
  await page.goto(`${origin}/signin?oidc_error=OIDC_NO_ACCOUNT`);
  await expect(page.getByRole('alert')).toContainText('No Argus account is linked to your company account');
  // The code is read once: the address no longer carries it.
  await expect(page).toHaveURL(`${origin}/signin`);
});

test('screenshots of the sign-in page with the provider button', async ({ page }) => {
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 800 });
    await page.goto(`${origin}/signin`);
    const button = page.getByRole('link', { name: 'Sign in with Acme SSO' });
    await expect(button).toBeVisible();
    // Nothing spills sideways on a phone.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
    await page.screenshot({ path: shotPath(`signin-company-${width}.png`), fullPage: true });
  }
  await expectAccessible(page, 'the sign-in page with company sign-in');
});
