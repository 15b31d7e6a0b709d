import type { Page } from '@playwright/test';
import { test, expect } from './fixtures.ts';
import { signInWith } from './pages/SignInPage.ts';
import { expireStepUp, watchStepUp } from './stepUp.ts';
import { VirtualAuthenticator } from './virtualAuthenticator.ts';

const region = (page: Page, name: string) => page.getByRole('region', { name });
const feed = (page: Page) => page.getByRole('list', { name: 'Security events, newest first' });

test('an admin watches sessions, grants and security events live, revokes a grant and ends a session', async ({ page, browser, argus, key }) => {
  const admin = await argus.account('admin');
  const bob = await argus.account('user');
  const alice = await argus.account('user');
  await signInWith(page, key, admin, '/admin');
  await page.getByRole('navigation', { name: 'Admin console' }).getByRole('link', { name: 'Live' }).click();
  await expect(page.getByRole('heading', { name: 'Security events', level: 2 })).toBeVisible();
  await expect(page.getByTestId('connection-state')).toHaveText('Connected');

  const bobContext = await browser.newContext({ baseURL: argus.url });
  const bobPage = await bobContext.newPage();
  const bobKey = await VirtualAuthenticator.attach(bobPage);
  try {
    await test.step("bob's sign-in shows in the feed and in the sessions list", async () => {
      await signInWith(bobPage, bobKey, bob, '/chat');
      await expect(feed(page).getByRole('listitem').filter({ hasText: 'Signed in' }).filter({ hasText: bob.username }).first()).toBeVisible();
      const row = region(page, 'Sessions').getByRole('row').filter({ hasText: bob.username });
      await expect(row).toHaveCount(1);
      await expect(row).toContainText('Password + security key');
      await expect(row).toContainText('Key: Test key');
    });

    await test.step("bob's unlock shows as a live grant counting down", async () => {
      await Promise.all([
        bobPage.waitForResponse((r) => r.url().endsWith('/api/verify-key-ownership') && r.status() === 200),
        bobPage.getByRole('button', { name: 'Unlock restricted models' }).first().click(),
      ]);
      const row = region(page, 'Restricted access').getByRole('row').filter({ hasText: bob.username });
      await expect(row).toContainText('demo-restricted');
      await expect(row).toContainText('Touch only: runs out');
      const countdown = row.getByRole('timer');
      await expect(countdown).toHaveText(/^\d+:\d\d$/);
      const first = await countdown.textContent();
      await expect.poll(() => countdown.textContent(), { timeout: 4_000 }).not.toBe(first);
    });

    await test.step('revoking the grant asks for a touch first; bob is told at once', async () => {
      await expireStepUp(page);
      const stepUp = await watchStepUp(page, /^\/api\/admin\/grants\//);
      const row = region(page, 'Restricted access').getByRole('row').filter({ hasText: bob.username });
      await row.getByRole('button', { name: 'Revoke' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
      await expect(region(page, 'Restricted access').getByText('No restricted access is live')).toBeVisible();
      expect(stepUp.calls()).toEqual([
        'DELETE /api/admin/grants/:id 403',
        'POST /api/account/step-up/options 200',
        'POST /api/account/step-up 200',
        'DELETE /api/admin/grants/:id 204',
      ]);
      expect(await stepUp.promptSeen()).toBe(true);
      await expect(bobPage.getByText(/ended by an administrator/).first()).toBeVisible();
    });

    await test.step("a key mismatch stands out in the feed", async () => {
      // Bob touches Alice's key (see presence.spec.ts): refused, audited at high severity.
      await bobPage.route('**/api/verify-key-ownership/options', async (route) => {
        const response = await route.fetch();
        const body = (await response.json()) as { options: Record<string, unknown> };
        delete body.options.allowCredentials;
        await route.fulfill({ response, json: body });
      });
      await bobKey.clear();
      await bobKey.addCredential(alice.credential, 'localhost', alice.userId);
      await bobPage.getByRole('button', { name: 'Unlock restricted models' }).first().click();
      await expect(bobPage.getByRole('alert').filter({ hasText: 'This key belongs to another account.' }).first()).toBeVisible();
      const mismatch = feed(page).getByRole('listitem').filter({ hasText: 'Key registered to another account was used' }).first();
      await expect(mismatch).toBeVisible();
      await expect(mismatch).toHaveAttribute('data-severity', 'high');
      await expect(mismatch).toHaveClass(/highlight/);
      await expect(feed(page).getByRole('listitem').filter({ hasText: 'Signed in' }).first()).not.toHaveClass(/highlight/);
    });

    await test.step("ending bob's session asks for a touch, then signs bob's browser out", async () => {
      await expireStepUp(page);
      const stepUp = await watchStepUp(page, /^\/api\/admin\/sessions\//);
      const row = region(page, 'Sessions').getByRole('row').filter({ hasText: bob.username });
      await row.getByRole('button', { name: 'End session' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'End session' }).click();
      await expect(row).toHaveCount(0);
      expect(stepUp.calls()).toEqual([
        'DELETE /api/admin/sessions/:id 403',
        'POST /api/account/step-up/options 200',
        'POST /api/account/step-up 200',
        'DELETE /api/admin/sessions/:id 204',
      ]);
      expect(await stepUp.promptSeen()).toBe(true);
      // The WebSocket told bob's tab: it is back at sign-in without doing anything.
      await expect(bobPage).toHaveURL(/\/signin/);
      expect(await (await bobPage.request.get('/api/session')).json()).toEqual({ signedIn: false });
    });
  } finally {
    await bobContext.close();
  }
});
