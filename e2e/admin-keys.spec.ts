import { test, expect, type TestAccount } from './fixtures.ts';
import { AdminConsolePage } from './pages/AdminConsolePage.ts';
import { signInElsewhere, signInWith } from './pages/SignInPage.ts';
import { expireStepUp } from './stepUp.ts';

async function keyIdOf(argus: { pool: import('../server/db/pool.ts').Pool }, account: TestAccount): Promise<string> {
  const { rows } = await argus.pool.query<{ id: string }>('SELECT id FROM security_key WHERE user_id = $1', [account.userId]);
  return rows[0]!.id;
}

test('an admin sees every key with its details and filters by owner and status', async ({ page, argus, key }) => {
  const admin = await argus.account('admin');
  const owner = await argus.account('user');
  const keyId = await keyIdOf(argus, owner);
  await argus.pool.query(
    // As an attestation verified against FIDO metadata would leave it (the virtual authenticator's cannot be).
    "UPDATE security_key SET hid_vendor_id = 4176, hid_product_id = 1031, hid_product_name = 'YubiKey OTP+FIDO+CCID', sign_count = 7, attested = true, certified_aaguid = aaguid, certification_level = 'FIDO_CERTIFIED_L1' WHERE id = $1",
    [keyId],
  );
  await signInWith(page, key, admin, '/admin');
  const console = new AdminConsolePage(page);

  await test.step('the key count on the owner’s row in Users opens the keys tab narrowed to them', async () => {
    await console.searchUsers(owner.username);
    await console.userRow(owner.username).getByRole('link', { name: `1 key of ${owner.username}` }).click();
    await expect(page).toHaveURL(new RegExp(`/admin/keys\\?owner=${owner.username}$`));
    await expect(page.getByLabel('Owner')).toHaveValue(owner.username);
    await expect(console.keyRow('Test key', owner.username)).toBeVisible();
    await expect(page.getByRole('rowheader')).toHaveCount(1);
  });

  await console.open('Security keys');
  await expect(page).toHaveURL(/\/admin\/keys$/);

  await test.step('filter by the owner: one row, every column filled', async () => {
    await console.filterKeysByOwner(owner.username.toUpperCase());
    const row = console.keyRow('Test key', owner.username);
    await expect(row).toBeVisible();
    await expect(page.getByRole('rowheader')).toHaveCount(1);
    await expect(row.getByRole('cell').nth(1)).toHaveText(/security key|Unknown/i);
    await expect(row).toContainText('active');
    await expect(row.getByRole('cell', { name: '7', exact: true })).toBeVisible();
    await expect(row).toContainText('YubiKey OTP+FIDO+CCID');
    await expect(row).toContainText('0x1050:0x0407');
    await expect(row.getByRole('cell').nth(1)).toHaveText(/security key\s*Attested\s*FIDO Certified L1$/i);
  });

  await test.step('a status with no keys of theirs says so; nobody by that name neither', async () => {
    await console.selectFilter('Filter by key status', 'suspended');
    await expect(page.getByText('No security keys match')).toBeVisible();
    await console.selectFilter('Filter by key status', '');
    await console.filterKeysByOwner('nobody-at-all');
    await expect(page.getByText('No security keys match')).toBeVisible();
  });

  await test.step('a key whose attestation was not verified says so plainly', async () => {
    await console.filterKeysByOwner(admin.username);
    await expect(console.keyRow('Test key', admin.username).getByRole('cell').nth(1)).toHaveText(/security key\s*Unattested$/i);
  });
});

test('deactivating a key signs its user out at once (after the admin’s touch), and it can be reactivated', async ({ page, browser, argus, key }) => {
  const admin = await argus.account('admin');
  const owner = await argus.account('user');
  const theirs = await signInElsewhere(browser, argus.url, owner, '/account');

  await signInWith(page, key, admin, '/admin/keys');
  const console = new AdminConsolePage(page);
  await console.filterKeysByOwner(owner.username);
  const row = console.keyRow('Test key', owner.username);
  await expect(row).toBeVisible();

  await test.step('deactivate: the step-up prompt, the touch, the change sent again', async () => {
    await expireStepUp(page);
    const promptShown = await console.watchStepUpPrompt();
    const stepUp = await console.confirmRowAction(row, 'Deactivate', { says: 'Sessions signed in with this key end now', method: 'POST', pathEnd: '/api/account/step-up' });
    expect(stepUp.status()).toBe(200);
    await expect(row.getByText('deactivated', { exact: true })).toBeVisible();
    expect(await promptShown()).toBe(true);
    await expect(theirs).toHaveURL(/\/signin/);
  });

  await test.step('reactivate: no reason needed for a key an admin deactivated', async () => {
    const changed = console.answer('POST', /\/api\/admin\/keys\/[^/]+\/status$/);
    await console.rowAction(row, 'Reactivate');
    expect((await changed).status()).toBe(200);
    await expect(row.getByText('active', { exact: true })).toBeVisible();
  });
  await theirs.context().close();
});

test('a key suspended by clone detection is reactivated only with a reason, which the audit log keeps', async ({ page, argus, key }) => {
  const admin = await argus.account('admin');
  const owner = await argus.account('user');
  const keyId = await keyIdOf(argus, owner);
  await argus.pool.query("UPDATE security_key SET status = 'suspended', status_reason = 'Signature counter went backwards' WHERE id = $1", [keyId]);
  await signInWith(page, key, admin, '/admin/keys');
  const console = new AdminConsolePage(page);
  await console.selectFilter('Filter by key status', 'suspended');
  await console.filterKeysByOwner(owner.username);
  const row = console.keyRow('Test key', owner.username);
  await expect(row).toContainText('Signature counter went backwards');

  await console.rowAction(row, 'Reactivate');
  await expect(page.getByText('Clone detection suspended this key')).toBeVisible();
  const reason = page.getByLabel('Reason to reactivate Test key');
  await expect(reason).toBeFocused();
  // An empty reason is not sent.
  await page.getByRole('button', { name: 'Reactivate' }).click();
  await expect(reason).toBeFocused();
  await reason.fill('Firmware reset the counter; key inspected in person');
  const changed = console.answer('POST', `/api/admin/keys/${keyId}/status`);
  await page.getByRole('button', { name: 'Reactivate' }).click();
  expect((await changed).status()).toBe(200);
  // Now active, it no longer matches the "suspended" filter.
  await expect(row).toHaveCount(0);

  const { rows } = await argus.pool.query<{ details: Record<string, unknown>; actor_username: string }>(
    "SELECT details, actor_username FROM audit_event WHERE action = 'key.reactivated' AND target_id = $1",
    [keyId],
  );
  expect(rows).toEqual([
    {
      actor_username: admin.username,
      details: expect.objectContaining({ before: 'suspended', after: 'active', reason: 'Firmware reset the counter; key inspected in person' }),
    },
  ]);
});

test('an admin reassigns a key to another user by username, and deletes one', async ({ page, argus, key, consoleErrors }) => {
  consoleErrors.allowResponse(404, /\/api\/admin\/keys\/[0-9a-f-]+\/reassign$/, 'an unknown new owner on purpose: "No such user"');
  const admin = await argus.account('admin');
  const from = await argus.account('user');
  const to = await argus.account('user');
  await signInWith(page, key, admin, '/admin/keys');
  const console = new AdminConsolePage(page);

  await test.step('reassign: the key moves to its new owner', async () => {
    await console.filterKeysByOwner(from.username);
    await console.rowAction(console.keyRow('Test key', from.username), 'Reassign');
    const newOwner = page.getByLabel('New owner of Test key (username)');
    await expect(newOwner).toBeFocused();
    await newOwner.fill('no-such-person');
    await page.getByRole('button', { name: 'Move key' }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'No such user' })).toBeVisible();
    await newOwner.fill(to.username);
    const moved = console.answer('POST', /\/reassign$/);
    await page.getByRole('button', { name: 'Move key' }).click();
    expect((await moved).status()).toBe(200);
    await console.filterKeysByOwner(to.username);
    await expect(page.getByRole('rowheader', { name: 'Test key' })).toHaveCount(2);
  });

  await test.step('delete one of them', async () => {
    const deleted = await console.confirmRowAction(console.keyRow('Test key', to.username).first(), 'Delete', {
      says: 'cannot be undone',
      method: 'DELETE',
      pathEnd: /\/api\/admin\/keys\/[^/]+$/,
    });
    expect(deleted.status()).toBe(204);
    await expect(page.getByRole('rowheader', { name: 'Test key' })).toHaveCount(1);
    const { rows } = await argus.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM security_key WHERE user_id = $1', [to.userId]);
    expect(rows[0]!.n).toBe(1);
  });
});

test('an admin cannot delete or deactivate their own last key', async ({ page, argus, key, consoleErrors }) => {
  consoleErrors.allowResponse(409, /\/api\/admin\/keys\/[0-9a-f-]+$/, 'deleting the admin’s own last key is refused on purpose (LAST_KEY)');
  consoleErrors.allowResponse(409, /\/api\/admin\/keys\/[0-9a-f-]+\/status$/, 'deactivating the admin’s own last key is refused on purpose (LAST_KEY)');
  const admin = await argus.account('admin');
  await signInWith(page, key, admin, '/admin/keys');
  const console = new AdminConsolePage(page);
  await console.filterKeysByOwner(admin.username);
  const row = console.keyRow('Test key', admin.username);

  const refused = await console.confirmRowAction(row, 'Delete', { method: 'DELETE', pathEnd: /\/api\/admin\/keys\/[^/]+$/ });
  expect(refused.status()).toBe(409);
  await expect(page.getByRole('alert').filter({ hasText: 'last active key' })).toBeVisible();

  await console.rowAction(row, 'Deactivate');
  await console.confirm('Deactivate');
  await expect(page.getByRole('alert').filter({ hasText: 'last active key' })).toBeVisible();
  await expect(row.getByText('active', { exact: true })).toBeVisible();
  expect(await (await page.request.get('/api/session')).json()).toMatchObject({ signedIn: true });
});
