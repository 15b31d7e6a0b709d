import { randomBytes } from 'node:crypto';
import { test, expect } from './fixtures.ts';
import { signInWith } from './pages/SignInPage.ts';
import { shotPath } from './screenshots.ts';

test('the overview shows where encryption at rest of restricted conversations stands', async ({ page, argus, key }) => {
  const admin = await argus.account('admin');
  await test.step('a rotation half done: data keys under the current KEK and under an older one', async () => {
    // Rows the panel counts (their ciphertexts are never opened here), owned by this admin alone.
    // "local" is the KEK id of the key the e2e server generates for itself (no DATA_ENCRYPTION_KEYS).
    for (const kekId of ['local', 'local', 'local', 'k0-retired']) {
      await argus.pool.query(
        `INSERT INTO conversation (user_id, title, title_ct, model_id, restricted_models, wrapped_dek, kek_id)
         VALUES ($1, NULL, $2, 'demo-restricted', '{demo-restricted}', $3, $4)`,
        [admin.userId, randomBytes(40), randomBytes(61), kekId],
      );
    }
  });
  await signInWith(page, key, admin, '/admin/overview');
  const panel = page.getByRole('region', { name: 'Restricted conversations at rest' });
  await expect(panel).toBeVisible();
  await expect(panel.getByText('In progress')).toBeVisible();
  await expect(panel.getByRole('list', { name: 'Data keys per key-encryption key' }).getByRole('listitem')).toHaveCount(2);
  // The current key first; a key no longer configured is named as missing, with what to do.
  await expect(panel.getByRole('listitem').first()).toContainText('local');
  await expect(panel.getByText('missing', { exact: true })).toBeVisible();
  await expect(panel.getByText(/cannot be read: add that key back/)).toBeVisible();
  await expect(panel.getByText('rotate-data-key')).toBeVisible();
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    await panel.scrollIntoViewIfNeeded();
    // No sideways scrolling on a narrow screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await panel.screenshot({ path: shotPath(`admin-data-keys-${width}.png`) });
  }
});
