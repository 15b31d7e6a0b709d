import type { Page } from '@playwright/test';
import type { ChainAlarm } from '../shared/audit.ts';
import { raiseChainAlarm } from '../server/audit/chainMonitor.ts';
import { getAuditChainHead } from '../server/db/audit.ts';
import { withTransaction } from '../server/db/pool.ts';
import { expectAccessible } from './a11y.ts';
import { expect, test } from './fixtures.ts';
import { signInElsewhere, signInWith } from './pages/SignInPage.ts';
import { shotPath } from './screenshots.ts';
import { expireStepUp, watchStepUp } from './stepUp.ts';

async function shoot(page: Page, name: string): Promise<void> {
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
    await page.screenshot({ path: shotPath(`${name}-${width}.png`), fullPage: true });
    // Narrow screens stack; nothing scrolls sideways.
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

test('an auditor sees a chain break on the audit page and acknowledges it with a signed statement', async ({ page, browser, argus, key }) => {
  // Two sign-ins, accessibility checks and screenshots at two widths.
  test.setTimeout(60_000);
  const statement = 'Event reviewed with the DBA on call: a manual INSERT during the incident of 6 Dec (ticket SEC-42).';
  let alarm!: ChainAlarm;
  const auditor = await argus.account('auditor');
  await signInWith(page, key, auditor, '/audit');
  const banner = page.getByTestId('chain-alarm');
  await expect(page.getByRole('heading', { name: 'Chain status' })).toBeVisible();
  await expect(page.getByTestId('connection-state')).toHaveText('Connected');
  await expect(banner).toHaveCount(0);

  await test.step('the checkpoint timer finds a break, and the open page shows it at once', async () => {
    // Raised as the timer raises one (alarm row and critical event), over an intact chain: a
    // real break would stay in the verification result of every later browser test.
    alarm = await withTransaction(argus.pool, async (client) => {
      const head = await getAuditChainHead(client);
      return (await raiseChainAlarm(client, { intact: false, brokenSeq: head!.seq, reason: 'hash_mismatch' }, head)).alarm;
    });
    // Its critical event reaches the page over the live feed.
    await expect(banner).toBeVisible();
  });

  await test.step('the audit page shows it above everything, and admins see it too', async () => {
    await expect(banner.getByRole('heading', { level: 2 })).toHaveText(`Audit chain broken at event #${alarm.brokenSeq}: checkpoints stopped`);
    await expect(banner).toContainText('hash mismatch');
    await expect(banner).toContainText(`#${alarm.headSeq}`);
    await expect(banner.getByRole('button', { name: 'Acknowledge break…' })).toBeVisible();
    // The banner comes before the chain status and the events.
    const bannerBox = (await banner.boundingBox())!;
    const chainBox = (await page.getByRole('heading', { name: 'Chain status' }).boundingBox())!;
    expect(bannerBox.y + bannerBox.height).toBeLessThanOrEqual(chainBox.y);
    await expectAccessible(page, 'audit page with a chain break');
    await shoot(page, 'audit-chain-alarm');

    const adminPage = await signInElsewhere(browser, argus.url, await argus.account('admin'), '/audit');
    try {
      const adminBanner = adminPage.getByTestId('chain-alarm');
      await expect(adminBanner).toBeVisible();
      await expect(adminBanner).toContainText('Only an auditor can acknowledge it.');
      await expect(adminBanner.getByRole('button')).toHaveCount(0);
    } finally {
      await adminPage.context().close();
    }
  });

  const dialog = page.getByRole('dialog', { name: `Acknowledge the break at event #${alarm.brokenSeq}` });
  const field = dialog.getByRole('textbox', { name: 'Statement' });

  await test.step('the dialog opens from the keyboard and says what is missing', async () => {
    await banner.getByRole('button', { name: 'Acknowledge break…' }).focus();
    await page.keyboard.press('Enter');
    await expect(dialog).toBeVisible();
    await expect(field).toBeFocused();
    await field.fill('   fine   ');
    await dialog.getByRole('button', { name: 'Sign and acknowledge' }).click();
    await expect(dialog.getByText('Say what happened and what was done, in at least 10 characters.')).toBeVisible();
    await expect(field).toHaveAttribute('aria-invalid', 'true');
    await expect(field).toBeFocused();
    await expectAccessible(page, 'acknowledgement dialog with a too-short statement');
    await shoot(page, 'audit-chain-alarm-dialog');
    // Escape closes it and acknowledges nothing.
    await page.keyboard.press('Escape');
    await expect(dialog).toBeHidden();
    await expect(banner).toBeVisible();
  });

  await test.step('a key touch confirms it; Argus signs the statement and the banner goes', async () => {
    await expireStepUp(page);
    const watch = await watchStepUp(page, /\/api\/audit\/chain-alarms\//);
    await banner.getByRole('button', { name: 'Acknowledge break…' }).click();
    await expect(field).toHaveValue('');
    await field.fill(statement);
    await field.press('Tab');
    await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await expect(dialog).toBeHidden();
    await expect(banner).toBeHidden();
    expect(await watch.promptSeen()).toBe(true);
    expect(watch.calls()).toEqual([
      'POST /api/audit/chain-alarms/' + alarm.id + '/acknowledge 403',
      'POST /api/account/step-up/options 200',
      'POST /api/account/step-up 200',
      'POST /api/audit/chain-alarms/' + alarm.id + '/acknowledge 200',
    ]);
    await expect(page.getByRole('heading', { name: 'Chain status' })).toBeFocused();
    const note = page.getByTestId('chain-acknowledged');
    await expect(note).toContainText(`The break at event #${alarm.brokenSeq} (hash mismatch) was acknowledged by ${auditor.username}`);
    await expect(note).toContainText(statement);
    await shoot(page, 'audit-chain-acknowledged');
  });

  await test.step('the acknowledgement is in the log', async () => {
    const { rows } = await argus.pool.query<{ actor_username: string; details: { statement: string; signature: string } }>(
      `SELECT actor_username, details FROM audit_event WHERE action = 'audit.chain_break_acknowledged' AND target_id = $1`,
      [String(alarm.id)],
    );
    expect(rows).toEqual([{ actor_username: auditor.username, details: expect.objectContaining({ statement, signature: expect.any(String) }) }]);
  });
});
