import { readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { parse as parseCsv } from 'csv-parse/sync';
import type { AuditEventView, ExportManifest } from '../shared/audit.ts';
import { databaseEvents } from '../server/audit/presence/databaseEvents.ts';
import { verifyPresence } from '../server/audit/presence/verifyPresence.ts';
import { recordAuditEvent } from '../server/audit/record.ts';
import { withTransaction, type Pool } from '../server/db/pool.ts';
import type { Page } from '@playwright/test';
import { expectAccessible } from './a11y.ts';
import { expect, test, type ArgusFixture } from './fixtures.ts';
import { AuditPage } from './pages/AuditPage.ts';
import { EnrollPage } from './pages/EnrollPage.ts';
import { signInElsewhere, signInWith } from './pages/SignInPage.ts';
import type { VirtualAuthenticator } from './virtualAuthenticator.ts';

/** Records an event the way a server change would, and returns it. */
function record(pool: Pool, input: Parameters<typeof recordAuditEvent>[2]): Promise<AuditEventView> {
  return withTransaction(pool, (client) => recordAuditEvent(client, { actor: null, ip: '198.51.100.9', userAgent: 'e2e' }, input));
}

/** `count` events about one new target, and an auditor signed in to the audit page filtered to it. */
async function auditorWithMarkedEvents(page: Page, argus: ArgusFixture, key: VirtualAuthenticator, count: number) {
  const auditor = await argus.account('auditor');
  const marker = `e-${randomBytes(4).toString('hex')}`;
  for (let i = 0; i < count; i += 1) await record(argus.pool, { action: 'user.disabled', outcome: 'success', target: { type: 'user', id: marker }, details: { i } });
  await signInWith(page, key, auditor, `/audit?target=${marker}`);
  const audit = new AuditPage(page);
  await expect(audit.rows).toHaveCount(count);
  return { auditor, marker, audit };
}

/** A browser without the File System Access API's save picker (Firefox, Safari): exports end as downloads. */
async function withoutFilePicker(page: Page): Promise<void> {
  await page.addInitScript(() => Object.defineProperty(window, 'showSaveFilePicker', { value: undefined, configurable: true }));
}

/**
 * The save picker, answered as a user would: "picking" a file in the origin-private file system,
 * a real FileSystemFileHandle the export is streamed into. `cancel` closes the picker instead.
 */
async function withFilePicker(page: Page, { cancel = false } = {}): Promise<void> {
  await page.addInitScript((cancelled) => {
    const picks: string[] = [];
    (window as unknown as { e2ePicks: string[] }).e2ePicks = picks;
    Object.defineProperty(window, 'showSaveFilePicker', {
      configurable: true,
      value: async ({ suggestedName }: { suggestedName: string }) => {
        picks.push(suggestedName);
        if (cancelled) throw new DOMException('The user aborted a request.', 'AbortError');
        const root = await navigator.storage.getDirectory();
        return root.getFileHandle(suggestedName, { create: true });
      },
    });
  }, cancel);
}

/** What the page's picked file holds, read back from the origin-private file system. */
async function pickedFile(page: Page): Promise<{ name: string; text: string }> {
  return page.evaluate(async () => {
    const name = (window as unknown as { e2ePicks: string[] }).e2ePicks.at(-1)!;
    const file = await (await (await navigator.storage.getDirectory()).getFileHandle(name)).getFile();
    return { name, text: await file.text() };
  });
}

test('an auditor searches the log by filters and opens an event to see every field', async ({ page, argus, key }) => {
  const auditor = await argus.account('auditor');
  const marker = `k-${randomBytes(4).toString('hex')}`;
  const suspended = await record(argus.pool, { action: 'key.suspended', outcome: 'success', target: { type: 'key', id: marker }, details: { why: 'counter went backwards' } });
  await record(argus.pool, { action: 'key.renamed', outcome: 'success', target: { type: 'key', id: marker } });
  await signInWith(page, key, auditor, '/audit');
  const audit = new AuditPage(page);

  await test.step('filter by target and severity', async () => {
    await audit.searchFor(async (form) => {
      await form.getByLabel('Target').fill(marker);
      await form.getByLabel('Severity').selectOption('critical');
    });
    await expect(page).toHaveURL(new RegExp(`target=${marker}`));
    await expect(audit.rows).toHaveCount(1);
    await expect(audit.count).toHaveText('1 event');
    await expect(audit.row(suspended.seq)).toHaveClass(/alert/);
    await expect(audit.cell(suspended.seq, 'Action')).toHaveText('Clone detected: key suspended');
  });

  await test.step('open the event in the drawer: every field', async () => {
    const drawer = await audit.open(suspended.seq);
    await expect(drawer.getByRole('heading', { name: 'Clone detected: key suspended' })).toBeVisible();
    for (const text of [suspended.hash, suspended.prevHash, suspended.time, 'key.suspended', 'counter went backwards', '198.51.100.9', 'e2e', marker]) {
      await expect(drawer.getByText(text, { exact: false }).first()).toBeVisible();
    }
    await expectAccessible(page, 'audit log, an event open in the drawer');
    // Auditors see ids as text, not links into the admin console.
    await expect(drawer.getByRole('link', { name: marker })).toHaveCount(0);
    await page.keyboard.press('Escape');
    await expect(drawer).toBeHidden();
  });

  await test.step('clear the search', async () => {
    await audit.search.getByRole('button', { name: 'Clear' }).click();
    await expect(audit.rows.nth(2)).toBeVisible();
  });
});

test('one line per event: when, who, what, to whom by name, with the exact time and the id on hover, and a count', async ({ page, argus, key }) => {
  const auditor = await argus.account('auditor');
  const subject = await argus.account('user');
  const marker = randomBytes(4).toString('hex');
  const about = { type: 'user', id: subject.userId };
  const events: AuditEventView[] = [];
  for (let i = 0; i < 24; i += 1) events.push(await record(argus.pool, { action: 'user.role_changed', outcome: 'success', target: about, details: { marker, i } }));
  const last = events.at(-1)!;
  await page.setViewportSize({ width: 1280, height: 800 });
  await signInWith(page, key, auditor, `/audit?target=${subject.userId}&action=user.role_changed`);
  const audit = new AuditPage(page);
  await expect(audit.rows).toHaveCount(24);
  await expect(audit.count).toHaveText('24 events');

  await test.step('names before ids, words before codes', async () => {
    await expect(audit.cell(last.seq, 'Target')).toHaveText(`user${subject.username}`);
    await expect(audit.cell(last.seq, 'Target')).toHaveAttribute('title', `user ${subject.userId}`);
    await expect(audit.cell(last.seq, 'Action')).toHaveText('Role changed');
    await expect(audit.cell(last.seq, 'Time').locator('time')).toHaveText('just now');
    const exact = await audit.cell(last.seq, 'Time').locator('time').getAttribute('title');
    expect(exact).toMatch(new RegExp(String(new Date(last.time).getFullYear())));
  });

  await test.step('every row is one line, and 20 fit on a 1280×800 screen', async () => {
    const heights = await audit.rows.evaluateAll((rows) => rows.map((row) => row.getBoundingClientRect().height));
    expect(Math.max(...heights)).toBeLessThanOrEqual(38);
    expect(Math.max(...heights) - Math.min(...heights)).toBeLessThanOrEqual(1);
    await audit.events.evaluate((table) => window.scrollTo(0, table.getBoundingClientRect().top + window.scrollY));
    const visible = await audit.rows.evaluateAll((rows) => rows.filter((row) => row.getBoundingClientRect().bottom <= window.innerHeight).length);
    expect(visible).toBeGreaterThanOrEqual(20);
  });

  await test.step('the filters sit in aligned rows, and Live tail on one line', async () => {
    const labels = await audit.search.locator('label').evaluateAll((all) => all.map((label) => Math.round(label.getBoundingClientRect().top)));
    // Every label shares its row's top with the others: at most two rows of filters here.
    expect(new Set(labels).size).toBeLessThanOrEqual(2);
    const toggle = await page.locator('label.toggle').boundingBox();
    expect(toggle!.height).toBeLessThan(30);
  });
});

test('the drawer works from the keyboard and gives the focus back to the row', async ({ page, argus, key }) => {
  const { audit } = await auditorWithMarkedEvents(page, argus, key, 3);
  const first = audit.rows.first();
  const second = audit.rows.nth(1);

  await test.step('arrow keys move between rows; Enter opens, Escape closes', async () => {
    await first.focus();
    await page.keyboard.press('ArrowDown');
    await expect(second).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(audit.drawer).toBeVisible();
    await expect(audit.drawer.getByRole('heading', { name: 'User disabled' })).toBeVisible();
    await page.keyboard.press('Escape');
    await expect(audit.drawer).toBeHidden();
    await expect(second).toBeFocused();
  });

  await test.step('the close button returns the focus too', async () => {
    await page.keyboard.press('Enter');
    await audit.drawer.getByRole('button', { name: 'Close event details' }).click();
    await expect(audit.drawer).toBeHidden();
    await expect(second).toBeFocused();
  });
});

test('no sideways scrolling on a phone, a tablet or a laptop; events stack on narrow screens and the drawer fills a phone', async ({ page, argus, key }) => {
  const { audit } = await auditorWithMarkedEvents(page, argus, key, 3);
  for (const viewport of [
    { width: 390, height: 844 },
    { width: 768, height: 1024 },
    { width: 1280, height: 800 },
  ]) {
    await test.step(`${viewport.width}×${viewport.height}`, async () => {
      await page.setViewportSize(viewport);
      await expect(audit.rows.first()).toBeVisible();
      expect(await audit.scrollsSideways()).toBe(false);
      const row = (await audit.rows.first().boundingBox())!;
      expect(row.x + row.width).toBeLessThanOrEqual(viewport.width);
      const seq = Number(await audit.rows.first().getAttribute('data-seq'));
      const drawer = (await (await audit.open(seq)).boundingBox())!;
      if (viewport.width < 720) expect(drawer.width).toBeGreaterThanOrEqual(viewport.width - 1);
      // Wider screens: a drawer on the right, the list still in sight beside it.
      else expect([Math.round(drawer.x + drawer.width), drawer.x > 0]).toEqual([viewport.width, true]);
      expect(await audit.scrollsSideways()).toBe(false);
      await page.keyboard.press('Escape');
      await expect(audit.drawer).toBeHidden();
    });
  }
});

test('new events appear live, high and critical ones highlighted', async ({ page, argus, key }) => {
  const auditor = await argus.account('auditor');
  await signInWith(page, key, auditor, '/audit');
  const audit = new AuditPage(page);
  await expect(audit.events).toBeVisible();
  // Live events arrive over the page's WebSocket: wait until it is open.
  await expect(page.getByTestId('connection-state')).toHaveText('Connected');
  const critical = await record(argus.pool, { action: 'key.suspended', outcome: 'success', target: { type: 'key', id: 'live-key' } });
  await expect(audit.row(critical.seq)).toBeVisible();
  await expect(audit.row(critical.seq)).toHaveClass(/alert/);
  await expect(audit.liveCount).toContainText('high or critical');
  const quiet = await record(argus.pool, { action: 'grant.expired', outcome: 'success' });
  await expect(audit.row(quiet.seq)).toBeVisible();
  await expect(audit.row(quiet.seq)).not.toHaveClass(/alert/);
});

test('an auditor exports a filtered range as CSV and JSON Lines, with progress and a signed manifest (a browser without a file picker)', async ({ page, argus, key }) => {
  await withoutFilePicker(page);
  const { auditor, marker, audit } = await auditorWithMarkedEvents(page, argus, key, 3);

  await test.step('CSV', async () => {
    await audit.exportForm.getByLabel('Format').selectOption('csv');
    const [download] = await Promise.all([page.waitForEvent('download'), audit.exportForm.getByRole('button', { name: 'Export' }).click()]);
    // Named by the dates it covers: no start, so from the beginning to today.
    expect(download.suggestedFilename()).toBe(`argus-audit-all-to-${new Date().toISOString().slice(0, 10)}.csv`);
    const rows = parseCsv(readFileSync((await download.path())!), { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((row) => row.target_id)).toEqual([marker, marker, marker]);
    await expect(audit.exportStatus).toContainText('3 events');
  });

  await test.step('JSON Lines and its manifest', async () => {
    await audit.exportForm.getByLabel('Format').selectOption('jsonl');
    const [download] = await Promise.all([page.waitForEvent('download'), audit.exportForm.getByRole('button', { name: 'Export' }).click()]);
    const lines = readFileSync((await download.path())!, 'utf8').split('\n').filter(Boolean);
    expect(lines.map((line) => (JSON.parse(line) as AuditEventView).targetId)).toEqual([marker, marker, marker]);
    const [manifestDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download signed manifest' }).click()]);
    expect(manifestDownload.suggestedFilename()).toBe(`${download.suggestedFilename()}.manifest.json`);
    const manifest = JSON.parse(readFileSync((await manifestDownload.path())!, 'utf8')) as ExportManifest;
    expect(manifest).toMatchObject({ format: 'jsonl', eventCount: 3, filter: { target: marker }, exporter: { username: auditor.username } });
    await expect(audit.exportStatus).toContainText(manifest.fileSha256);
  });

  await test.step('both exports are in the audit log', async () => {
    const response = await page.request.get(`/api/audit/events?action=audit.export&actor=${auditor.username}`);
    expect(((await response.json()) as { events: unknown[] }).events).toHaveLength(2);
  });

  await test.step('an export of a time range is named by its first and last day', async () => {
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    // `to` is exclusive: up to tomorrow's midnight is up to today.
    await audit.goto(`?target=${marker}&from=${day(-1)}T00:00:00.000Z&to=${day(1)}T00:00:00.000Z`);
    await expect(audit.rows).toHaveCount(3);
    await audit.exportForm.getByLabel('Format').selectOption('csv');
    const [download] = await Promise.all([page.waitForEvent('download'), audit.exportForm.getByRole('button', { name: 'Export' }).click()]);
    expect(download.suggestedFilename()).toBe(`argus-audit-${day(-1)}_to_${day(0)}.csv`);
  });
});

test('where the browser has a file picker, an export streams into the file the user picks, and closing the picker cancels it', async ({ page, argus, key }) => {
  await withFilePicker(page);
  const { auditor, marker, audit } = await auditorWithMarkedEvents(page, argus, key, 5);

  await test.step('the export is written into the picked file, not offered as a download', async () => {
    const downloads: string[] = [];
    page.on('download', (download) => downloads.push(download.suggestedFilename()));
    await audit.exportForm.getByLabel('Format').selectOption('jsonl');
    await audit.exportForm.getByRole('button', { name: 'Export' }).click();
    // "Saved" only once the file is closed: the browser puts a picked file's bytes in place on
    // close, so before that (the progress already says 5 events) it may read empty.
    await expect(audit.exportStatus).toContainText('Saved');
    await expect(audit.exportStatus).toContainText('5 events');
    const picked = await pickedFile(page);
    expect(picked.name).toBe(`argus-audit-all-to-${new Date().toISOString().slice(0, 10)}.jsonl`);
    await expect(audit.exportStatus).toContainText(picked.name);
    const lines = picked.text.split('\n').filter(Boolean);
    expect(lines.map((line) => (JSON.parse(line) as AuditEventView).targetId)).toEqual(Array(5).fill(marker));
    expect(downloads).toEqual([]);
    // The manifest signs exactly the bytes in the picked file.
    const [manifestDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download signed manifest' }).click()]);
    const manifest = JSON.parse(readFileSync((await manifestDownload.path())!, 'utf8')) as ExportManifest;
    expect(manifest.fileSha256).toBe(createHash('sha256').update(picked.text).digest('hex'));
  });

  await test.step('closing the picker exports nothing', async () => {
    await withFilePicker(page, { cancel: true });
    await page.reload();
    await expect(audit.rows).toHaveCount(5);
    await audit.exportForm.getByRole('button', { name: 'Export' }).click();
    await expect.poll(() => page.evaluate(() => (window as unknown as { e2ePicks: string[] }).e2ePicks.length)).toBe(1);
    await expect(audit.exportStatus).toBeEmpty();
    await expect(audit.exportForm.getByRole('button', { name: 'Export' })).toBeEnabled();
    const response = await page.request.get(`/api/audit/events?action=audit.export&actor=${auditor.username}`);
    expect(((await response.json()) as { events: unknown[] }).events).toHaveLength(1);
  });
});

test('an admin follows an event to the user it concerns, and sees the signing key', async ({ page, argus, key }) => {
  const admin = await argus.account('admin');
  const marker = '6f1c1c52-2a5b-4e4f-9a53-2f5d0b8b1e11';
  const event = await record(argus.pool, { action: 'user.enabled', outcome: 'success', target: { type: 'user', id: marker } });
  await signInWith(page, key, admin, `/audit?target=${marker}`);
  const audit = new AuditPage(page);
  const drawer = await audit.open(event.seq);
  await expect(drawer.getByRole('link', { name: marker })).toHaveAttribute('href', `/admin/users?q=${marker}`);
  await page.keyboard.press('Escape');
  const fingerprint = (await page.request.get('/api/audit/signing-key').then((r) => r.json())) as { fingerprint: string };
  await expect(page.getByTestId('signing-key-fingerprint')).toHaveText(fingerprint.fingerprint);
  await page.getByRole('button', { name: 'Verify chain' }).click();
  await expect(audit.chainStatus).toContainText(/Intact/);
});

test('the audit page shows where the log streams: each sink, its state and how far behind it is', async ({ page, argus, key }) => {
  const auditor = await argus.account('auditor');
  await signInWith(page, key, auditor, '/audit');
  const sinks = page.getByRole('region', { name: 'SIEM streaming' });
  // The browser suite's node appends its signed checkpoints to a file (e2e/global-setup.ts).
  const sink = sinks.getByTestId('audit-sink');
  await expect(sink).toHaveCount(1);
  await expect(sink.getByRole('cell').first()).toHaveText('Checkpoint file');
  await expect(sink).toContainText(/checkpoints\.jsonl/);
  await expect(sink).toContainText(/Delivering|Retrying|Down/);
  await expectAccessible(page, 'audit page with a SIEM sink');
});

test("a grant made in Chromium shows 'Proof: verified' with the key that signed it, and so does what ran under it", async ({ page, browser, baseURL, argus, key }) => {
  // The whole round trip in the browser: Chromium's virtual authenticator makes the key at
  // enrollment and signs the unlock; Argus recorded both, and re-verifies the signature.
  const invited = await argus.invite('user');
  const enroll = new EnrollPage(page);
  await enroll.goto(invited.enrollmentUrl);
  expect(await enroll.setPassword('a heron on one leg')).toBe(200);
  expect(await enroll.registerKey('Proof key')).toBe(200);
  expect(await key.credentialCount()).toBe(1);
  await page.goto('/chat');
  const [unlocked] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/verify-key-ownership') && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Unlock restricted models', exact: true }).first().click(),
  ]);
  expect(unlocked.status()).toBe(200);
  const grantId = ((await unlocked.json()) as { grant: { id: string } }).grant.id;
  const { rows } = await argus.pool.query<{ seq: string; credential_id: string }>(
    "SELECT seq, details->'assertion'->>'credentialId' AS credential_id FROM audit_event WHERE action = 'grant.issued' AND target_id = $1",
    [grantId],
  );
  const issuedSeq = Number(rows[0]!.seq);
  const credentialId = rows[0]!.credential_id;
  // A restricted answer under the grant: its model.access names the grant.
  const answer = await page.request.post('/api/chat/stream', {
    headers: { origin: new URL(baseURL!).origin },
    data: { model: 'demo-restricted', messages: [{ role: 'user', content: 'hello' }] },
  });
  expect(answer.status()).toBe(200);
  const uses = await argus.pool.query<{ seq: string }>("SELECT seq FROM audit_event WHERE action = 'model.access' AND target_id = $1", [grantId]);
  const use = { seq: Number(uses.rows[0]!.seq) };

  const auditor = await signInElsewhere(browser, baseURL!, await argus.account('auditor'), `/audit?target=${grantId}`);
  const audit = new AuditPage(auditor);
  await expect(audit.row(issuedSeq)).toBeVisible();

  for (const viewport of [
    { width: 390, height: 844 },
    { width: 1280, height: 800 },
  ]) {
    await test.step(`the grant's drawer at ${viewport.width} px`, async () => {
      await auditor.setViewportSize(viewport);
      const drawer = await audit.open(issuedSeq);
      await expect(drawer.getByTestId('grant-proof')).toHaveText('Proof: verified');
      await expect(drawer.getByText(`Signed by key ${credentialId.slice(0, 16)}…`)).toBeVisible();
      await expect(drawer.locator(`code[title="${credentialId}"]`)).toBeVisible();
      expect(await audit.scrollsSideways()).toBe(false);
      await auditor.keyboard.press('Escape');
      await expect(audit.drawer).toBeHidden();
    });
  }

  await test.step('the restricted use proves through its grant', async () => {
    const drawer = await audit.open(use.seq);
    await expect(drawer.getByTestId('grant-proof')).toHaveText('Proof: verified');
    await expect(drawer).toContainText(`(grant event #${issuedSeq})`);
    await expectAccessible(auditor, 'audit log, a grant proof open in the drawer');
  });

  await test.step('and offline: the presence verifier proves the grant and its use from the log alone', async () => {
    const report = await verifyPresence(databaseEvents(argus.pool));
    const mine = report.problems.filter((problem) => problem.grantId === grantId || [issuedSeq, use.seq].includes(problem.seq));
    expect(mine).toEqual([]);
    expect(report.unprovenUses).not.toContain(use.seq);
    expect(report.grants.proven).toBeGreaterThanOrEqual(1);
  });
  await auditor.context().close();
});
