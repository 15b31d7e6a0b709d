import { test, expect } from './fixtures.ts';
import { AppShell } from './pages/AppShell.ts';
import { SignInPage } from './pages/SignInPage.ts';

test('an enrollment link lets a new admin choose a password and lands them signed in', async ({ page, argus }) => {
  const invited = await argus.invite('admin');

  await test.step('the link shows who it is for', async () => {
    await page.goto(invited.enrollmentUrl);
    await expect(page.getByRole('heading', { name: 'Set up your account' })).toBeVisible();
    await expect(page.getByText(invited.username).first()).toBeVisible();
  });

  await test.step('a weak password is refused with the reason', async () => {
    await page.getByLabel('Password', { exact: true }).fill('password1234');
    await page.getByLabel('Confirm password').fill('password1234');
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect(page.getByRole('alert')).toContainText(/common/i);
  });

  await test.step('a good password signs them in', async () => {
    await page.getByLabel('Password', { exact: true }).fill('violet tugboat arithmetic');
    await page.getByLabel('Confirm password').fill('violet tugboat arithmetic');
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByText(invited.displayName).first()).toBeVisible();
    await expect(new AppShell(page).link('Admin console')).toBeVisible();
  });

  await test.step('the link cannot be used again', async () => {
    await page.goto(invited.enrollmentUrl);
    await expect(page.getByText(/invalid, expired or already used/)).toBeVisible();
  });
});

test('sign in, see who you are, sign out', async ({ page, argus }) => {
  const account = await argus.account('user');
  const signIn = new SignInPage(page);
  const shell = new AppShell(page);

  await test.step('a wrong password is refused without saying which part was wrong', async () => {
    await signIn.goto();
    expect(await signIn.signIn(account.username, 'not the right password')).toBe(401);
    await expect(signIn.alert).toContainText('Username or password is incorrect');
  });

  await test.step('the right password signs in', async () => {
    expect(await signIn.signIn(account.username, account.password)).toBe(200);
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByText(account.displayName).first()).toBeVisible();
    await expect(page.getByText(`@${account.username}`).first()).toBeVisible();
  });

  await test.step('sign out ends the session and protected pages send you to sign in', async () => {
    await shell.signOut();
    await expect(page).toHaveURL(/\/signin/);
    await page.goto('/');
    await expect(page).toHaveURL(/\/signin\?next=/);
    const session = await page.request.get('/api/session');
    expect(await session.json()).toEqual({ signedIn: false });
  });
});

test('after sign-in, the page that was asked for opens', async ({ page, argus }) => {
  const account = await argus.account('auditor');
  await page.goto('/audit');
  await expect(page).toHaveURL(/\/signin\?next=%2Faudit/);
  expect(await new SignInPage(page).signIn(account.username, account.password)).toBe(200);
  await expect(page).toHaveURL(/\/audit$/);
  await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
});
