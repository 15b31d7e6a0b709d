import { test, expect } from './fixtures.ts';
import { SignInPage } from './pages/SignInPage.ts';
import { expireStepUp, watchStepUp } from './stepUp.ts';
import { VirtualAuthenticator } from './virtualAuthenticator.ts';

test('on the account page a user adds, renames and removes security keys', async ({ page, argus, key, consoleErrors }) => {
  consoleErrors.allowResponse(409, /\/api\/account\/keys\/[0-9a-f-]+$/, 'removing the last active key is refused on purpose (LAST_KEY)');
  const account = await argus.account('user');
  await key.addCredential(account.credential, 'localhost');
  const signIn = new SignInPage(page);
  await signIn.goto();
  expect(await signIn.signIn(account.username, account.password)).toBe(200);
  await page.goto('/account');
  await expect(page.getByRole('heading', { name: 'Account', level: 1 })).toBeVisible();
  const keys = page.getByRole('region', { name: 'Security keys' }).or(page.locator('section').filter({ has: page.getByRole('heading', { name: 'Security keys' }) }));
  await expect(keys.getByRole('rowheader', { name: 'Test key' })).toBeVisible();

  await test.step('add a second key (a different physical key plugged in)', async () => {
    // The first key leaves, a new one arrives: the sign-in a moment ago still counts as the fresh touch.
    await key.remove();
    const second = await VirtualAuthenticator.attach(page);
    await page.getByLabel('Key nickname').fill('Spare key');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/account/keys') && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Add security key' }).click(),
    ]);
    expect(response.status()).toBe(201);
    expect(await second.credentialCount()).toBe(1);
    await expect(keys.getByRole('rowheader', { name: 'Spare key' })).toBeVisible();
    await expect(keys.getByRole('row')).toHaveCount(3); // header + two keys
  });

  await test.step('rename the first key', async () => {
    await keys.getByRole('row', { name: /Test key/ }).getByRole('button', { name: 'Rename' }).click();
    await page.getByLabel('New nickname for Test key').fill('Office key');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(keys.getByRole('rowheader', { name: 'Office key' })).toBeVisible();
  });

  await test.step('remove it', async () => {
    await keys.getByRole('row', { name: /Office key/ }).getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
    await expect(keys.getByRole('rowheader', { name: 'Office key' })).toHaveCount(0);
    await expect(keys.getByRole('row')).toHaveCount(2);
  });

  await test.step('the last key cannot be removed', async () => {
    await keys.getByRole('row').nth(1).getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'last active key' })).toBeVisible();
  });
});

test('a user sees their sessions and ends another one', async ({ page, browser, argus, key }) => {
  const account = await argus.account('user');
  await key.addCredential(account.credential, 'localhost');
  const signIn = new SignInPage(page);
  await signIn.goto();
  expect(await signIn.signIn(account.username, account.password)).toBe(200);

  const otherContext = await browser.newContext({ baseURL: argus.url });
  const other = await otherContext.newPage();
  const otherKey = await VirtualAuthenticator.attach(other);
  await otherKey.addCredential({ ...account.credential, signCount: account.credential.signCount + 10 }, 'localhost');
  const otherSignIn = new SignInPage(other);
  await otherSignIn.goto();
  expect(await otherSignIn.signIn(account.username, account.password)).toBe(200);

  await page.goto('/account');
  const sessions = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Sessions' }) });
  await expect(sessions.getByText('This session')).toBeVisible();
  // Ending another session needs a fresh touch of the key (a stolen session must not lock the owner out).
  await expireStepUp(page);
  // The other browser's copy of the key counted on; this copy catches up, as one physical key's
  // counter would (a lower counter than the server's last is a clone, and suspends the key).
  await key.clear();
  await key.addCredential({ ...account.credential, signCount: account.credential.signCount + 20 }, 'localhost');
  const stepUp = await watchStepUp(page, /^\/api\/account\/sessions\//);
  await Promise.all([
    page.waitForResponse((r) => r.url().includes('/api/account/sessions/') && r.request().method() === 'DELETE' && r.status() === 204),
    sessions.getByRole('button', { name: 'End session' }).click(),
  ]);
  await expect(sessions.getByRole('button', { name: 'End session' })).toHaveCount(0);
  expect(stepUp.calls()).toEqual([
    'DELETE /api/account/sessions/:id 403',
    'POST /api/account/step-up/options 200',
    'POST /api/account/step-up 200',
    'DELETE /api/account/sessions/:id 204',
  ]);
  expect(await stepUp.promptSeen()).toBe(true);
  expect(await (await other.request.get('/api/session')).json()).toEqual({ signedIn: false });
  await otherContext.close();
});
