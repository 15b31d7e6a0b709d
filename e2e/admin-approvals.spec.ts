import { expectAccessible } from './a11y.ts';
import { test, expect } from './fixtures.ts';
import { AdminApprovalsTab } from './pages/AdminApprovalsTab.ts';
import { AdminConsolePage } from './pages/AdminConsolePage.ts';
import { signInElsewhere, signInWith } from './pages/SignInPage.ts';
import { shotPath } from './screenshots.ts';
import { expireStepUp, watchStepUp } from './stepUp.ts';

test('one admin asks to promote a user, a second admin approves it in another browser', async ({ page, browser, argus, key }) => {
  // The e2e node has many admins with keys: the two-person rule holds (TWO_PERSON_RULE is on by default).
  const asker = await argus.account('admin');
  const approver = await argus.account('admin');
  const target = await argus.account('user');
  const title = `Make @${target.username} an admin`;

  await signInWith(page, key, asker, '/admin/users');
  const console = new AdminConsolePage(page);

  await test.step('the promotion answers that it waits for a second admin, and nothing changes yet', async () => {
    await console.searchUsers(target.username);
    const row = console.userRow(target.username);
    const asked = console.answer('PATCH', `/api/admin/users/${target.userId}`);
    await console.rowAction(row, 'Change role to Admin');
    await expect(console.dialog).toContainText('a second admin must');
    await console.confirm('Change role');
    expect((await asked).status()).toBe(202);
    await expect(page.getByRole('status').filter({ hasText: 'Waiting for a second admin' })).toContainText(title);
    await expect(row.getByText('User', { exact: true })).toBeVisible();
  });

  const approvals = new AdminApprovalsTab(page);
  await test.step('the asker sees it waiting, with Cancel and no Approve', async () => {
    await approvals.openFromTabs();
    const mine = approvals.changeRow(title);
    await expect(mine).toContainText('Waiting for a second admin');
    await expect(mine).toContainText(`@${asker.username}`);
    await expect(mine.getByRole('button', { name: 'Cancel' })).toBeVisible();
    await expect(mine.getByRole('button', { name: 'Approve' })).toHaveCount(0);
  });

  const other = await signInElsewhere(browser, argus.url, approver, '/admin/approvals');
  try {
    const theirs = new AdminApprovalsTab(other);
    await expect(theirs.heading).toBeVisible();
    const row = theirs.changeRow(title);

    await test.step('the second admin sees what, who asked, when and how long is left, at 390 and 1280 px', async () => {
      await expect(row).toContainText(`@${asker.username}`);
      await expect(row).toContainText(/in 2[34] hr/);
      for (const width of [390, 1280]) {
        await other.setViewportSize({ width, height: width === 390 ? 844 : 800 });
        await expect(row.getByRole('button', { name: 'Approve' })).toBeVisible();
        // Narrow screens stack the rows: nothing scrolls sideways.
        const overflow = await other.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow, `sideways scroll at ${width} px`).toBeLessThanOrEqual(0);
        await other.screenshot({ path: shotPath(`approvals-approver-${width}.png`), fullPage: true });
        await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
        await expect(approvals.changeRow(title).getByRole('button', { name: 'Cancel' })).toBeVisible();
        await page.screenshot({ path: shotPath(`approvals-requester-${width}.png`), fullPage: true });
      }
      await expectAccessible(other, 'admin, approvals, a change to approve');
      await expectAccessible(page, 'admin, approvals, my change waiting');
    });

    await test.step('the second admin approves with a touch of their key; the change takes effect', async () => {
      await expireStepUp(other);
      const stepUp = await watchStepUp(other, /\/api\/admin\/pending-changes\/[^/]+\/approve$/);
      await theirs.approve(title);
      await expect.poll(() => stepUp.calls().map((call) => call.replace(/pending-changes\/[^/]+/, 'pending-changes/:id'))).toEqual([
        'POST /api/admin/pending-changes/:id/approve 403',
        'POST /api/account/step-up/options 200',
        'POST /api/account/step-up 200',
        'POST /api/admin/pending-changes/:id/approve 200',
      ]);
      expect(await stepUp.promptSeen()).toBe(true);
      await expect(row).toHaveCount(0);
      const { rows } = await argus.pool.query<{ role: string }>('SELECT role FROM app_user WHERE id = $1', [target.userId]);
      expect(rows).toEqual([{ role: 'admin' }]);
    });

    await test.step("the asker's list follows the live feed: the approved change leaves it", async () => {
      await expect(approvals.changeRow(title)).toHaveCount(0);
      const { rows } = await argus.pool.query<{ action: string; actor_username: string }>(
        "SELECT action, actor_username FROM audit_event WHERE target_id = $1 AND (action LIKE 'pending_change.%' OR action = 'user.role_changed') ORDER BY seq",
        [target.userId],
      );
      expect(rows).toEqual([
        { action: 'pending_change.requested', actor_username: asker.username },
        { action: 'pending_change.approved', actor_username: approver.username },
        { action: 'user.role_changed', actor_username: approver.username },
        { action: 'pending_change.applied', actor_username: approver.username },
      ]);
    });
  } finally {
    await other.context().close();
  }
});

test('a recovery link and a new model URL say they wait for a second admin, and the link works once approved', async ({ page, browser, argus, key }) => {
  const asker = await argus.account('admin');
  const approver = await argus.account('admin');
  const target = await argus.account('user');
  const modelId = `held-${target.username}`;
  // Disabled: it never shows in another test's chat.
  await argus.pool.query(
    "INSERT INTO model (id, display_name, provider, base_url, upstream_model, tier, enabled) VALUES ($1, $2, 'openai', 'https://203.0.113.10/v1', 'llama3.2', 'standard', false)",
    [modelId, `Held ${target.username}`],
  );
  await signInWith(page, key, asker, '/admin/users');
  const console = new AdminConsolePage(page);
  const other = await signInElsewhere(browser, argus.url, approver, '/admin/approvals');
  try {
    let link = '';
    await test.step('the link is shown once to the admin who asked, and does not work yet', async () => {
      await console.searchUsers(target.username);
      const asked = console.answer('POST', `/api/admin/users/${target.userId}/enrollment`);
      await console.rowAction(console.userRow(target.username), 'New enrollment link');
      expect((await asked).status()).toBe(202);
      const shown = page.getByRole('region', { name: `Enrollment link for @${target.username}` });
      await expect(shown).toContainText('Shown once');
      await expect(shown.getByRole('status').filter({ hasText: 'Waiting for a second admin' })).toContainText('This link works only once another admin approves it');
      link = (await shown.getByTestId('enrollment-link').textContent())!.trim();
      expect((await page.request.get(`/api/enrollment/${link.split('/').pop()}`)).status()).toBe(404);
      await page.screenshot({ path: shotPath(`recovery-link-waiting-1280.png`), fullPage: true });
      await shown.getByRole('button', { name: 'Done' }).click();
    });

    await test.step("a model's new base URL waits too, said in its row", async () => {
      await page.goto('/admin/models');
      const row = page.getByRole('region', { name: 'Model catalog' }).getByRole('row').filter({ has: page.getByRole('rowheader', { name: `Held ${target.username}` }) });
      await row.getByRole('button', { name: 'Edit' }).click();
      const edit = page.getByRole('form', { name: `Edit Held ${target.username}` });
      await edit.getByLabel('Base URL').fill('https://203.0.113.20/v1');
      const asked = console.answer('PATCH', `/api/admin/models/${modelId}`);
      await edit.getByRole('button', { name: 'Save' }).click();
      expect((await asked).status()).toBe(202);
      const notice = page.getByRole('status').filter({ hasText: 'Waiting for a second admin' });
      await expect(notice).toContainText(`Re-point the model Held ${target.username}`);
      await expect(row).toContainText('https://203.0.113.10/v1');
      await notice.scrollIntoViewIfNeeded();
      await page.screenshot({ path: shotPath(`model-url-waiting-1280.png`) });
    });

    await test.step('approved in the other browser, the link works', async () => {
      const theirs = new AdminApprovalsTab(other);
      const title = `New enrollment link for @${target.username}`;
      await expect(theirs.changeRow(title)).toContainText('whoever opens the link takes over the account');
      await expect(theirs.changeRow(`Re-point the model Held ${target.username}`)).toContainText('base URL: https://203.0.113.10/v1 → https://203.0.113.20/v1');
      await other.screenshot({ path: shotPath(`approvals-two-kinds-1280.png`), fullPage: true });
      const approved = other.waitForResponse((r) => r.url().endsWith('/approve') && r.status() === 200);
      await theirs.approve(title);
      await approved;
      await expect(theirs.changeRow(title)).toHaveCount(0);
      expect((await page.request.get(`/api/enrollment/${link.split('/').pop()}`)).status()).toBe(200);
    });
  } finally {
    await other.context().close();
    await argus.pool.query("DELETE FROM pending_admin_change WHERE target_model_id = $1", [modelId]);
    await argus.pool.query('DELETE FROM model WHERE id = $1', [modelId]);
  }
});
