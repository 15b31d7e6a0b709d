import type { Page } from '@playwright/test';
import { expectAccessible } from './a11y.ts';
import { installFakeHid } from './fakeHid.ts';
import { test, expect, type ConsoleErrors, type TestAccount } from './fixtures.ts';
import { ChatPage } from './pages/ChatPage.ts';
import { LOCKED_LABEL, RestrictedConversation } from './pages/RestrictedConversation.ts';
import { signInWith } from './pages/SignInPage.ts';
import { shotPath } from './screenshots.ts';
import type { VirtualAuthenticator } from './virtualAuthenticator.ts';

/**
 * Issue #21 in the browser: what a restricted model said is on the page only while a live
 * grant covers it. Without one the sidebar lists "Restricted conversation — locked" and the
 * conversation shows a locked view; one touch reads it; when the grant ends (revoked by the
 * server, or the key pulled out) the messages leave the page at once.
 */

/** Words only this conversation holds: its question, its title, and (echoed) its answer. */
const SECRET = 'Operation Bluebird';
/** What only a demo answer says. */
const ANSWER_TEXT = 'built into Argus';
const ANSWER_END = 'Until then, this reply streams';

function allowLockedReads(consoleErrors: ConsoleErrors) {
  consoleErrors.allowResponse(403, /\/api\/conversations\/[0-9a-f-]+$/, 'a locked conversation is read as 403 GRANT_REQUIRED, with its metadata');
}

async function signInToChat(page: Page, key: VirtualAuthenticator, account: TestAccount): Promise<ChatPage> {
  await signInWith(page, key, account, '/chat');
  const chat = new ChatPage(page);
  await expect(chat.heading).toBeVisible();
  return chat;
}

/** Unlocks, picks the restricted demo model and has one question answered in a new conversation. */
async function restrictedConversation(chat: ChatPage): Promise<void> {
  expect((await chat.unlock()).status()).toBe(200);
  await chat.pickModel(/Demo Restricted/);
  await chat.send(`${SECRET}: what are the next steps?`);
  await expect(chat.log).toContainText(ANSWER_END, { timeout: 10_000 });
  await expect(chat.stopButton).toHaveCount(0);
  await expect(chat.log).toContainText(SECRET);
}

/** The locked state everywhere on the page: no message, no title, nothing of the answer. */
async function expectNothingRestrictedShown(chat: ChatPage, restricted: RestrictedConversation): Promise<void> {
  await expect(chat.log.locator('.message')).toHaveCount(0);
  await expect(restricted.lockedView).toBeVisible();
  await expect(restricted.lockedLinks).toHaveCount(1);
  const dom = await restricted.dom();
  expect(dom).not.toContain(SECRET);
  expect(dom).not.toContain(ANSWER_TEXT);
}

test('a restricted conversation without a grant is locked: no title, no messages, and one touch reads it', async ({ page, argus, key, consoleErrors }) => {
  allowLockedReads(consoleErrors);
  const account = await argus.account('user');
  const chat = await signInToChat(page, key, account);
  const restricted = new RestrictedConversation(page, chat);

  await test.step('under the grant it reads as usual, its title marked restricted', async () => {
    await restrictedConversation(chat);
    await expect(restricted.readableLink(new RegExp(SECRET))).toBeVisible();
    await expect(restricted.lockedLinks).toHaveCount(0);
    await page.screenshot({ path: shotPath('chat-restricted-readable-1280.png') });
  });

  await test.step('the grant revoked on the server: the messages leave the page at once, the sidebar locks', async () => {
    const revoked = await page.request.delete('/api/grants/current', {
      data: { reason: 'locked_by_user' },
      headers: { origin: new URL(page.url()).origin },
    });
    expect(revoked.status()).toBe(204);
    // GRANT_REVOKED is pushed over the WebSocket; nothing else tells this page.
    await expect(chat.log.locator('.message')).toHaveCount(0, { timeout: 2_000 });
    await expectNothingRestrictedShown(chat, restricted);
    await expect(restricted.lockedView).toContainText('Demo Restricted');
    await expect(restricted.lockedView).toContainText('its messages were removed from this page');
    await page.screenshot({ path: shotPath('chat-restricted-ended-1280.png') });
  });

  await test.step('opened again (a reload), the server sends only its metadata', async () => {
    const [read] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'GET' && /^\/api\/conversations\/[^/]+$/.test(new URL(r.url()).pathname)),
      page.reload(),
    ]);
    expect(read.status()).toBe(403);
    expect(read.headers()['cache-control']).toContain('no-store');
    await expectNothingRestrictedShown(chat, restricted);
    await expect(restricted.lockedView).toContainText('This conversation used Demo Restricted, a restricted model.');
    await expect(restricted.lockedView).not.toContainText('removed from this page');
    // Opened locked, the touch is the thing to do.
    await expect(restricted.readButton).toBeFocused();
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }))).not.toContain(SECRET);
  });

  await test.step('the title search never matches it, and it can be deleted but not renamed', async () => {
    const search = chat.sidebar.getByRole('searchbox');
    await search.fill('bluebird');
    await expect(chat.sidebar.getByText('No conversation title matches.')).toBeVisible();
    await search.fill('restricted');
    await expect(chat.sidebar.getByText('No conversation title matches.')).toBeVisible();
    await search.fill('');
    // Every locked row has the same name; when it was last used tells them apart.
    await expect(restricted.lockedLinks).toHaveAccessibleDescription(/Last used just now/);
    await chat.rowMenu(LOCKED_LABEL).click();
    await expect(page.getByRole('menuitem')).toHaveText(['Delete']);
    await page.keyboard.press('Escape');
    await expect(chat.rowMenu(LOCKED_LABEL)).toBeFocused();
  });

  await test.step('the locked view and the locked row, at 1280 and 390 px', async () => {
    await expectAccessible(page, 'a locked restricted conversation');
    await page.screenshot({ path: shotPath('chat-restricted-locked-1280.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await expect(restricted.lockedView).toBeVisible();
    const box = await restricted.lockedView.boundingBox();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    await page.screenshot({ path: shotPath('chat-restricted-locked-390.png') });
    await chat.drawerButton.click();
    await expect(chat.drawer.getByRole('link', { name: LOCKED_LABEL, exact: true })).toBeVisible();
    await page.screenshot({ path: shotPath('chat-restricted-locked-drawer-390.png') });
    await page.keyboard.press('Escape');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await test.step('a touch that does not happen says so by the button, and unlocks nothing', async () => {
    // The person closes the browser's security key prompt (the virtual key would answer at once).
    await page.evaluate(() => {
      const credentials = navigator.credentials;
      const get = credentials.get.bind(credentials);
      credentials.get = async () => {
        credentials.get = get;
        throw new DOMException('The operation either timed out or was not allowed.', 'NotAllowedError');
      };
    });
    await restricted.readButton.click();
    await expect(restricted.lockedView.getByRole('alert')).toContainText('Not unlocked: The security key prompt was closed or timed out.');
    await expectNothingRestrictedShown(chat, restricted);
  });

  await test.step('one touch of the key, from the keyboard, reads it: the messages and the title are back', async () => {
    await restricted.readButton.focus();
    const { unlock, read } = await restricted.touchToRead('keyboard');
    expect(unlock.status()).toBe(200);
    expect(read.status()).toBe(200);
    await expect(restricted.lockedView).toHaveCount(0);
    await expect(chat.log.locator('.message')).toHaveCount(2);
    await expect(chat.log).toContainText(SECRET);
    await expect(chat.log).toContainText(ANSWER_END);
    await expect(restricted.readableLink(new RegExp(SECRET))).toBeVisible();
    await expect(restricted.lockedLinks).toHaveCount(0);
    await expect(chat.message).toBeFocused();
  });
});

test('pulling the key out removes a restricted conversation from the page at once, keeps the half-typed message, and leaves nothing of a streaming answer', async ({ page, argus, key, consoleErrors }) => {
  allowLockedReads(consoleErrors);
  const hid = await installFakeHid(page);
  const account = await argus.account('user');
  const chat = await signInToChat(page, key, account);
  const restricted = new RestrictedConversation(page, chat);
  await expect(page.getByTestId('presence-mode')).toContainText('Key: watched by this browser');
  await restrictedConversation(chat);

  await test.step('unplugged with a message half typed: the messages go within a second, the words typed stay', async () => {
    await chat.message.fill('And after that, the');
    const unpluggedAt = await hid.unplug();
    await expect(chat.log.locator('.message')).toHaveCount(0, { timeout: 1_000 });
    const goneAt = await page.evaluate(() => performance.now());
    expect(goneAt - unpluggedAt).toBeLessThan(1_000);
    await expectNothingRestrictedShown(chat, restricted);
    await expect(chat.message).toHaveValue('And after that, the');
    // The person was typing: the focus stays in the message box.
    await expect(chat.message).toBeFocused();
    await expect(chat.sendButton).toHaveText('Touch your key to send');
  });

  await test.step('plugged back and unlocked from the header, the open conversation is read again', async () => {
    await hid.plug();
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'GET' && /^\/api\/conversations\/[^/]+$/.test(new URL(r.url()).pathname) && r.status() === 200),
      chat.unlock(),
    ]);
    await expect(chat.log.locator('.message')).toHaveCount(2);
    await expect(chat.log).toContainText(SECRET);
    await expect(chat.message).toHaveValue('And after that, the');
  });

  await test.step('unplugged while an answer streams: nothing of it stays on the page', async () => {
    await chat.message.fill(`Tell me a long story about ${SECRET} and its people`);
    await chat.message.press('Enter');
    await expect(chat.log.locator('.message.assistant').last()).toContainText(ANSWER_TEXT, { timeout: 5_000 });
    await expect(chat.stopButton).toBeVisible();
    await hid.unplug();
    await expect(chat.log.locator('.message')).toHaveCount(0, { timeout: 1_000 });
    await expect(chat.stopButton).toHaveCount(0);
    // Whatever was still on its way when the key went does not come back.
    await page.waitForTimeout(1_000);
    await expectNothingRestrictedShown(chat, restricted);
  });

  await test.step('the server kept what was written before the cut: the next touch reads it', async () => {
    await hid.plug();
    const { unlock, read } = await restricted.touchToRead();
    expect(unlock.status()).toBe(200);
    expect(read.status()).toBe(200);
    await expect(chat.log.locator('.message.assistant').last()).toContainText(ANSWER_TEXT);
    await expect(chat.log.locator('.message.assistant').last()).toContainText(/Cut off/);
    await hid.unplug();
    await expectNothingRestrictedShown(chat, restricted);
  });

  await test.step('a locked conversation can still be deleted', async () => {
    await chat.remove(LOCKED_LABEL);
    await expect(page).toHaveURL(/\/chat$/);
    await expect(restricted.lockedLinks).toHaveCount(0);
    await expect(chat.sidebar.getByText('No saved conversations yet.')).toBeVisible();
  });
});

test('standard conversations stay readable when restricted access ends', async ({ page, argus, key }) => {
  const account = await argus.account('user');
  const chat = await signInToChat(page, key, account);
  const restricted = new RestrictedConversation(page, chat);
  expect((await chat.unlock()).status()).toBe(200);
  await chat.send('Plain lunch plans');
  await expect(chat.log).toContainText(ANSWER_END, { timeout: 10_000 });
  // The answer has ended once the focus is back in the message box (it would close the popover).
  await expect(chat.stopButton).toHaveCount(0);
  await expect(chat.message).toBeFocused();
  await chat.grantCountdown.click();
  await page.getByRole('button', { name: 'Lock now' }).click();
  await expect(chat.unlockButton).toBeVisible();
  await expect(chat.log.locator('.message')).toHaveCount(2);
  await expect(chat.log).toContainText('Plain lunch plans');
  await expect(restricted.lockedView).toHaveCount(0);
  await expect(chat.sidebar.getByRole('link', { name: 'Plain lunch plans', exact: true })).toBeVisible();
});
