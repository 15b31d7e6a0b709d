import type { Page } from '@playwright/test';
import { test, expect } from './fixtures.ts';
import { signInWith } from './pages/SignInPage.ts';

/** Records every CSP violation the page reports, from before its first script runs. */
async function watchViolations(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
  });
  return () => page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
}

test('the SPA runs under the strict CSP on every page, and the CSP blocks inline script', async ({ page, argus, key, consoleErrors }) => {
  // Only the inline script injected below; the page's own violations are checked before it.
  // Chromium words it "Refused to execute inline script because it violates …" or "Executing inline script violates …", by version.
  consoleErrors.allow(/inline script.* violates the following Content Security Policy directive 'script-src/, 'the test injects an inline script on purpose to show the CSP blocks it');
  const violations = await watchViolations(page);
  const admin = await argus.account('admin');

  await page.goto('/signin');
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await signInWith(page, key, admin, '/');

  await test.step('chat with Markdown and a code block', async () => {
    await page.goto('/chat');
    await page.getByLabel('Message').fill('Show me `code`');
    await page.getByLabel('Message').press('Enter');
    await expect(page.getByRole('log', { name: 'Conversation' })).toContainText('Until then, this reply streams', { timeout: 10_000 });
  });
  for (const [path, heading] of [
    ['/account', 'Account'],
    ['/admin', 'Admin'],
    ['/audit', 'Audit log'],
  ] as const) {
    await test.step(path, async () => {
      await page.goto(path);
      await expect(page.getByRole('heading', { name: new RegExp(heading), level: 1 })).toBeVisible();
    });
  }
  expect(await violations()).toEqual([]);

  await test.step('an inline script put into the page does not run', async () => {
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.inlineRan = true';
      document.body.append(script);
    });
    await expect.poll(violations).toContainEqual(expect.stringMatching(/^script-src/));
    expect(await page.evaluate(() => (window as unknown as { inlineRan?: boolean }).inlineRan)).toBeUndefined();
  });
});
