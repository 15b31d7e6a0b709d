import { randomBytes } from 'node:crypto';
import { createUserWithEnrollment } from '../server/users/createUser.ts';
import { test, expect } from './fixtures.ts';
import { AdminConsolePage } from './pages/AdminConsolePage.ts';
import { signInElsewhere, signInWith } from './pages/SignInPage.ts';
import { expireStepUp } from './stepUp.ts';

test('an admin needs a fresh touch for a change: the prompt appears, and the change goes through after it', async ({ page, argus, key }) => {
  const admin = await argus.account('admin');
  await signInWith(page, key, admin, '/admin');
  const console = new AdminConsolePage(page);
  await expect(page).toHaveURL(/\/admin\/users$/);
  await expect(page.getByRole('heading', { name: 'Admin console', level: 1 })).toBeVisible();

  await test.step('an hour after the last touch, creating a user asks for the key, then goes through', async () => {
    await expireStepUp(page);
    const promptShown = await console.watchStepUpPrompt();
    const answers: string[] = [];
    page.on('response', (r) => {
      const path = new URL(r.url()).pathname;
      const change = r.request().method() !== 'GET';
      if (change && (path === '/api/admin/users' || path.startsWith('/api/account/step-up'))) answers.push(`${r.request().method()} ${path} ${r.status()}`);
    });
    const form = page.getByRole('form', { name: 'Create user' });
    await form.getByLabel('Username').fill(`touched-${randomBytes(3).toString('hex')}`);
    await form.getByRole('button', { name: 'Create user' }).click();
    await expect(page.getByTestId('enrollment-link')).toContainText('/enroll/');
    expect(await promptShown()).toBe(true);
    await expect(console.stepUpPrompt).toHaveCount(0);
    // Refused, stepped up with a touch, sent again.
    expect(answers).toEqual([
      'POST /api/admin/users 403',
      'POST /api/account/step-up/options 200',
      'POST /api/account/step-up 200',
      'POST /api/admin/users 201',
    ]);
  });

  await test.step('within STEP_UP_MINUTES of that touch, the next change needs none', async () => {
    const created = console.answer('POST', '/api/admin/users');
    const form = page.getByRole('form', { name: 'Create user' });
    await form.getByLabel('Username').fill(`untouched-${randomBytes(3).toString('hex')}`);
    await form.getByRole('button', { name: 'Create user' }).click();
    expect((await created).status()).toBe(201);
  });
});

test('an admin finds users by name, role and status, page by page', async ({ page, argus, key }) => {
  const admin = await argus.account('admin');
  const prefix = `pg${randomBytes(3).toString('hex')}`;
  // One more than a page (50), the last an auditor.
  for (let i = 0; i < 51; i += 1) {
    const created = await createUserWithEnrollment({
      pool: argus.pool,
      config: { origin: argus.url, enrollmentTtlHours: 24 } as Parameters<typeof createUserWithEnrollment>[0]['config'],
      username: `${prefix}-${String(i).padStart(2, '0')}`,
      displayName: `Paged Person ${i}`,
      role: i === 50 ? 'auditor' : 'user',
      context: { actor: null, ip: null, userAgent: 'e2e' },
    });
    expect(created.created).toBe(true);
  }
  await signInWith(page, key, admin, '/admin/users');
  const console = new AdminConsolePage(page);

  await test.step('a search shows the first page, and "Load more" the rest', async () => {
    await console.searchUsers(prefix);
    await expect(console.userRow(`${prefix}-00`)).toBeVisible();
    await expect(page.getByRole('rowheader', { name: new RegExp(`^${prefix}-`) })).toHaveCount(50);
    await page.getByRole('button', { name: 'Load more' }).click();
    await expect(page.getByRole('rowheader', { name: new RegExp(`^${prefix}-`) })).toHaveCount(51);
    await expect(page.getByRole('button', { name: 'Load more' })).toHaveCount(0);
  });

  await test.step('the role filter narrows it to the auditor', async () => {
    await console.selectFilter('Filter by role', 'auditor');
    await expect(page.getByRole('rowheader', { name: new RegExp(`^${prefix}-`) })).toHaveCount(1);
    await expect(console.userRow(`${prefix}-50`)).toBeVisible();
  });

  await test.step('a status filter with nobody in it says so', async () => {
    await console.selectFilter('Filter by status', 'disabled');
    await expect(page.getByText('No users match')).toBeVisible();
  });
});

test('an admin disables a signed-in user, who is signed out at once, and enables them again', async ({ page, browser, argus, key }) => {
  const admin = await argus.account('admin');
  const target = await argus.account('user');
  const theirs = await signInElsewhere(browser, argus.url, target, '/account');

  await signInWith(page, key, admin, '/admin/users');
  const console = new AdminConsolePage(page);
  await console.searchUsers(target.username);
  const row = console.userRow(target.username);

  await test.step('disable: their open page goes to sign-in without them doing anything', async () => {
    const changed = await console.confirmRowAction(row, 'Disable', { says: 'signed out everywhere', method: 'PATCH', pathEnd: `/api/admin/users/${target.userId}` });
    expect(changed.status()).toBe(200);
    await expect(row.getByText('Disabled', { exact: true })).toBeVisible();
    await expect(theirs).toHaveURL(/\/signin/);
    expect(await (await theirs.request.get('/api/session')).json()).toEqual({ signedIn: false });
  });

  await test.step('enable: they may sign in again', async () => {
    await console.rowAction(row, 'Enable');
    await console.confirm('Enable');
    await expect(row.getByText('Active', { exact: true })).toBeVisible();
    const signIn = await theirs.request.post('/api/auth/signin', {
      data: { username: target.username, password: target.password },
      headers: { origin: argus.url },
    });
    expect(signIn.status()).toBe(200);
  });
  await theirs.context().close();
});

test('an admin changes a role, issues a new enrollment link and deletes a user', async ({ page, argus, key }) => {
  const admin = await argus.account('admin');
  const target = await argus.account('user');
  await signInWith(page, key, admin, '/admin/users');
  const console = new AdminConsolePage(page);
  await console.searchUsers(target.username);
  const row = console.userRow(target.username);

  await test.step('make them an auditor', async () => {
    const changed = console.answer('PATCH', `/api/admin/users/${target.userId}`);
    await console.rowAction(row, 'Change role to Auditor');
    await expect(console.dialog).toContainText('signs in again with the new role');
    await console.confirm('Change role');
    expect((await changed).status()).toBe(200);
    await console.selectFilter('Filter by role', 'auditor');
    await expect(row).toBeVisible();
  });

  await test.step('a new enrollment link, for someone who lost every key, is shown once with its expiry', async () => {
    // They lost every key: for someone who still has one, the link would wait for a second admin (e2e/admin-approvals.spec.ts).
    await argus.pool.query("UPDATE security_key SET status = 'deactivated' WHERE user_id = $1", [target.userId]);
    await console.rowAction(row, 'New enrollment link');
    const shown = page.getByRole('region', { name: `Enrollment link for @${target.username}` });
    await expect(shown.getByTestId('enrollment-link')).toContainText('/enroll/');
    await expect(shown).toContainText('Shown once');
    await expect(shown).toContainText('Expires');
    const link = (await shown.getByTestId('enrollment-link').textContent())!.trim();
    expect((await page.request.get(`/api/enrollment/${link.split('/').pop()}`)).status()).toBe(200);
    await shown.getByRole('button', { name: 'Done' }).click();
    await expect(shown).toHaveCount(0);
  });

  await test.step('delete them: gone from the list, their history still in the audit log', async () => {
    const deleted = await console.confirmRowAction(row, 'Delete', { says: 'The audit log keeps their history', method: 'DELETE', pathEnd: `/api/admin/users/${target.userId}` });
    expect(deleted.status()).toBe(204);
    await expect(row).toHaveCount(0);
    const { rows } = await argus.pool.query<{ actor_username: string }>(
      'SELECT DISTINCT actor_username FROM audit_event WHERE actor_id = $1',
      [target.userId],
    );
    expect(rows).toEqual([{ actor_username: target.username }]);
  });
});

test('the last active admin cannot demote, disable or delete themselves', async ({ page, argus, key, consoleErrors }) => {
  consoleErrors.allowResponse(409, /\/api\/admin\/users\/[0-9a-f-]+$/, 'the last active admin demoting or deleting themselves is refused on purpose (LAST_ADMIN)');
  const admin = await argus.account('admin');
  // Every other admin this run made is disabled, so this one is the last.
  await argus.pool.query("UPDATE app_user SET status = 'disabled' WHERE role = 'admin' AND id <> $1", [admin.userId]);
  await signInWith(page, key, admin, '/admin/users');
  const console = new AdminConsolePage(page);
  await console.searchUsers(admin.username);
  const row = console.userRow(admin.username);

  const refused = console.answer('PATCH', `/api/admin/users/${admin.userId}`);
  await console.rowAction(row, 'Change role to User');
  await console.confirm('Change role');
  expect((await refused).status()).toBe(409);
  await expect(row.page().getByRole('alert').filter({ hasText: 'last active admin' })).toBeVisible();
  // The row still shows the role they have.
  await expect(row.getByText('Admin', { exact: true })).toBeVisible();

  const deleteRefused = await console.confirmRowAction(row, 'Delete', { method: 'DELETE', pathEnd: `/api/admin/users/${admin.userId}` });
  expect(deleteRefused.status()).toBe(409);
  await expect(row).toBeVisible();
  expect(await (await page.request.get('/api/session')).json()).toMatchObject({ signedIn: true, user: { role: 'admin' } });
});
