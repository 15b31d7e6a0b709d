import { readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { parse as parseCsv } from 'csv-parse/sync';
import type { AuditEventView, ExportManifest } from '../shared/audit.ts';
import { recordAuditEvent } from '../server/audit/record.ts';
import { withTransaction, type Pool } from '../server/db/pool.ts';
import type { Page } from '@playwright/test';
import { expect, test, type ArgusFixture } from './fixtures.ts';
import { AuditPage } from './pages/AuditPage.ts';
import { signInWith } from './pages/SignInPage.ts';
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
  await expect(audit.events.locator('tr.event')).toHaveCount(count);
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
    await expect(audit.events.locator('tr.event')).toHaveCount(1);
    await expect(audit.row(suspended.seq)).toHaveClass(/alert/);
  });

  await test.step('open the event', async () => {
    await audit.row(suspended.seq).getByRole('button', { name: `#${suspended.seq}` }).click();
    const facts = page.getByRole('definition');
    await expect(page.getByText(suspended.hash)).toBeVisible();
    await expect(page.getByText('counter went backwards')).toBeVisible();
    await expect(facts.filter({ hasText: '198.51.100.9' })).toBeVisible();
    // Auditors see ids as text, not links into the admin console.
    await expect(page.getByRole('link', { name: marker })).toHaveCount(0);
  });

  await test.step('clear the search', async () => {
    await audit.search.getByRole('button', { name: 'Clear' }).click();
    await expect(audit.events.locator('tr.event').nth(2)).toBeVisible();
  });
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
    expect(download.suggestedFilename()).toMatch(/^argus-audit-.+\.csv$/);
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
    const manifest = JSON.parse(readFileSync((await manifestDownload.path())!, 'utf8')) as ExportManifest;
    expect(manifest).toMatchObject({ format: 'jsonl', eventCount: 3, filter: { target: marker }, exporter: { username: auditor.username } });
    await expect(audit.exportStatus).toContainText(manifest.fileSha256);
  });

  await test.step('both exports are in the audit log', async () => {
    const response = await page.request.get(`/api/audit/events?action=audit.export&actor=${auditor.username}`);
    expect(((await response.json()) as { events: unknown[] }).events).toHaveLength(2);
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
    await expect(audit.exportStatus).toContainText('5 events');
    const picked = await pickedFile(page);
    expect(picked.name).toMatch(/^argus-audit-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.jsonl$/);
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
    await expect(audit.events.locator('tr.event')).toHaveCount(5);
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
  await audit.row(event.seq).getByRole('button', { name: `#${event.seq}` }).click();
  await expect(page.getByRole('link', { name: marker })).toHaveAttribute('href', `/admin/users?q=${marker}`);
  const fingerprint = (await page.request.get('/api/audit/signing-key').then((r) => r.json())) as { fingerprint: string };
  await expect(page.getByTestId('signing-key-fingerprint')).toHaveText(fingerprint.fingerprint);
  await page.getByRole('button', { name: 'Verify chain' }).click();
  await expect(audit.chainStatus).toContainText(/Intact/);
});
