import type { Page } from '@playwright/test';
import { installFakeHid } from './fakeHid.ts';
import { test, expect, type TestAccount } from './fixtures.ts';
import { ChatPage } from './pages/ChatPage.ts';
import { signInWith } from './pages/SignInPage.ts';
import { offerAnyCredential, type VirtualAuthenticator } from './virtualAuthenticator.ts';

async function signInToChat(page: Page, key: VirtualAuthenticator, account: TestAccount): Promise<void> {
  await signInWith(page, key, account, '/chat');
  await expect(page.getByRole('heading', { name: 'Chat', level: 1 })).toBeVisible();
}

async function unlock(page: Page, button = 'Unlock restricted models'): Promise<void> {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/verify-key-ownership') && r.request().method() === 'POST'),
    page.getByRole('button', { name: button, exact: true }).first().click(),
  ]);
  expect(response.status()).toBe(200);
}

/** The grant is gone: no countdown on screen, and none on the server. */
async function expectLocked(page: Page): Promise<void> {
  await expect(page.getByTestId('grant-countdown')).toHaveCount(0);
  expect(await page.request.get('/api/grants/current').then((r) => r.json())).toEqual({ grant: null });
}

test('without WebHID access the chip says so; unlocking shows a countdown, renewing and locking work', async ({ page, argus, key }) => {
  // The page's clock is ours to move, so the warning before expiry can be reached at once.
  await page.clock.install();
  const account = await argus.account('user');
  await signInToChat(page, key, account);

  await test.step('assertion-only mode is a chip, explained one click away', async () => {
    const chat = new ChatPage(page);
    await expect(chat.presenceChip).toContainText('Key: assertion only — renews by touch');
    await chat.presenceChip.click();
    const details = page.getByRole('dialog', { name: 'Key presence' });
    await expect(details).toContainText('Assertion only');
    await expect(details).toContainText(/hide FIDO security keys/i);
    await page.keyboard.press('Escape');
    await expect(details).toHaveCount(0);
  });

  await test.step('touching the key unlocks the restricted model with a countdown', async () => {
    await unlock(page);
    await expect(page.getByTestId('grant-countdown')).toContainText(/4:5\d|5:00/);
  });

  await test.step('shortly before expiry a warning in the conversation offers to renew, and one touch replaces the grant', async () => {
    const before = await page.request.get('/api/grants/current').then((r) => r.json() as Promise<{ grant: { id: string } }>);
    await expect(page.getByRole('button', { name: 'Renew', exact: true })).toHaveCount(0);
    await page.clock.fastForward('04:35');
    await expect(page.locator('.chat-bottom').getByText(/Access to restricted models ends in/)).toBeVisible();
    await unlock(page, 'Renew');
    const after = await page.request.get('/api/grants/current').then((r) => r.json() as Promise<{ grant: { id: string } }>);
    expect(after.grant.id).not.toBe(before.grant.id);
  });

  await test.step('locking (from the countdown chip) ends the grant on the server', async () => {
    await page.getByTestId('grant-countdown').click();
    await page.getByRole('button', { name: 'Lock now' }).click();
    await expectLocked(page);
  });
});

test('with the key visible over WebHID, unplugging it locks the restricted models within a second', async ({ page, argus, key }) => {
  const hid = await installFakeHid(page);
  const account = await argus.account('user');
  await signInToChat(page, key, account);
  await expect(page.getByTestId('presence-mode')).toContainText('Key: watched by this browser');
  await unlock(page);
  await expect(page.getByTestId('grant-countdown')).toBeVisible();

  const revoked = page.waitForResponse((r) => r.url().endsWith('/api/grants/current') && r.request().method() === 'DELETE');
  const unpluggedAt = await hid.unplug();
  // Said in the conversation, above the message box.
  await expect(page.locator('.chat-bottom').getByRole('alert').filter({ hasText: 'Your security key was removed' })).toBeVisible({ timeout: 1_000 });
  const lockedAt = await page.evaluate(() => performance.now());
  expect(lockedAt - unpluggedAt).toBeLessThan(1_000);
  expect((await revoked).status()).toBe(204);
  await expectLocked(page);
});

test('unplugging during a restricted answer cuts the stream; what was written is kept, and read again after the next touch', async ({ page, argus, key }) => {
  const hid = await installFakeHid(page);
  const account = await argus.account('user');
  await signInToChat(page, key, account);
  await unlock(page);
  await new ChatPage(page).pickModel(/Demo Restricted/);
  await page.getByLabel('Message').fill('Tell me a long story');
  await page.getByRole('button', { name: 'Send' }).click();
  const log = page.getByRole('log', { name: 'Conversation' });
  await expect(log).toContainText('demo model');
  await hid.unplug();
  // Issue #21: a restricted conversation leaves the page the moment its grant ends.
  await expect(log.locator('.message')).toHaveCount(0, { timeout: 2_000 });
  await expect(log).toContainText('Restricted conversation — locked');
  await hid.plug();
  await unlock(page, 'Touch your key to read');
  await expect(log).toContainText(/Cut off/i);
  await expect(log).toContainText('demo model');
});

test("touching another user's key to unlock says so and unlocks nothing", async ({ page, argus, key, consoleErrors }) => {
  consoleErrors.allowResponse(403, '/api/verify-key-ownership', 'the server refuses another user’s key (KEY_MISMATCH)');
  const bob = await argus.account('user');
  const alice = await argus.account('user');
  await signInToChat(page, key, bob);
  await key.addCredential(alice.credential, 'localhost', alice.userId);
  await offerAnyCredential(page, '**/api/verify-key-ownership/options');
  // Bob's own key is out; only Alice's (discoverable) credential answers.
  await key.clear();
  await key.addCredential(alice.credential, 'localhost', alice.userId);
  await page.getByRole('button', { name: 'Unlock restricted models' }).first().click();
  await expect(page.getByRole('alert').filter({ hasText: 'This key belongs to another account.' }).first()).toBeVisible();
  expect(await page.request.get('/api/grants/current').then((r) => r.json())).toEqual({ grant: null });
});
