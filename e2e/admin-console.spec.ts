import { expectAccessible } from './a11y.ts';
import { expect, test } from './fixtures.ts';
import { AdminConsolePage } from './pages/AdminConsolePage.ts';
import { signInWith } from './pages/SignInPage.ts';

const TABS = ['users', 'keys', 'models', 'live', 'overview', 'detectors'] as const;

test('the users table says how far each person got with enrollment, their keys and last sign-in', async ({ page, argus, key, request }) => {
  const admin = await argus.account('admin');
  const invited = await argus.invite('user');
  const halfway = await argus.invite('user');
  const enrolled = await argus.account('user');
  // The password step of the link, as the person would take it in their own browser.
  const token = halfway.enrollmentUrl.split('/').pop()!;
  const step = await request.post(`${argus.url}/api/enrollment/${token}/password`, {
    data: { password: 'a heron at the weir' },
    headers: { origin: argus.url },
  });
  expect(step.status()).toBeLessThan(300);

  await signInWith(page, key, admin, '/admin/users');
  const console = new AdminConsolePage(page);

  await test.step('each state in words, with the key count and when they last signed in', async () => {
    for (const [username, state, keys, lastSignIn] of [
      [invited.username, 'Link sent — not started', 'None', 'Never'],
      [halfway.username, 'Password set — key pending', 'None', 'Never'],
      [enrolled.username, 'Active', '1 key', /ago|just now/],
    ] as const) {
      await console.searchUsers(username);
      const row = console.userRow(username);
      await expect(row.locator('td[data-label="State"]')).toHaveText(state);
      await expect(row.locator('td[data-label="Keys"]')).toContainText(keys);
      await expect(row.locator('td[data-label="Last sign-in"]')).toHaveText(lastSignIn);
      await expect(page.getByText('1 user', { exact: true })).toBeVisible();
    }
    // The exact time is on hover.
    const signedIn = console.userRow(enrolled.username).locator('td[data-label="Last sign-in"] time');
    await expect(signedIn).toHaveAttribute('title', /\d{4}/);
  });

  await test.step('the row menu by keyboard: Enter opens it, arrows move, Escape closes it back onto its button', async () => {
    const row = console.userRow(enrolled.username);
    const menuButton = console.rowMenu(row);
    await menuButton.focus();
    await page.keyboard.press('Enter');
    const menu = page.getByRole('menu');
    await expect(menu).toBeVisible();
    await expect(menu.getByRole('menuitem', { name: 'Disable' })).toBeFocused();
    await page.keyboard.press('ArrowDown');
    await expect(menu.getByRole('menuitem', { name: 'Change role to Admin' })).toBeFocused();
    await page.keyboard.press('ArrowUp');
    await expect(menu.getByRole('menuitem', { name: 'Disable' })).toBeFocused();
    await expectAccessible(page, 'admin, users, row menu open');
    await page.keyboard.press('Escape');
    await expect(menu).toHaveCount(0);
    await expect(menuButton).toBeFocused();

    // Space opens it too; End reaches Delete; Enter asks first, and the answer returns the focus to the button.
    await page.keyboard.press(' ');
    await expect(menu).toBeVisible();
    await page.keyboard.press('End');
    await expect(menu.getByRole('menuitem', { name: 'Delete' })).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(console.dialog).toContainText(`Delete @${enrolled.username}?`);
    await expect(console.dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
    await page.keyboard.press('Escape');
    await expect(console.dialog).toHaveCount(0);
    await expect(menuButton).toBeFocused();
    await expect(row).toBeVisible();
  });

  await test.step('the Actions column lines up: every row is one line, its menu button on the row’s middle', async () => {
    await page.goto('/admin/users');
    await expect(console.rowMenu(console.userRow(admin.username))).toBeVisible();
    const lines = await page.locator('.admin-console tbody tr:not(.row-alert)').evaluateAll((rows) =>
      rows.slice(0, 10).map((row) => {
        const box = row.getBoundingClientRect();
        const button = row.querySelector('.row-menu-button')!.getBoundingClientRect();
        return { height: box.height, offset: Math.abs(button.top + button.height / 2 - (box.top + box.height / 2)) };
      }),
    );
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) {
      expect(line.height).toBeLessThan(60);
      expect(line.offset).toBeLessThan(2);
    }
  });
});

test('a first admin sees what is left to set up, on Home and on the Overview', async ({ page, argus, key }) => {
  const admin = await argus.account('admin');
  await signInWith(page, key, admin);
  const setup = (await (await page.request.get('/api/admin/overview')).json()).setup as Record<string, boolean>;
  const checklist = page.getByRole('region', { name: 'Set up Argus' });
  // The run shares one server: earlier specs may have done every step already. Then the
  // checklist has gone away, which is what it must do; otherwise it lists each step as it stands.
  // (server/routes/adminOverview.test.ts ticks each step off from an empty database.)
  if (Object.values(setup).every(Boolean)) {
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
    await expect(checklist).toHaveCount(0);
    return;
  }
  await expect(checklist).toBeVisible();
  const steps = checklist.getByRole('listitem');
  await expect(steps).toHaveCount(4);
  for (const [index, done] of [setup.usersCreated, setup.realModel, setup.detectorPaired, setup.auditExported].entries()) {
    if (done) await expect(steps.nth(index)).toContainText('(done)');
    else await expect(steps.nth(index).getByRole('link')).toBeVisible();
  }
  await expectAccessible(page, 'home, setup checklist');
  await page.goto('/admin/overview');
  await expect(checklist).toBeVisible();
});

for (const [width, height] of [
  [390, 844],
  [768, 1024],
  [1280, 800],
] as const) {
  test(`at ${width}×${height} no admin tab scrolls sideways`, async ({ page, argus, key }) => {
    const admin = await argus.account('admin');
    await page.setViewportSize({ width, height });
    await signInWith(page, key, admin);
    for (const tab of TABS) {
      await page.goto(`/admin/${tab}`);
      await expect(page.getByRole('heading', { level: 2 }).first()).toBeVisible();
      await page.waitForLoadState('networkidle');
      const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
      expect(scrollWidth, `/admin/${tab} at ${width} px`).toBeLessThanOrEqual(innerWidth);
    }
  });
}
