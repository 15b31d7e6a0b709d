import type { Page } from '@playwright/test';
import { expectAccessible, holdKeyTouch } from './a11y.ts';
import { test, expect } from './fixtures.ts';
import { ChatPage } from './pages/ChatPage.ts';
import { signInWith } from './pages/SignInPage.ts';
import { offerAnyCredential } from './virtualAuthenticator.ts';

/** A conversation with `count` questions and their (demo) answers, made over the API. */
async function conversationWith(page: Page, count: number): Promise<string> {
  const origin = new URL(page.url()).origin;
  const created = await page.request.post('/api/conversations', { data: { model: 'demo-standard' }, headers: { origin } });
  const { conversation } = (await created.json()) as { conversation: { id: string } };
  for (let i = 1; i <= count; i += 1) {
    const answer = await page.request.post(`/api/conversations/${conversation.id}/messages`, {
      data: { model: 'demo-standard', content: `Question ${i}: how do grants and security keys work together?` },
      headers: { origin },
    });
    expect(await answer.text()).toContain('"done"');
  }
  return conversation.id;
}

/** Where things are on screen now. */
function geometry(page: Page) {
  return page.evaluate(() => {
    const box = (selector: string) => {
      const all = document.querySelectorAll(selector);
      const rect = all[all.length - 1]?.getBoundingClientRect();
      return rect ? { top: rect.top, bottom: rect.bottom, left: rect.left, right: rect.right } : null;
    };
    return {
      innerWidth,
      innerHeight,
      scrollWidth: document.documentElement.scrollWidth,
      scrollHeight: document.documentElement.scrollHeight,
      composer: box('form.composer'),
      newest: box('.messages .message'),
      picker: box('.model-trigger'),
    };
  });
}

test('the workspace fits the window at 390, 768 and 1280 px: newest message and message box on the first screen, no sideways scrolling', async ({ page, argus, key }) => {
  test.setTimeout(60_000);
  const account = await argus.account('user');
  await signInWith(page, key, account, '/chat');
  const chat = new ChatPage(page);
  const id = await conversationWith(page, 4);

  for (const [width, height] of [
    [390, 844],
    [768, 1024],
    [1280, 800],
  ] as const) {
    await test.step(`${width}×${height}`, async () => {
      await page.setViewportSize({ width, height });
      await chat.goto('/chat');
      await expect(chat.message).toBeVisible();
      let at = await geometry(page);
      expect(at.scrollWidth, '/chat scrolls sideways').toBeLessThanOrEqual(at.innerWidth);
      expect(at.composer!.bottom).toBeLessThanOrEqual(at.innerHeight);
      expect(at.picker!.top).toBeGreaterThanOrEqual(0);

      await chat.goto(`/chat/${id}`);
      await expect(chat.log.locator('.message')).toHaveCount(8);
      await expect(chat.log.locator('.message').last()).toBeInViewport();
      at = await geometry(page);
      expect(at.scrollWidth, `/chat/${id} scrolls sideways`).toBeLessThanOrEqual(at.innerWidth);
      // The page itself does not scroll: the messages do, inside it.
      expect(at.scrollHeight).toBeLessThanOrEqual(at.innerHeight + 1);
      expect(at.composer!.bottom).toBeLessThanOrEqual(at.innerHeight);
      expect(at.newest!.top).toBeLessThan(at.composer!.top);
      await expect(chat.drawerButton).toHaveCount(width < 800 ? 1 : 0);
      await expect(chat.sidebar).toBeVisible({ visible: width >= 800 });
    });
  }

  await test.step('scrolled up, "Jump to latest" brings the newest message back', async () => {
    await chat.log.evaluate((log) => (log.scrollTop = 0));
    await expect(chat.jumpToLatest).toBeVisible();
    await chat.jumpToLatest.click();
    await expect(chat.log.locator('.message').last()).toBeInViewport();
    await expect(chat.jumpToLatest).toHaveCount(0);
  });
});

test('a locked restricted model: Enter asks for the key, then sends; one touch, nothing retyped', async ({ page, argus, key }) => {
  const account = await argus.account('user');
  await signInWith(page, key, account, '/chat');
  const chat = new ChatPage(page);
  await chat.pickModel(/Demo Restricted/);
  await expect(chat.sendButton).toHaveText('Touch your key to send');
  await chat.message.fill('Secret question');
  await expectAccessible(page, 'chat, a locked model with a message typed');

  const sent = await chat.sendLocked('Secret question');
  expect(sent.unlock.status()).toBe(200);
  expect(sent.message?.status()).toBe(200);
  await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
  await expect(chat.log.locator('.message.user')).toHaveText(/Secret question/);
  await expect(chat.log.locator('.message.assistant')).toContainText('demo model', { timeout: 10_000 });
  await expect(chat.grantCountdown).toBeVisible();
  await expect(chat.sendButton).toHaveText('Send');
  await expect(chat.message).toHaveValue('');

  await test.step('the countdown chip renews with one touch, and locks', async () => {
    const before = (await (await page.request.get('/api/grants/current')).json()) as { grant: { id: string } };
    await chat.grantCountdown.click();
    const [renewed] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/verify-key-ownership') && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Renew now' }).click(),
    ]);
    expect(renewed.status()).toBe(200);
    const after = (await (await page.request.get('/api/grants/current')).json()) as { grant: { id: string } };
    expect(after.grant.id).not.toBe(before.grant.id);
    // The details stay open through the renewal, with the new countdown and Lock now at hand.
    await page.getByRole('button', { name: 'Lock now' }).click();
    await expect(chat.grantCountdown).toHaveCount(0);
    await expect(chat.sendButton).toHaveText('Touch your key to send');
  });
});

test("another user's key: the message is not sent, stays in the box, and the mismatch shows above it", async ({ page, argus, key, consoleErrors }) => {
  consoleErrors.allowResponse(403, '/api/verify-key-ownership', 'the server refuses another user’s key (KEY_MISMATCH)');
  const bob = await argus.account('user');
  const alice = await argus.account('user');
  await signInWith(page, key, bob, '/chat');
  const chat = new ChatPage(page);
  await offerAnyCredential(page, '**/api/verify-key-ownership/options');
  // Bob's own key is out; only Alice's (discoverable) credential answers.
  await key.clear();
  await key.addCredential(alice.credential, 'localhost', alice.userId);
  await chat.pickModel(/Demo Restricted/);

  const sent = await chat.sendLocked('Keep these words');
  expect(sent.unlock.status()).toBe(403);
  expect(sent.message).toBeUndefined();
  const refusal = page.locator('.chat-bottom').getByRole('alert').filter({ hasText: 'This key belongs to another account.' });
  await expect(refusal).toBeVisible();
  await expect(refusal).toContainText('Not sent');
  await expect(chat.message).toHaveValue('Keep these words');
  await expect(page).toHaveURL(/\/chat$/);
  await expect(chat.log.locator('.message')).toHaveCount(0);
  expect(await page.request.get('/api/grants/current').then((r) => r.json())).toEqual({ grant: null });
  await expectAccessible(page, 'chat, a refused touch said above the message box');
});

test('by keyboard: the model picker, the drawer, the presence chip; axe on each state', async ({ page, argus, key }) => {
  const account = await argus.account('user');
  await signInWith(page, key, account, '/chat');
  const chat = new ChatPage(page);

  await test.step('the model picker opens, moves and picks with the keyboard', async () => {
    await chat.modelPicker.focus();
    await page.keyboard.press('Enter');
    await expect(page.getByRole('listbox')).toBeVisible();
    await expectAccessible(page, 'chat, model picker open');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await expect(page.getByRole('listbox')).toHaveCount(0);
    await expect(chat.modelPicker).toContainText('Demo Restricted');
    await expect(chat.modelPicker).toBeFocused();
    await expect(page.getByText(/is restricted\./)).toBeVisible();
  });

  await test.step('the presence chip opens its explanation; Escape closes it', async () => {
    await chat.presenceChip.focus();
    await page.keyboard.press('Enter');
    const details = page.getByRole('dialog', { name: 'Key presence' });
    await expect(details).toContainText(/hide FIDO security keys/i);
    await expectAccessible(page, 'chat, presence explained');
    await page.keyboard.press('Escape');
    await expect(details).toHaveCount(0);
    await expect(chat.presenceChip).toBeFocused();
  });

  await test.step('on a phone the sidebar is a drawer: it opens from the header and closes with Escape', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await expect(chat.drawerButton).toBeVisible();
    await chat.drawerButton.focus();
    await page.keyboard.press('Enter');
    await expect(chat.drawer).toBeVisible();
    await expect(chat.drawer.getByRole('button', { name: 'New chat' })).toBeVisible();
    await expectAccessible(page, 'chat, drawer open');
    await page.keyboard.press('Escape');
    await expect(chat.drawer).toHaveCount(0);
    await expect(chat.drawerButton).toBeFocused();
  });

  await test.step('touching to send shows the prompt above the message box', async () => {
    const release = await holdKeyTouch(page);
    await chat.message.fill('Held');
    await chat.message.press('Enter');
    await expect(page.getByRole('status').filter({ hasText: 'Touch your security key now…' })).toBeVisible();
    await expectAccessible(page, 'chat, touching the key to send');
    await release();
    await expect(chat.log.locator('.message.assistant')).toContainText('demo model', { timeout: 10_000 });
    await page.getByTestId('grant-countdown').click();
    await page.getByRole('button', { name: 'Lock now' }).click();
  });
});
