import type { Page } from '@playwright/test';
import { streamedAnswer, test, expect, type TestAccount } from './fixtures.ts';
import { ChatPage } from './pages/ChatPage.ts';
import { signInWith } from './pages/SignInPage.ts';
import type { VirtualAuthenticator } from './virtualAuthenticator.ts';

async function signInToChat(page: Page, key: VirtualAuthenticator, account: TestAccount): Promise<void> {
  await signInWith(page, key, account, '/chat');
  await expect(page.getByRole('heading', { name: 'Chat', level: 1 })).toBeVisible();
}

test('conversations: create, reload, rename, retry, delete', async ({ page, argus, key, consoleErrors }) => {
  consoleErrors.allowResponse(429, /\/api\/conversations\/[^/]+\/messages/, 'a mocked TOO_MANY_STREAMS refusal');
  consoleErrors.allowResponse(400, /\/api\/conversations\/[^/]+\/messages/, 'a mocked VALIDATION_FAILED refusal');
  consoleErrors.allowResponse(404, /\/api\/conversations\/[0-9a-f-]+$/, 'the deleted conversation\'s address, opened again on purpose');
  const account = await argus.account('user');
  await signInToChat(page, key, account);
  const sidebar = page.getByRole('region', { name: 'Conversations' });
  const log = page.getByRole('log', { name: 'Conversation' });

  await expect(page.getByText(/Pick a model and send a message to start/)).toBeVisible();
  await page.getByLabel('Message').fill('Hello **world** <img src=x onerror="window.pwned=1">');
  await page.getByLabel('Message').press('Enter');
  await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
  await expect(log).toContainText('demo model');
  await expect(log).toContainText('Until then, this reply streams', { timeout: 10_000 });
  await expect(page.getByLabel('Message')).toBeFocused();
  // The model echoed the markup: it is text, not an element.
  await expect(log.locator('.message.assistant img')).toHaveCount(0);
  await expect(log.locator('.message.assistant strong')).toHaveText('world');
  expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
  await expect(sidebar.getByRole('link', { name: /Hello/ })).toHaveAttribute('aria-current', 'page');

  const url = page.url();
  await page.reload();
  await expect(log).toContainText('Until then, this reply streams');
  await expect(log).toContainText('Hello **world**');

  await test.step('retry replaces the last answer', async () => {
    await page.getByRole('button', { name: 'Retry' }).click();
    await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible();
    await expect(log).toContainText('Until then, this reply streams', { timeout: 10_000 });
    await expect(log.locator('.message.assistant')).toHaveCount(1);
  });

  await test.step('edit-and-resend replaces the last question and its answer', async () => {
    const chat = new ChatPage(page);
    await log.locator('.message.user').last().getByRole('button', { name: 'Edit' }).click();
    await expect(page.getByLabel('Message')).toHaveValue('Hello **world** <img src=x onerror="window.pwned=1">');
    await expect(chat.sendButton).toHaveText('Resend');
    const response = await chat.send('Hello again, edited');
    expect(response.url()).toMatch(/\/edit$/);
    await expect(log).toContainText('Until then, this reply streams', { timeout: 10_000 });
    await expect(log.locator('.message.user')).toHaveCount(1);
    await expect(log.locator('.message.user')).toContainText('Hello again, edited');
    await expect(log.locator('.message.assistant')).toHaveCount(1);
    await page.reload();
    await expect(log.locator('.message.user')).toContainText('Hello again, edited');
    await expect(log.locator('.message.assistant')).toHaveCount(1);
  });

  await test.step('rename, from the row menu', async () => {
    const chat = new ChatPage(page);
    const title = (await sidebar.getByRole('link').first().textContent())!.trim();
    await chat.rename(title, 'My renamed chat');
    await expect(sidebar.getByRole('link', { name: 'My renamed chat' })).toBeVisible();
    await expect(chat.rowMenu('My renamed chat')).toBeFocused();
  });

  await test.step('search by title', async () => {
    await sidebar.getByRole('searchbox').fill('renamed');
    await expect(sidebar.getByRole('link')).toHaveCount(1);
    await sidebar.getByRole('searchbox').fill('nothing like this');
    await expect(sidebar.getByText('No conversation title matches.')).toBeVisible();
    await sidebar.getByRole('searchbox').fill('');
  });

  await test.step('markdown, code blocks and model errors from a mocked stream', async () => {
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
    let call = 0;
    await page.route('**/api/conversations/*/messages', async (route) => {
      call += 1;
      if (call === 1) {
        await route.fulfill(
          streamedAnswer([
            { type: 'delta', text: 'Here:\n\n```js\nconsole.log("hi");\n```\n\n[site](https://example.com) [bad](javascript:alert(1))\n\n<script>window.pwned=2</script><iframe src="https://example.com"></iframe>' },
            { type: 'done', finishReason: 'stop' },
          ]),
        );
      } else if (call === 2) {
        await route.fulfill(streamedAnswer([{ type: 'error', code: 'MODEL_UNREACHABLE', message: 'The model server cannot be reached' }]));
      } else if (call === 3) {
        await route.fulfill({ status: 429, json: { error: { code: 'TOO_MANY_STREAMS', message: 'You have too many answers streaming. Wait for one to finish.' } } });
      } else {
        await route.fulfill({ status: 400, json: { error: { code: 'VALIDATION_FAILED', message: 'The message is empty or too long.' } } });
      }
    });
    await page.getByLabel('Message').fill('code please');
    await page.getByRole('button', { name: 'Send' }).click();
    const answer = log.locator('.message.assistant').last();
    await expect(answer.locator('pre code')).toHaveText('console.log("hi");');
    await expect(answer.getByRole('link', { name: 'site' })).toHaveAttribute('rel', 'noopener noreferrer');
    await expect(answer.getByRole('link', { name: 'site' })).toHaveAttribute('target', '_blank');
    await expect(answer.getByRole('link', { name: 'bad' })).toHaveCount(0);
    await expect(answer.locator('script, iframe')).toHaveCount(0);
    await answer.getByRole('button', { name: 'Copy' }).click();
    await expect(answer.getByRole('status')).toHaveText('Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('console.log("hi");\n');

    await page.getByLabel('Message').fill('fail please');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(log.locator('.message.assistant').last()).toContainText('The model server cannot be reached');
    await expect(page.getByRole('button', { name: 'Retry' })).toBeVisible();

    await page.getByLabel('Message').fill('too many');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'too many answers streaming' })).toBeVisible();
    await expect(page.getByLabel('Message')).toHaveValue('too many');

    await page.getByRole('button', { name: 'Send' }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'empty or too long' })).toBeVisible();
    await page.unroute('**/api/conversations/*/messages');
  });

  await test.step('a second conversation, switching, and delete', async () => {
    await sidebar.getByRole('button', { name: 'New chat' }).click();
    await expect(page).toHaveURL(/\/chat$/);
    await expect(page.getByLabel('Message')).toBeFocused();
    await page.getByLabel('Message').fill('Second one');
    await page.keyboard.press('Enter');
    await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
    await expect(log).toContainText('Until then, this reply streams', { timeout: 10_000 });
    await expect(sidebar.getByRole('link')).toHaveCount(2);
    await expect(sidebar.getByRole('link').first()).toHaveText('Second one');
    await sidebar.getByRole('link', { name: 'My renamed chat' }).click();
    // Its question is the one edit-and-resend left there.
    await expect(log).toContainText('Hello again, edited');
    await expect(page.getByLabel('Message')).toBeFocused();
    await new ChatPage(page).remove('My renamed chat');
    await expect(page).toHaveURL(/\/chat$/);
    await expect(sidebar.getByRole('link')).toHaveCount(1);
    await page.goto(url);
    await expect(page.getByText('This conversation does not exist, or it is not yours.')).toBeVisible();
  });
});

test('stop keeps the partial answer across a reload; load more lists older conversations', async ({ page, argus, key }) => {
  const account = await argus.account('user');
  await signInToChat(page, key, account);
  const sidebar = page.getByRole('region', { name: 'Conversations' });
  const log = page.getByRole('log', { name: 'Conversation' });
  await expect(sidebar.getByText('No saved conversations yet.')).toBeVisible();
  await page.getByLabel('Message').fill('Tell me a long story');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(log).toContainText('demo model');
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(log).toContainText('Cut off — stopped by you');
  await expect(page.getByRole('button', { name: 'Retry' })).toBeVisible();
  await page.waitForTimeout(300);
  await page.reload();
  await expect(log).toContainText(/Cut off — /);
  await expect(log).toContainText('demo model');

  for (let i = 0; i < 31; i += 1) {
    const response = await page.request.post('/api/conversations', {
      data: { model: 'demo-standard', title: `Old ${i}` },
      headers: { origin: new URL(page.url()).origin },
    });
    if (response.status() !== 201) throw new Error(`create ${response.status()} ${await response.text()}`);
  }
  await page.reload();
  await expect(sidebar.getByRole('link')).toHaveCount(30);
  await sidebar.getByRole('button', { name: 'Load more' }).click();
  await expect(sidebar.getByRole('link')).toHaveCount(32);
  await expect(sidebar.getByRole('button', { name: 'Load more' })).toHaveCount(0);
});

