import { randomBytes } from 'node:crypto';
import type { Page } from '@playwright/test';
import { test, expect } from './fixtures.ts';
import { AccountPage } from './pages/AccountPage.ts';
import { AppShell } from './pages/AppShell.ts';
import { signInWith } from './pages/SignInPage.ts';
import { StepUpDialog } from './pages/StepUpDialog.ts';
import { expireStepUp } from './stepUp.ts';

/**
 * The key is in the port but nobody touches it: navigator.credentials.get waits until its
 * signal aborts, as the browser's own prompt does. Resolves to the function that plugs the
 * virtual key back in.
 */
async function keyNotTouched(page: Page): Promise<() => Promise<void>> {
  await page.evaluate(() => {
    const credentials = navigator.credentials;
    const get = credentials.get.bind(credentials);
    (window as unknown as { restoreKeyTouch: () => void }).restoreKeyTouch = () => (credentials.get = get);
    credentials.get = (options) =>
      new Promise((_resolve, reject) => {
        const signal = options?.signal;
        signal?.addEventListener('abort', () => reject(signal.reason));
      });
  });
  return () => page.evaluate(() => (window as unknown as { restoreKeyTouch: () => void }).restoreKeyTouch());
}

test('step-up: the dialog says why, and Cancel leaves the form as it was', async ({ page, argus, key }) => {
  const user = await argus.account('user');
  await signInWith(page, key, user, '/account');
  const account = new AccountPage(page);
  const stepUp = new StepUpDialog(page);
  await expect(account.heading).toBeVisible();
  const nickname = `Spare ${randomBytes(2).toString('hex')}`;

  await test.step('an untouched key: the dialog asks and explains, Cancel closes it', async () => {
    await expireStepUp(page);
    const plugBack = await keyNotTouched(page);
    await account.keyNickname.fill(nickname);
    await account.addKeyButton.click();
    await stepUp.expectOpen();
    await expect(stepUp.dialog).toContainText('Your last confirmation was too long ago for this change.');
    await expect(stepUp.cancelButton).toBeFocused();
    await stepUp.cancel();
    await plugBack();
  });

  await test.step('the form is as it was: the nickname kept, no error, the button ready', async () => {
    await expect(account.keyNickname).toHaveValue(nickname);
    await expect(page.getByRole('region', { name: 'Add a security key' }).getByRole('alert')).toHaveCount(0);
    await expect(account.addKeyButton).not.toHaveAttribute('aria-disabled', 'true');
    await expect(account.addKeyButton).toBeFocused();
  });

  await test.step('the next try is not stuck: the touch confirms, then the new key is asked for', async () => {
    const steppedUp = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/account/step-up');
    const newKeyAsked = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/account/keys/options');
    await account.addKeyButton.click();
    expect((await steppedUp).status()).toBe(200);
    expect((await newKeyAsked).status()).toBe(200);
    // Only the registered key is in the port: the browser refuses to register it twice.
    await expect(page.getByRole('region', { name: 'Add a security key' }).getByRole('alert')).toContainText('already registered');
  });
});

test('sign-out: nothing more is asked for signed-in data', async ({ page, argus, key }) => {
  const user = await argus.account('user');
  await signInWith(page, key, user, '/account');
  const account = new AccountPage(page);
  const shell = new AppShell(page);
  await expect(account.heading).toBeVisible();
  await expect(shell.connection).toHaveText('Connected');
  const asked: string[] = [];
  let signedOut = false;
  // What anyone may ask: who am I (the answer is "no one"), and how this server signs people in.
  const PUBLIC = new Set(['/api/session', '/api/auth/methods']);
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (path === '/api/auth/signout') signedOut = true;
    else if (signedOut && path.startsWith('/api/') && !PUBLIC.has(path)) asked.push(`${request.method()} ${path}`);
  });
  await shell.signOutAnywhere();
  await page.waitForURL((url) => url.pathname === '/signin');
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  // Long enough for a socket's close, a late event and its refetches.
  await page.waitForTimeout(1_500);
  expect(asked).toEqual([]);
});

test.describe('the top bar on a phone', () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test('folds the navigation into a menu, fits the width, and its height is --topbar-height', async ({ page, argus, key }) => {
    const admin = await argus.account('admin');
    await signInWith(page, key, admin, '/account');
    const shell = new AppShell(page);
    await expect(page.getByRole('heading', { name: 'Account', level: 1 })).toBeVisible();

    await test.step('one line: brand, connection and Menu', async () => {
      await expect(shell.menuToggle).toBeVisible();
      await expect(shell.mainNav).toBeHidden();
      const heights = await page.evaluate(() => {
        const probe = document.createElement('div');
        probe.style.height = 'var(--topbar-height)';
        document.body.append(probe);
        const custom = probe.getBoundingClientRect().height;
        probe.remove();
        return { custom, bar: document.querySelector('header.topbar')!.getBoundingClientRect().height };
      });
      expect(heights.custom).toBeGreaterThan(30);
      expect(heights.bar).toBeCloseTo(heights.custom, 0);
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    });

    await test.step('the menu opens, Escape closes it, a link closes it', async () => {
      await shell.openMenu();
      await expect(shell.menuToggle).toHaveAttribute('aria-expanded', 'true');
      await expect(shell.link('Admin console')).toBeVisible();
      await expect(shell.signOutButton).toBeVisible();
      await shell.link('Home').focus();
      await page.keyboard.press('Escape');
      await expect(shell.mainNav).toBeHidden();
      await expect(shell.menuToggle).toBeFocused();
      await shell.openMenu();
      await shell.mainNav.getByRole('link', { name: 'Audit log' }).click();
      await expect(page.getByRole('heading', { name: 'Audit log', level: 1 })).toBeVisible();
      await expect(shell.mainNav).toBeHidden();
    });
  });
});
