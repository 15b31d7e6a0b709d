import type { Locator, Page } from '@playwright/test';
import { test, expect, type TestAccount } from './fixtures.ts';
import { signInWith } from './pages/SignInPage.ts';
import { expireStepUp, watchStepUp, type StepUpWatch } from './stepUp.ts';
import { offerAnyCredential, VirtualAuthenticator } from './virtualAuthenticator.ts';

const region = (page: Page, name: string) => page.getByRole('region', { name });
const feed = (page: Page) => page.getByRole('list', { name: 'Security events, newest first' });

/**
 * Presses a row's action and confirms it in the dialog, with the step-up made stale first so
 * the change waits for a touch. The watch sees the calls to `changePath` and the step-up.
 */
async function confirmWithStaleStepUp(page: Page, row: Locator, action: string, changePath: RegExp) {
  await expireStepUp(page);
  const stepUp = await watchStepUp(page, changePath);
  await row.getByRole('button', { name: action }).click();
  await page.getByRole('dialog').getByRole('button', { name: action }).click();
  return stepUp;
}

/**
 * The change was refused for a stale step-up, the admin touched their key (the step-up dialog
 * came up exactly once), and it went through. The page may show the change's outcome (the row
 * gone) before the test has heard the last answer, so the calls are awaited, then must be
 * exactly these.
 */
async function expectSteppedUp(stepUp: StepUpWatch, change: string) {
  const steps = [`${change} 403`, 'POST /api/account/step-up/options 200', 'POST /api/account/step-up 200', `${change} 204`];
  await expect.poll(() => stepUp.calls()).toEqual(steps);
  expect(stepUp.calls()).toEqual(steps);
  expect(await stepUp.prompts()).toBe(1);
}

/** Bob unlocks with a key that holds only Alice's credential. */
async function touchWithAlicesKey(bobPage: Page, bobKey: VirtualAuthenticator, alice: TestAccount) {
  await offerAnyCredential(bobPage, '**/api/verify-key-ownership/options');
  await bobKey.clear();
  await bobKey.addCredential(alice.credential, 'localhost', alice.userId);
  await bobPage.getByRole('button', { name: 'Unlock restricted models' }).first().click();
}

test('an admin watches sessions, grants and security events live, revokes a grant and ends a session', async ({ page, browser, argus, key, consoleErrors }) => {
  consoleErrors.allowResponse(403, /\/api\/verify-key-ownership$/, 'bob unlocks with Alice’s key on purpose; the server refuses it (KEY_MISMATCH)');
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
      const row = region(page, 'Restricted access').getByRole('row').filter({ hasText: bob.username });
      const stepUp = await confirmWithStaleStepUp(page, row, 'Revoke', /^\/api\/admin\/grants\//);
      await expect(region(page, 'Restricted access').getByText('No restricted access is live')).toBeVisible();
      await expectSteppedUp(stepUp, 'DELETE /api/admin/grants/:id');
      await expect(bobPage.getByText(/ended by an administrator/).first()).toBeVisible();
    });

    await test.step("a key mismatch stands out in the feed", async () => {
      // Bob touches Alice's key (see presence.spec.ts): refused, audited at high severity.
      await touchWithAlicesKey(bobPage, bobKey, alice);
      await expect(bobPage.getByRole('alert').filter({ hasText: 'This key belongs to another account.' }).first()).toBeVisible();
      const mismatch = feed(page).getByRole('listitem').filter({ hasText: 'Key registered to another account was used' }).first();
      await expect(mismatch).toBeVisible();
      await expect(mismatch).toHaveAttribute('data-severity', 'high');
      await expect(mismatch).toHaveClass(/highlight/);
      await expect(feed(page).getByRole('listitem').filter({ hasText: 'Signed in' }).first()).not.toHaveClass(/highlight/);
    });

    await test.step("ending bob's session asks for a touch, then signs bob's browser out", async () => {
      const row = region(page, 'Sessions').getByRole('row').filter({ hasText: bob.username });
      const stepUp = await confirmWithStaleStepUp(page, row, 'End session', /^\/api\/admin\/sessions\//);
      await expect(row).toHaveCount(0);
      await expectSteppedUp(stepUp, 'DELETE /api/admin/sessions/:id');
      // The WebSocket told bob's tab: it is back at sign-in without doing anything.
      await expect(bobPage).toHaveURL(/\/signin/);
      expect(await (await bobPage.request.get('/api/session')).json()).toEqual({ signedIn: false });
    });
  } finally {
    await bobContext.close();
  }
});
