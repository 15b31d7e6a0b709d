import type { Page } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DetectorClient, type DetectorState } from '../client/detector/detectorClient.ts';
import { fakeSecurityKey, FakeHidSource } from '../client/detector/hidSource.ts';
import { pair } from '../client/detector/pair.ts';
import { query } from '../server/db/pool.ts';
import { test, expect } from './fixtures.ts';
import { ChatPage } from './pages/ChatPage.ts';
import { signInWith } from './pages/SignInPage.ts';
import { shotPath } from './screenshots.ts';
import { expireStepUp, watchStepUp } from './stepUp.ts';

/**
 * The fallback detector with a real browser: paired from the account page, run in this
 * process against the e2e server with a fake HID source, it locks the SPA when the key that
 * unlocked the models is pulled out.
 */
async function unlock(page: Page): Promise<void> {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/verify-key-ownership') && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Unlock restricted models' }).first().click(),
  ]);
  expect(response.status()).toBe(200);
  expect(((await response.json()) as { grant: { presenceMode: string } }).grant.presenceMode).toBe('detector');
}

test('a paired detector shows online, switches presence to detector mode, and unplugging the key locks the SPA', async ({ page, argus, key }) => {
  const account = await argus.account('user');
  const source = new FakeHidSource([fakeSecurityKey('E2E-SERIAL-1')]);
  const states: DetectorState[] = [];
  let detector: DetectorClient | undefined;
  await signInWith(page, key, account, '/account');

  try {
    await test.step('the account page gives a one-time code and the command that uses it, after a touch of the key', async () => {
      // A detector paired from a stolen session could end the owner's grants: pairing needs a fresh step-up.
      await expireStepUp(page);
      const stepUp = await watchStepUp(page, /^\/api\/detectors\/pairing-codes$/);
      await page.getByRole('button', { name: 'Pair a detector' }).click();
      const shown = page.getByTestId('pairing-code');
      await expect(shown).toBeVisible();
      expect(stepUp.calls()).toEqual([
        'POST /api/detectors/pairing-codes 403',
        'POST /api/account/step-up/options 200',
        'POST /api/account/step-up 200',
        'POST /api/detectors/pairing-codes 201',
      ]);
      expect(await stepUp.promptSeen()).toBe(true);
      await expect(shown).toContainText(`npx argus-detector pair`);
      await expect(shown).toContainText(`--server ${argus.url}`);
      const code = (await shown.locator('.pairing-code').textContent())!.trim();
      expect(code).toMatch(/^[A-Z2-9]{8}$/);
      const configDir = path.join(mkdtempSync(path.join(tmpdir(), 'argus-e2e-detector-')), 'argus-detector');
      const { credentials } = await pair({ code, server: argus.url, configDir, name: 'e2e laptop' });
      detector = new DetectorClient({ credentials, source, timings: { pollMs: 50, backoff: { initialMs: 200, factor: 2, maxMs: 1_000, jitter: 0.3 } }, onState: (s) => states.push(s) });
      await detector.start();
      await expect.poll(() => states.map((s) => s.state).join(',')).toContain('online');
      await page.getByRole('button', { name: 'Done' }).click();
      const row = page.getByRole('row', { name: /e2e laptop/ });
      await expect(row).toContainText('Online');
      await expect(row).toContainText('E2E-SERIAL-1');
    });

    await test.step('the detectors table stacks into cards on a phone and keeps one line a row on a laptop, at 390 and 1280 px', async () => {
      const wide = page.viewportSize()!;
      const row = page.getByRole('region', { name: 'Detectors' }).getByRole('row', { name: /e2e laptop/ });
      for (const width of [390, 1280]) {
        await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
        const name = (await row.getByRole('rowheader').boundingBox())!;
        const status = (await row.getByRole('cell').first().boundingBox())!;
        if (width === 390) {
          // A card: the name on top, each value on a line of its own below it, as wide as the card, named.
          expect(status.y, 'Status under the name').toBeGreaterThanOrEqual(name.y + name.height - 1);
          expect(status.width, 'Status as wide as the name').toBeGreaterThanOrEqual(name.width - 1);
          await expect(row.getByRole('cell').first()).toHaveAttribute('data-label', 'Status');
        } else {
          expect(status.x, 'Status beside the name').toBeGreaterThanOrEqual(name.x + name.width - 1);
        }
        expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), `sideways scroll at ${width} px`).toBeLessThanOrEqual(0);
        await page.getByRole('region', { name: 'Detectors' }).scrollIntoViewIfNeeded();
        await page.screenshot({ path: shotPath(`account-detectors-${width}.png`), fullPage: true });
      }
      await page.setViewportSize(wide);
    });

    await test.step('the presence panel says the detector is online and what it sees', async () => {
      await page.goto('/chat');
      await expect(page.getByTestId('presence-mode')).toContainText('watched by detector');
      // The details are one click away, in the presence chip's popover.
      await new ChatPage(page).presenceChip.click();
      await expect(page.getByTestId('detector-status')).toContainText('Detector online: e2e laptop');
      await expect(page.getByTestId('detector-keys')).toContainText('E2E-SERIAL-1');
    });

    await test.step('unlocking binds the one key it sees; unplugging it locks the SPA at once', async () => {
      await unlock(page);
      await expect(page.getByTestId('grant-countdown')).toBeVisible();
      source.unplug({ vendorId: 0x1050, productId: 0x0407, serialNumber: 'E2E-SERIAL-1' });
      const startedAt = Date.now();
      await expect(page.getByRole('alert').filter({ hasText: 'Your security key was removed' })).toBeVisible({ timeout: 2_000 });
      expect(Date.now() - startedAt).toBeLessThan(2_000);
      await expect(page.getByTestId('grant-countdown')).toHaveCount(0);
      expect(await page.request.get('/api/grants/current').then((r) => r.json())).toEqual({ grant: null });
      await new ChatPage(page).presenceChip.click();
      await expect(page.getByText('It sees no security key right now.')).toBeVisible();
    });

    await test.step("plugging in another user's key says so", async () => {
      const other = await argus.account('user');
      await query(argus.pool, 't', "UPDATE security_key SET hid_serial = 'E2E-FOREIGN' WHERE user_id = $1", [other.userId]);
      source.plug(fakeSecurityKey('E2E-FOREIGN', { productId: 0x0120 }));
      await expect(page.getByRole('alert').filter({ hasText: 'registered to another account' })).toBeVisible();
    });

    await test.step('revoking the detector on the account page disconnects it', async () => {
      await page.goto('/account');
      await page.getByRole('button', { name: 'Revoke e2e laptop' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
      await expect(page.getByText('No detectors paired')).toBeVisible();
      await expect.poll(() => states.at(-1)?.state).toBe('stopped');
    });
  } finally {
    detector?.stop();
  }
});
