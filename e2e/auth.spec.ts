import { test, expect } from './fixtures.ts';
import { AppShell } from './pages/AppShell.ts';
import { SignInPage } from './pages/SignInPage.ts';
import { offerAnyCredential } from './virtualAuthenticator.ts';

test('an enrollment link takes a new admin through a password and a security key to signed in', async ({ page, argus, key, consoleErrors }) => {
  consoleErrors.allowResponse(400, /\/api\/enrollment\/[A-Za-z0-9_-]{43}\/password$/, 'a weak password on purpose (WEAK_PASSWORD)');
  consoleErrors.allowResponse(404, /\/api\/enrollment\/[A-Za-z0-9_-]{43}$/, 'the used link opened again on purpose (ENROLLMENT_INVALID)');
  const invited = await argus.invite('admin');

  await test.step('the link shows who it is for and both steps', async () => {
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

  await test.step('a good password leads to the key step, not yet signed in', async () => {
    await page.getByLabel('Password', { exact: true }).fill('violet tugboat arithmetic');
    await page.getByLabel('Confirm password').fill('violet tugboat arithmetic');
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect(page.getByRole('heading', { name: 'Register your security key' })).toBeVisible();
    expect(await (await page.request.get('/api/session')).json()).toEqual({ signedIn: false });
  });

  await test.step('registering the key signs them in', async () => {
    await page.getByLabel('Key nickname').fill('Blue key');
    await page.getByRole('button', { name: 'Register security key' }).click();
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByText(invited.displayName).first()).toBeVisible();
    await expect(new AppShell(page).link('Admin console')).toBeVisible();
    expect(await key.credentialCount()).toBe(1);
  });

  await test.step('the link cannot be used again', async () => {
    await page.goto(invited.enrollmentUrl);
    await expect(page.getByText(/invalid, expired or already used/)).toBeVisible();
  });
});

test('sign in with password and key, see who you are, sign out', async ({ page, argus, key, consoleErrors }) => {
  consoleErrors.allowResponse(401, '/api/auth/signin', 'a wrong password on purpose');
  const account = await argus.account('user');
  await key.addCredential(account.credential, 'localhost');
  const signIn = new SignInPage(page);
  const shell = new AppShell(page);

  await test.step('a wrong password is refused without saying which part was wrong', async () => {
    await signIn.goto();
    expect(await signIn.enterPassword(account.username, 'not the right password')).toBe(401);
    await expect(signIn.alert).toContainText('Username or password is incorrect');
  });

  await test.step('the right password asks for the key; the key signs in', async () => {
    expect(await signIn.enterPassword(account.username, account.password)).toBe(200);
    expect(await signIn.touchKey()).toBe(200);
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByText(account.displayName).first()).toBeVisible();
    await expect(page.getByText(`@${account.username}`).first()).toBeVisible();
  });

  await test.step('sign out ends the session and protected pages send you to sign in', async () => {
    await shell.signOut();
    await expect(page).toHaveURL(/\/signin/);
    await page.goto('/');
    await expect(page).toHaveURL(/\/signin\?next=/);
    expect(await (await page.request.get('/api/session')).json()).toEqual({ signedIn: false });
  });
});

test('after sign-in, the page that was asked for opens', async ({ page, argus, key }) => {
  const account = await argus.account('auditor');
  await key.addCredential(account.credential, 'localhost');
  await page.goto('/audit');
  await expect(page).toHaveURL(/\/signin\?next=%2Faudit/);
  expect(await new SignInPage(page).signIn(account.username, account.password)).toBe(200);
  await expect(page).toHaveURL(/\/audit$/);
  await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
});

test("touching another user's key says so and signs nobody in", async ({ page, argus, key, consoleErrors }) => {
  consoleErrors.allowResponse(403, /\/api\/auth\/key$/, 'the server refuses another user’s key on purpose (KEY_MISMATCH)');
  const bob = await argus.account('user');
  const alice = await argus.account('user');
  // Bob's browser holds Alice's key, as a discoverable credential that names her account.
  await key.addCredential(alice.credential, 'localhost', alice.userId);
  // A key that names its own account answers even when the page asks for Bob's keys only
  // (as a discoverable-credential prompt would): the server must refuse it by owner.
  await offerAnyCredential(page, '**/api/auth/key/options');
  const signIn = new SignInPage(page);
  await signIn.goto();
  expect(await signIn.enterPassword(bob.username, bob.password)).toBe(200);
  expect(await signIn.touchKey()).toBe(403);
  await expect(page.getByRole('alert')).toContainText('This key belongs to another account.');
  expect(await (await page.request.get('/api/session')).json()).toEqual({ signedIn: false });
});

test('with password sign-in turned off the form is hidden; a break-glass admin opens it with ?method=password', async ({ page, argus, key }) => {
  // This server has passwords on; the page is told otherwise, as under PASSWORD_SIGNIN=false
  // (what the server then refuses is server/auth/passwordSignInOff.test.ts's part).
  await page.route('**/api/auth/methods', (route) => route.fulfill({ json: { password: false, company: null } }));
  const signIn = new SignInPage(page);

  await test.step('no password form, and the page says why', async () => {
    await signIn.goto();
    await expect(page.getByText('Password sign-in is turned off on this server.')).toBeVisible();
    await expect(signIn.password).toHaveCount(0);
    await expect(signIn.submit).toHaveCount(0);
  });

  await test.step('?method=password shows the form, and the key is still asked for', async () => {
    const admin = await argus.account('admin');
    await key.addCredential(admin.credential, 'localhost');
    await page.goto('/signin?method=password');
    await expect(signIn.password).toBeVisible();
    await expect(page.getByText('Password sign-in is turned off on this server.')).toHaveCount(0);
    expect(await signIn.signIn(admin.username, admin.password)).toBe(200);
    await expect(page).toHaveURL(/\/$/);
  });
});
