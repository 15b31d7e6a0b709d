import { test, expect, type TestAccount } from './fixtures.ts';
import { VirtualAuthenticator } from './virtualAuthenticator.ts';
import { AppShell } from './pages/AppShell.ts';
import { SignInPage } from './pages/SignInPage.ts';

async function signInAs(page: import('@playwright/test').Page, key: VirtualAuthenticator, account: TestAccount) {
  await key.addCredential(account.credential, 'localhost');
  const signIn = new SignInPage(page);
  await signIn.goto();
  expect(await signIn.signIn(account.username, account.password)).toBe(200);
  await expect(page).toHaveURL(/\/$/);
}

test('a user sees neither the admin console nor the audit log, and the server refuses them too', async ({ page, argus, key }) => {
  const user = await argus.account('user');
  await signInAs(page, key, user);
  const shell = new AppShell(page);
  await expect(shell.link('Admin console')).toHaveCount(0);
  await expect(shell.link('Audit log')).toHaveCount(0);

  await page.goto('/admin');
  await expect(page.getByText('You do not have access to this page')).toBeVisible();
  const api = await page.request.get('/api/admin/users');
  expect(api.status()).toBe(403);
});

test('an auditor reads and verifies the audit log but has no admin console', async ({ page, argus, key }) => {
  const auditor = await argus.account('auditor');
  await signInAs(page, key, auditor);
  const shell = new AppShell(page);
  await expect(shell.link('Admin console')).toHaveCount(0);
  await shell.link('Audit log').click();
  await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
  // Our own sign-in is in the log.
  await expect(page.getByRole('cell', { name: 'Signed in', exact: true }).first()).toBeVisible();
  await page.getByRole('button', { name: 'Verify chain' }).click();
  await expect(page.getByTestId('chain-status')).toContainText(/Intact/i);
});

test('an admin creates a user whose one-time link works', async ({ page, browser, argus, key }) => {
  const admin = await argus.account('admin');
  await signInAs(page, key, admin);
  await new AppShell(page).link('Admin console').click();
  await expect(page.getByRole('heading', { name: 'Admin console' })).toBeVisible();

  const username = `made-${Date.now().toString(36)}`;
  await test.step('create the user and see the link once', async () => {
    const form = page.getByRole('form', { name: 'Create user' });
    await form.getByLabel('Username').fill(username);
    await form.getByLabel('Display name').fill('Made By Admin');
    await form.getByLabel('Role').selectOption('user');
    await form.getByRole('button', { name: 'Create user' }).click();
    await expect(page.getByTestId('enrollment-link')).toContainText('/enroll/');
  });
  const link = (await page.getByTestId('enrollment-link').textContent())!.trim();

  await test.step('the new person opens the link in their own browser', async () => {
    const context = await browser.newContext({ baseURL: argus.url });
    const theirs = await context.newPage();
    await VirtualAuthenticator.attach(theirs);
    await theirs.goto(link);
    await expect(theirs.getByRole('heading', { name: 'Set up your account' })).toBeVisible();
    await theirs.getByLabel('Password', { exact: true }).fill('seven copper kettles');
    await theirs.getByLabel('Confirm password').fill('seven copper kettles');
    await theirs.getByRole('button', { name: 'Set password' }).click();
    await theirs.getByRole('button', { name: 'Register security key' }).click();
    await expect(theirs.getByText('Made By Admin').first()).toBeVisible();
    await context.close();
  });

  await test.step('the user appears in the list', async () => {
    await page.getByLabel('Search').fill(username);
    await expect(page.getByRole('rowheader', { name: username })).toBeVisible();
  });
});
