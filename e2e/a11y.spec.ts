import type { Page } from '@playwright/test';
import { expectAccessible, holdKeyTouch } from './a11y.ts';
import { streamedAnswer, test, expect } from './fixtures.ts';
import { AdminConsolePage } from './pages/AdminConsolePage.ts';
import { ChatPage } from './pages/ChatPage.ts';
import { SignInPage, signInWith } from './pages/SignInPage.ts';
import { expireStepUp, STEP_UP_PROMPT } from './stepUp.ts';

/** An answer with a heading, a list, inline code and a fenced code block, streamed in pieces. */
async function streamMarkdownAnswer(page: Page): Promise<void> {
  await page.route('**/api/conversations/*/messages', (route) =>
    route.fulfill(
      streamedAnswer([
        { type: 'delta', text: '## Steps\n\n1. Install it\n2. Run `npm test`\n\n' },
        { type: 'delta', text: '```ts\nconst answer: number = 42;\nconsole.log(answer);\n```\n\n> Done.' },
        { type: 'done', finishReason: 'stop' },
      ]),
    ),
  );
}

test.describe('no serious or critical axe violations (WCAG 2.0–2.2 A/AA, best practices)', () => {
  test('sign-in: both steps and a refused password', async ({ page, argus, key, consoleErrors }) => {
    consoleErrors.allowResponse(401, '/api/auth/signin', 'a wrong password on purpose, to check the refusal is accessible');
    const account = await argus.account('user');
    await key.addCredential(account.credential, 'localhost');
    const signIn = new SignInPage(page);
    await signIn.goto();
    await expectAccessible(page, 'sign-in, password step');

    expect(await signIn.enterPassword(account.username, 'not the password at all')).toBe(401);
    await expect(signIn.alert).toBeVisible();
    await expectAccessible(page, 'sign-in, wrong password');

    expect(await signIn.enterPassword(account.username, account.password)).toBe(200);
    await expect(page.getByRole('heading', { name: 'Touch your security key' })).toBeVisible();
    await expectAccessible(page, 'sign-in, key step');

    const release = await holdKeyTouch(page);
    await signIn.useKey.click();
    await expect(page.getByRole('status').filter({ hasText: 'Waiting for your key…' })).toBeVisible();
    await expectAccessible(page, 'sign-in, waiting for the key');
    await release();
    await page.waitForURL((url) => url.pathname === '/');
    await expectAccessible(page, 'home');
  });

  test('enrollment: password step, key step', async ({ page, argus }) => {
    const invited = await argus.invite('user');
    await page.goto(invited.enrollmentUrl);
    await expect(page.getByRole('heading', { name: 'Choose a password' })).toBeVisible();
    await expectAccessible(page, 'enrollment, password step');

    await page.getByLabel('Password', { exact: true }).fill('too short');
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect(page.getByRole('alert')).toBeVisible();
    await expectAccessible(page, 'enrollment, password refused');

    await page.getByLabel('Password', { exact: true }).fill('a long enough e2e password');
    await page.getByLabel('Confirm password').fill('a long enough e2e password');
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect(page.getByRole('heading', { name: 'Register your security key' })).toBeVisible();
    await expectAccessible(page, 'enrollment, key step');
  });

  test('chat: empty, a locked restricted model, the touch prompt, a streamed Markdown answer', async ({ page, argus, key }) => {
    const account = await argus.account('user');
    await signInWith(page, key, account, '/chat');
    await expect(page.getByRole('heading', { name: 'Chat', level: 1 })).toBeVisible();
    const chat = new ChatPage(page);
    await expect(chat.modelPicker).toBeVisible();
    await expectAccessible(page, 'chat, empty, restricted model locked');

    await chat.pickModel(/Demo Restricted/);
    await expect(chat.sendButton).toHaveText('Touch your key to send');
    await expectAccessible(page, 'chat, locked restricted model picked');

    const release = await holdKeyTouch(page);
    await chat.unlockButton.click();
    await expect(page.getByRole('status').filter({ hasText: 'Touch your security key now…' })).toBeVisible();
    await expectAccessible(page, 'chat, touch-your-key prompt');
    await release();
    await expect(page.getByTestId('grant-countdown')).toBeVisible();
    await expectAccessible(page, 'chat, restricted models unlocked');
    // End the grant: other specs (admin-live) expect no live grant but their own.
    await chat.grantCountdown.click();
    await page.getByRole('button', { name: 'Lock now' }).click();
    await expect(page.getByTestId('grant-countdown')).toHaveCount(0);

    await chat.pickModel(/Demo Standard/);
    await streamMarkdownAnswer(page);
    await page.getByLabel('Message').fill('How do I run the tests?');
    await page.getByRole('button', { name: 'Send' }).click();
    const log = page.getByRole('log', { name: 'Conversation' });
    await expect(log.locator('pre code')).toContainText('const answer');
    await expect(log.getByRole('button', { name: 'Copy' })).toBeVisible();
    // The answer's "## Steps" sits below the conversation's h2, not beside it.
    await expect(log.getByRole('heading', { name: 'Steps', level: 4 })).toBeVisible();
    await expect(page.getByRole('heading', { level: 2 }).filter({ hasText: 'Steps' })).toHaveCount(0);
    await expectAccessible(page, 'chat, streamed Markdown answer with a code block');
  });

  test('account: keys, sessions, detectors, a pairing code, the confirm dialog', async ({ page, argus, key }) => {
    const account = await argus.account('user');
    await signInWith(page, key, account, '/account');
    await expect(page.getByRole('heading', { name: 'Account', level: 1 })).toBeVisible();
    await expect(page.getByRole('rowheader', { name: 'Test key' })).toBeVisible();
    await expect(page.getByRole('heading', { name: 'Detectors' })).toBeVisible();
    await expectAccessible(page, 'account');

    await page.getByRole('button', { name: 'Pair a detector' }).click();
    await expect(page.getByTestId('pairing-code')).toBeVisible();
    await expectAccessible(page, 'account, pairing code shown');

    await page.getByRole('button', { name: 'Rename' }).click();
    await expect(page.getByLabel('New nickname for Test key')).toBeFocused();
    await expectAccessible(page, 'account, renaming a key');
    await page.getByRole('button', { name: 'Cancel' }).click();

    await page.getByRole('button', { name: 'Remove' }).click();
    await expect(page.getByRole('dialog')).toBeVisible();
    await expectAccessible(page, 'account, confirm dialog open');
    await page.keyboard.press('Escape');
    await expect(page.getByRole('dialog')).toHaveCount(0);
  });

  test('admin console: every tab, the create form with the step-up prompt and a one-time link', async ({ page, argus, key }) => {
    test.setTimeout(60_000);
    const admin = await argus.account('admin');
    await signInWith(page, key, admin, '/admin/users');
    const console = new AdminConsolePage(page);
    await expect(page.getByRole('heading', { name: 'Users', level: 2 })).toBeVisible();
    await console.rowsSettled();
    await expectAccessible(page, 'admin, users');

    await test.step('the step-up prompt, then the one-time link', async () => {
      await expireStepUp(page);
      const release = await holdKeyTouch(page);
      const form = page.getByRole('form', { name: 'Create user' });
      await form.getByLabel('Username').fill(`a11y-${crypto.randomUUID().slice(0, 6)}`);
      await form.getByRole('button', { name: 'Create user' }).click();
      await expect(page.getByRole('status').filter({ hasText: STEP_UP_PROMPT })).toBeVisible();
      await expectAccessible(page, 'admin, users, step-up prompt');
      await release();
      await expect(page.getByTestId('enrollment-link')).toContainText('/enroll/');
      await expectAccessible(page, 'admin, users, one-time link shown');
    });

    await test.step('a search narrowed to one user', async () => {
      await console.searchUsers(admin.username);
      await expect(console.userRow(admin.username)).toBeVisible();
      await expectAccessible(page, 'admin, users, filtered');
      await console.rowAction(console.userRow(admin.username), 'Delete');
      await expect(console.dialog).toBeVisible();
      await expectAccessible(page, 'admin, users, confirm dialog open');
      await page.keyboard.press('Escape');
      await expect(console.dialog).toHaveCount(0);
    });

    await console.open('Security keys');
    await console.rowsSettled();
    await expectAccessible(page, 'admin, security keys');
    await console.filterKeysByOwner(admin.username);
    await console.rowAction(console.keyRow('Test key', admin.username), 'Reassign');
    await expect(page.getByLabel('New owner of Test key (username)')).toBeFocused();
    await expectAccessible(page, 'admin, security keys, reassign form open');

    // Each tab, with a heading it always shows once loaded.
    for (const [tab, heading] of [
      ['Models', 'Add model'],
      ['Live', 'Security events'],
      ['Overview', 'Why grants were revoked'],
      ['Detectors', 'Detectors'],
    ] as const) {
      await console.tabs.getByRole('link', { name: tab }).click();
      await expect(page).toHaveURL(new RegExp(`/admin/${tab.toLowerCase()}$`));
      await expect(page.getByRole('heading', { name: heading, level: 2 })).toBeVisible();
      await expect(page.getByText('Loading…')).toHaveCount(0);
      await expectAccessible(page, `admin, ${tab.toLowerCase()}`);
      if (tab === 'Models') {
        await page.getByRole('row').nth(1).getByRole('button', { name: 'Edit' }).click();
        await expect(page.getByRole('form', { name: /^Edit / })).toBeVisible();
        await expectAccessible(page, 'admin, models, a model being edited');
      }
    }
  });

  test('audit log', async ({ page, argus, key }) => {
    const auditor = await argus.account('auditor');
    await signInWith(page, key, auditor, '/audit');
    await expect(page.getByRole('heading', { name: 'Audit log', level: 1 })).toBeVisible();
    await expect(page.getByRole('table').first()).toBeVisible();
    await expectAccessible(page, 'audit log');
    await page.getByRole('row').nth(1).click();
    await expectAccessible(page, 'audit log, an event open');
  });
});
