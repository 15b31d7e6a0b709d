import type { Locator, Page, WebSocketRoute } from '@playwright/test';
import { test, expect, type TestAccount } from './fixtures.ts';
import { expireStepUp, watchStepUp } from './stepUp.ts';
import { signInWith } from './pages/SignInPage.ts';
import { VirtualAuthenticator } from './virtualAuthenticator.ts';

/** Where the focus is: an element and whether a focus indicator is drawn for it. */
interface FocusState {
  element: string;
  /** Matches :focus-visible and has an outline (its own, or its ::after's) or a box shadow. */
  visible: boolean;
}

function focusState(page: Page): Promise<FocusState> {
  return page.evaluate(() => {
    const element = document.activeElement as HTMLElement | null;
    if (!element || element === document.body) return { element: 'body', visible: false };
    const drawn = (style: CSSStyleDeclaration) =>
      (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
    const name = (element.getAttribute('aria-label') ?? element.textContent ?? '').trim().slice(0, 40);
    return {
      element: `${element.tagName.toLowerCase()} “${name}”`,
      visible:
        element.matches(':focus-visible') &&
        (drawn(getComputedStyle(element)) || drawn(getComputedStyle(element, '::after'))),
    };
  });
}

/** The focus is on something (never <body>): after a dialog closes or a row goes away. */
async function expectFocusKept(page: Page): Promise<void> {
  expect((await focusState(page)).element, 'the focus fell back to <body>').not.toBe('body');
}

/**
 * Presses Tab (or Shift+Tab) until `target` has the focus, checking at every stop that the
 * focus is visibly marked. Fails if `target` is not reached in `limit` presses, or only by
 * going round the page more than once.
 */
async function tabTo(page: Page, target: Locator, key: 'Tab' | 'Shift+Tab' = 'Tab', limit = 40): Promise<void> {
  const path: string[] = [];
  for (let presses = 0; presses < limit; presses += 1) {
    await page.keyboard.press(key);
    const state = await focusState(page);
    path.push(state.element);
    // Past the last (or first) element the focus leaves for the browser's own controls, once.
    if (state.element === 'body') {
      expect(path.filter((stop) => stop === 'body'), `${key} went round the page twice: ${path.join(' → ')}`).toHaveLength(1);
      continue;
    }
    expect(state.visible, `no visible focus on ${state.element}`).toBe(true);
    if (await target.evaluate((element) => element === document.activeElement)) return;
  }
  throw new Error(`${key} never reached the target: ${path.join(' → ')}`);
}

/** Both sign-in steps with the keyboard alone; ends on the home page. */
/**
 * Reaches `rename` with `reach` (Tab by default), opens its `field` with Enter, types the new
 * `name` over the old one and saves with Enter: the `renamed` item shows, and the focus is back on `rename`.
 */
async function renameByKeyboard(
  page: Page,
  options: { rename: Locator; reach?: 'Tab' | 'Shift+Tab'; field: Locator; name: string; renamed: Locator },
): Promise<void> {
  await tabTo(page, options.rename, options.reach);
  await page.keyboard.press('Enter');
  await expect(options.field).toBeFocused();
  await page.keyboard.type(options.name);
  await page.keyboard.press('Enter');
  await expect(options.renamed).toBeVisible();
  await expect(options.rename).toBeFocused();
}

/** Tabs to the row's `action` and presses Enter, then tabs to the confirmation's button of the same name and presses Enter. */
async function confirmByKeyboard(page: Page, row: Locator, action: string): Promise<void> {
  await tabTo(page, row.getByRole('button', { name: action }), 'Tab', 80);
  await page.keyboard.press('Enter');
  await tabTo(page, page.getByRole('dialog').getByRole('button', { name: action }));
  await page.keyboard.press('Enter');
}

async function signInByKeyboard(page: Page, key: VirtualAuthenticator, account: TestAccount): Promise<void> {
  await key.addCredential(account.credential, 'localhost');
  await page.goto('/signin');
  await tabTo(page, page.getByLabel('Username'));
  await page.keyboard.type(account.username);
  await tabTo(page, page.getByLabel('Password', { exact: true }));
  await page.keyboard.type(account.password);
  await page.keyboard.press('Enter');
  // The key step replaces the form: its heading takes the focus.
  await expect(page.getByRole('heading', { name: 'Touch your security key' })).toBeFocused();
  await tabTo(page, page.getByRole('button', { name: 'Use security key' }));
  await page.keyboard.press('Enter');
  await page.waitForURL((url) => url.pathname === '/');
  await expect(page.getByRole('heading', { name: 'Home', level: 1 })).toBeVisible();
}

/** Follows a link of the main navigation with the keyboard; the new page's h1 takes the focus. */
async function openSection(page: Page, name: string, from: 'Tab' | 'Shift+Tab' = 'Tab'): Promise<void> {
  await tabTo(page, page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }), from);
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1 })).toBeFocused();
}

test.describe('with the keyboard alone', () => {
  test('sign in: password, then the key; the focus is visible at every stop', async ({ page, argus, key }) => {
    const account = await argus.account('user');
    await signInByKeyboard(page, key, account);
    await expectFocusKept(page);
    await test.step('the focus style is the app’s :focus-visible outline', async () => {
      await tabTo(page, page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Chat' }));
      const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
      expect(outline).toBe('solid');
    });
    await test.step('the first Tab stop skips the navigation', async () => {
      await page.goto('/account');
      await expect(page.getByRole('heading', { name: 'Account', level: 1 })).toBeVisible();
      const skip = page.getByRole('link', { name: 'Skip to content' });
      await tabTo(page, skip, 'Tab', 1);
      await expect(skip).toBeInViewport();
      await page.keyboard.press('Enter');
      await expect(page.getByRole('main')).toBeFocused();
      await page.keyboard.press('Tab');
      // The next stop is inside the page, past the navigation and Sign out.
      expect(await page.evaluate(() => document.querySelector('main')!.contains(document.activeElement))).toBe(true);
      await expect(page).toHaveURL(/\/account$/);
    });
  });

  test('chat: the open model list keeps the focus when the list is read again behind it', async ({ page, argus, key }) => {
    // The event socket's (re)connect reads the model list again: it must not pull the
    // focus out of a list that is open (seen in CI as arrows that reached nothing).
    const sockets: WebSocketRoute[] = [];
    await page.routeWebSocket(/\/ws$/, (socket) => {
      socket.connectToServer();
      sockets.push(socket);
    });
    const account = await argus.account('user');
    await signInByKeyboard(page, key, account);
    await openSection(page, 'Chat');
    await expect.poll(() => sockets.length).toBeGreaterThan(0);
    const picker = page.locator('.chat-header').getByRole('button', { name: /Model/ });
    await tabTo(page, picker);
    await page.keyboard.press('Enter');
    const focusedOption = page.getByRole('listbox').getByRole('option').and(page.locator(':focus'));
    await expect(focusedOption).toHaveText(/Demo Standard/);

    const readAgain = page.waitForResponse((response) => new URL(response.url()).pathname === '/api/models');
    const reconnected = sockets.length + 1;
    await sockets.at(-1)!.close();
    await readAgain;
    await expect.poll(() => sockets.length).toBe(reconnected);
    // A beat for the new list to render: the focus is still on the option it was on.
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => setTimeout(done, 100))));
    await expect(focusedOption).toHaveText(/Demo Standard/);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await expect(picker).toContainText('Demo Restricted');
    await expect(picker).toBeFocused();
  });

  test('chat: pick a model from the picker, send, stop, retry, rename and delete from the row menu', async ({ page, argus, key }) => {
    test.setTimeout(60_000);
    const account = await argus.account('user');
    await signInByKeyboard(page, key, account);
    await openSection(page, 'Chat');
    const sidebar = page.getByRole('region', { name: 'Conversations' });
    const log = page.getByRole('log', { name: 'Conversation' });
    const message = page.getByLabel('Message');

    await test.step('the model picker opens with Enter; the arrows move through the models', async () => {
      const picker = page.locator('.chat-header').getByRole('button', { name: /Model/ });
      await tabTo(page, picker);
      await page.keyboard.press('Enter');
      // The arrows move through an open list once an option of it holds the focus (one takes it
      // as the list opens): pressed before, they would reach the trigger instead. Then a beat
      // for the list to settle, as a person's next key comes: Kobalte focuses the list and its
      // option one after the other as it opens.
      const listFocused = async () => {
        await expect(page.getByRole('listbox').getByRole('option').and(page.locator(':focus'))).toHaveCount(1);
        await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => setTimeout(done, 50))));
      };
      await listFocused();
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      await expect(picker).toContainText('Demo Restricted');
      await expect(picker).toBeFocused();
      await expect(page.getByText(/is restricted\./)).toBeVisible();
      await page.keyboard.press('Enter');
      await listFocused();
      await page.keyboard.press('ArrowUp');
      await page.keyboard.press('Enter');
      await expect(picker).toContainText('Demo Standard');
      // Opening, Kobalte can focus the list after its option (ModelPicker.tsx): the option takes the focus back.
      await expect(picker).toBeFocused();
      await page.keyboard.press('Enter');
      await listFocused();
      await page.getByRole('listbox').focus();
      await expect(page.getByRole('option', { name: /Demo Standard/ })).toBeFocused();
      await page.keyboard.press('Escape');
      await expect(picker).toBeFocused();
    });

    await test.step('Enter sends; Stop cuts the answer and the focus goes back to the message box', async () => {
      await tabTo(page, message);
      await page.keyboard.type('Tell me a long story');
      await page.keyboard.press('Enter');
      await expect(log).toContainText('demo model');
      await tabTo(page, page.getByRole('button', { name: 'Stop' }));
      await page.keyboard.press('Enter');
      await expect(log).toContainText('Cut off — stopped by you');
      await expect(message).toBeFocused();
    });

    await test.step('Retry (with Space) asks again; the focus stays in the conversation', async () => {
      await tabTo(page, log.getByRole('button', { name: 'Retry' }), 'Shift+Tab');
      await page.keyboard.press('Space');
      await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible();
      await expectFocusKept(page);
      await expect(page.getByRole('button', { name: 'Stop' })).toHaveCount(0, { timeout: 20_000 });
      await expect(log.locator('.message.assistant')).toHaveCount(1);
      // Answered again, not refused (a refusal puts the stopped answer back).
      await expect(log).not.toContainText('Cut off — stopped by you');
      await expectFocusKept(page);
    });

    await test.step('rename from the row menu: Enter opens it, Enter renames, Enter saves, the focus returns', async () => {
      const menu = sidebar.getByRole('button', { name: /^Actions for / });
      await tabTo(page, menu, 'Shift+Tab');
      await page.keyboard.press('Enter');
      await expect(page.getByRole('menuitem', { name: 'Rename' })).toBeFocused();
      await page.keyboard.press('Enter');
      await expect(sidebar.getByLabel('New title')).toBeFocused();
      await page.keyboard.type('Keyboard chat');
      await page.keyboard.press('Enter');
      await expect(sidebar.getByRole('link', { name: 'Keyboard chat' })).toBeVisible();
      await expect(menu).toBeFocused();
    });

    await test.step('Escape cancels the delete question and gives the focus back; Enter deletes', async () => {
      const menu = sidebar.getByRole('button', { name: 'Actions for Keyboard chat' });
      await page.keyboard.press('Enter');
      // The menu opens on its first item; the arrow moves on from there.
      await expect(page.getByRole('menuitem', { name: 'Rename' })).toBeFocused();
      await page.keyboard.press('ArrowDown');
      await expect(page.getByRole('menuitem', { name: 'Delete' })).toBeFocused();
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog');
      await expect(dialog).toBeVisible();
      await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
      await page.keyboard.press('Escape');
      await expect(dialog).toHaveCount(0);
      await expect(menu).toBeFocused();

      await page.keyboard.press('Enter');
      await expect(page.getByRole('menuitem', { name: 'Rename' })).toBeFocused();
      await page.keyboard.press('ArrowDown');
      await expect(page.getByRole('menuitem', { name: 'Delete' })).toBeFocused();
      await page.keyboard.press('Enter');
      await tabTo(page, dialog.getByRole('button', { name: 'Delete' }));
      await page.keyboard.press('Enter');
      await expect(sidebar.getByRole('link')).toHaveCount(0);
      await expect(sidebar.getByRole('button', { name: 'New chat' })).toBeFocused();
    });
  });

  test('account: rename a key; the confirm dialog closes with Escape and gives the focus back', async ({ page, argus, key }) => {
    const account = await argus.account('user');
    await signInByKeyboard(page, key, account);
    await openSection(page, 'Account');
    const keys = page.getByRole('region', { name: 'Security keys' });

    await test.step('rename the key', async () => {
      await renameByKeyboard(page, {
        rename: keys.getByRole('button', { name: 'Rename' }),
        field: keys.getByLabel('New nickname for Test key'),
        name: 'Keyboard key',
        renamed: keys.getByRole('rowheader', { name: 'Keyboard key' }),
      });
    });

    await test.step('Escape leaves the rename form, and the focus returns to Rename', async () => {
      const rename = keys.getByRole('button', { name: 'Rename' });
      await page.keyboard.press('Enter');
      await expect(keys.getByLabel('New nickname for Keyboard key')).toBeFocused();
      await page.keyboard.press('Escape');
      await expect(rename).toBeFocused();
    });

    await test.step('Remove asks; Escape answers no and the focus is back on Remove', async () => {
      const remove = keys.getByRole('button', { name: 'Remove' });
      await tabTo(page, remove);
      await page.keyboard.press('Enter');
      await expect(page.getByRole('dialog')).toBeVisible();
      await expectFocusKept(page);
      await page.keyboard.press('Escape');
      await expect(page.getByRole('dialog')).toHaveCount(0);
      await expect(remove).toBeFocused();
      await expect(keys.getByRole('rowheader', { name: 'Keyboard key' })).toBeVisible();
    });

    await test.step('a pairing code takes the focus; Done gives it to the section, not <body>', async () => {
      await tabTo(page, page.getByRole('button', { name: 'Pair a detector' }));
      await page.keyboard.press('Space');
      await expect(page.getByTestId('pairing-code').getByText('Your pairing code')).toBeFocused();
      await tabTo(page, page.getByTestId('pairing-code').getByRole('button', { name: 'Done' }));
      await page.keyboard.press('Enter');
      await expect(page.getByTestId('pairing-code')).toHaveCount(0);
      await expect(page.getByRole('heading', { name: 'Detectors', level: 2 })).toBeFocused();
    });
  });

  test('admin console: move between tabs, create a user after a step-up touch', async ({ page, argus, key }) => {
    test.setTimeout(60_000);
    const admin = await argus.account('admin');
    await signInByKeyboard(page, key, admin);
    await openSection(page, 'Admin console');
    await expect(page).toHaveURL(/\/admin\/users$/);
    const tabs = page.getByRole('navigation', { name: 'Admin console' });

    await test.step('every tab opens with Enter', async () => {
      for (const [tab, path, key] of [
        ['Security keys', 'keys', 'Tab'],
        ['Models', 'models', 'Tab'],
        ['Live', 'live', 'Tab'],
        ['Overview', 'overview', 'Tab'],
        ['Detectors', 'detectors', 'Tab'],
        ['Users', 'users', 'Shift+Tab'],
      ] as const) {
        const link = tabs.getByRole('link', { name: tab });
        await tabTo(page, link, key, 10);
        await page.keyboard.press('Enter');
        await expect(page).toHaveURL(new RegExp(`/admin/${path}$`));
        await expect(link).toHaveAttribute('aria-current', 'page');
        // The followed tab keeps the focus, so the next tab is one Tab away.
        await expect(link).toBeFocused();
      }
    });

    await test.step('a new user: Enter submits, the key is touched for the step-up, the link is shown', async () => {
      await expireStepUp(page);
      const stepUp = await watchStepUp(page, /^\/api\/admin\/users$/);
      const form = page.getByRole('form', { name: 'Create user' });
      await tabTo(page, form.getByLabel('Username'));
      const username = `kbd-${crypto.randomUUID().slice(0, 6)}`;
      await page.keyboard.type(username);
      await page.keyboard.press('Enter');
      await expect(page.getByTestId('enrollment-link')).toContainText('/enroll/');
      expect(stepUp.calls().filter((call) => !call.startsWith('GET'))).toEqual([
        'POST /api/admin/users 403',
        'POST /api/account/step-up/options 200',
        'POST /api/account/step-up 200',
        'POST /api/admin/users 201',
      ]);
      expect(await stepUp.promptSeen()).toBe(true);
      await expect(page.getByRole('heading', { name: `Enrollment link for @${username}` })).toBeFocused();
    });

    await test.step('Done closes the link; the focus goes to the list of users, not <body>', async () => {
      await tabTo(page, page.getByRole('button', { name: 'Done' }));
      await page.keyboard.press('Enter');
      await expect(page.getByTestId('enrollment-link')).toHaveCount(0);
      await expectFocusKept(page);
      await expect(page.getByRole('heading', { name: 'Users', level: 2 })).toBeFocused();
    });
  });

  test('admin live view: revoking a grant and ending a session keep the focus in the page', async ({ page, browser, argus, key }) => {
    test.setTimeout(60_000);
    const admin = await argus.account('admin');
    const user = await argus.account('user');
    const userContext = await browser.newContext({ baseURL: argus.url });
    try {
      const userPage = await userContext.newPage();
      await signInWith(userPage, await VirtualAuthenticator.attach(userPage), user, '/chat');
      await Promise.all([
        userPage.waitForResponse((r) => r.url().endsWith('/api/verify-key-ownership') && r.status() === 200),
        userPage.getByRole('button', { name: 'Unlock restricted models' }).click(),
      ]);

      await signInByKeyboard(page, key, admin);
      await openSection(page, 'Admin console');
      await tabTo(page, page.getByRole('navigation', { name: 'Admin console' }).getByRole('link', { name: 'Live' }));
      await page.keyboard.press('Enter');
      const grants = page.getByRole('region', { name: 'Restricted access' });
      const sessions = page.getByRole('region', { name: 'Sessions' });
      const grantRow = grants.getByRole('row').filter({ has: page.getByRole('rowheader', { name: user.username }) });
      const sessionRow = sessions.getByRole('row').filter({ has: page.getByRole('rowheader', { name: user.username }) });

      await test.step('Revoke, confirmed with the keyboard: the focus goes to the section heading', async () => {
        await confirmByKeyboard(page, grantRow, 'Revoke');
        await expect(grantRow).toHaveCount(0);
        await expect(grants.getByRole('heading', { name: 'Restricted access' })).toBeFocused();
      });

      await test.step('End session, confirmed with the keyboard: the focus goes to the section heading', async () => {
        await confirmByKeyboard(page, sessionRow, 'End session');
        await expect(sessionRow).toHaveCount(0);
        await expect(sessions.getByRole('heading', { name: 'Sessions' })).toBeFocused();
      });
    } finally {
      await userContext.close();
    }
  });
});
