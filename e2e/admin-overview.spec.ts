import { test, expect } from './fixtures.ts';
import { signInWith } from './pages/SignInPage.ts';

test('the overview shows counts and hourly charts from the audit log', async ({ page, argus, key }) => {
  const admin = await argus.account('admin');
  await signInWith(page, key, admin, '/admin/overview');
  await expect(page.getByRole('heading', { name: 'Last 24 hours, hour by hour', level: 2 })).toBeVisible();
  const signIns = page.getByText('Sign-ins (24 h)', { exact: true });
  await expect(signIns).toBeVisible();
  // At least this admin's own sign-in (and the enrollments' ones) happened within the day.
  const count = Number(await page.locator('.stat-cards div').filter({ has: signIns }).getByRole('definition').textContent());
  expect(count).toBeGreaterThan(0);
  const chart = page.getByRole('figure', { name: 'Sign-ins' });
  await expect(chart.getByRole('img')).toHaveAttribute('aria-label', /Sign-ins, last 24 hours\. Signed in: \d+ in all/);
  await chart.getByText('Show as a table').click();
  await expect(chart.getByRole('row')).toHaveCount(25);
});
