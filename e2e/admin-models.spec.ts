import type { Page } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import { setModelEnabled } from '../server/db/models.ts';
import { FakeOpenAI } from '../server/test/fakeOpenAI.ts';
import { test, expect } from './fixtures.ts';
import { signInWith } from './pages/SignInPage.ts';
import { expireStepUp, watchStepUp } from './stepUp.ts';

const catalog = (page: Page) => page.getByRole('region', { name: 'Model catalog' });
const modelRow = (page: Page, name: string | RegExp) => catalog(page).getByRole('row').filter({ has: page.getByRole('rowheader', { name }) });

test('an admin adds a model after a step-up touch, tests its connection, edits and disables it', async ({ page, argus, key, consoleErrors }) => {
  consoleErrors.allowResponse(400, /\/api\/admin\/models$/, 'the last step adds a model without a base URL on purpose (VALIDATION_FAILED)');
  const fake = await FakeOpenAI.start();
  const id = `e2e-llama-${randomBytes(3).toString('hex')}`;
  // Unique per run: the e2e database is shared by every test and every repeat.
  const name = `E2E Llama ${id.slice(-6)}`;
  try {
    const admin = await argus.account('admin');
    await signInWith(page, key, admin, '/admin');
    await page.getByRole('navigation', { name: 'Admin console' }).getByRole('link', { name: 'Models' }).click();
    await expect(page.getByRole('heading', { name: 'Model catalog', level: 2 })).toBeVisible();
    await expect(modelRow(page, /Demo Standard/)).toBeVisible();

    await test.step('adding asks for a touch of the key, then the add goes through', async () => {
      await expireStepUp(page);
      const stepUp = await watchStepUp(page, /^\/api\/admin\/models$/);
      const form = page.getByRole('form', { name: 'Add model' });
      await form.getByLabel('Model id').fill(id);
      await form.getByLabel('Display name').fill(name);
      await form.getByLabel('Provider').selectOption('openai');
      await form.getByLabel('Base URL').fill(fake.baseUrl);
      await form.getByLabel('Upstream model name').fill('llama3.2');
      await form.getByLabel('Tier').selectOption('restricted');
      await form.getByLabel('Grant lifetime (seconds)').fill('120');
      await form.getByLabel(/Require user verification/).check();
      await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/api/admin/models') && r.request().method() === 'POST' && r.status() === 201),
        form.getByRole('button', { name: 'Add model' }).click(),
      ]);
      expect(stepUp.calls()).toEqual([
        'POST /api/admin/models 403',
        'POST /api/account/step-up/options 200',
        'POST /api/account/step-up 200',
        'POST /api/admin/models 201',
      ]);
      expect(await stepUp.promptSeen()).toBe(true);
      const row = modelRow(page, name);
      await expect(row).toContainText('Restricted');
      await expect(row).toContainText('Grants last 2 minutes; PIN or fingerprint');
      await expect(row).toContainText(fake.baseUrl);
      await expect(form.getByLabel('Model id')).toHaveValue('');
    });

    await test.step('test connection reports the latency, and a failing server in plain words', async () => {
      const row = modelRow(page, name);
      await row.getByRole('button', { name: 'Test connection' }).click();
      await expect(catalog(page).getByRole('status').filter({ hasText: /Connection OK in \d+ ms/ })).toBeVisible();
      fake.mode = 'error500';
      await row.getByRole('button', { name: 'Test connection' }).click();
      await expect(catalog(page).getByRole('alert').filter({ hasText: 'answered with an error (HTTP 500)' })).toBeVisible();
      await expect(catalog(page).getByRole('alert')).toContainText('MODEL_ERROR');
      fake.mode = 'normal';
    });

    await test.step('editing changes only what was changed', async () => {
      const row = modelRow(page, name);
      await row.getByRole('button', { name: 'Edit' }).click();
      const edit = page.getByRole('form', { name: `Edit ${name}` });
      await edit.getByLabel('Display name').fill(`${name} Large`);
      await edit.getByLabel('Max output tokens').fill('2048');
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().includes(`/api/admin/models/${id}`) && r.request().method() === 'PATCH'),
        edit.getByRole('button', { name: 'Save' }).click(),
      ]);
      expect(response.request().postDataJSON()).toEqual({ displayName: `${name} Large`, maxOutputTokens: 2048 });
      await expect(modelRow(page, `${name} Large`)).toBeVisible();
      await expect(edit).toHaveCount(0);
    });

    await test.step('disabling (confirmed) takes the model out of the chat', async () => {
      const row = modelRow(page, `${name} Large`);
      await row.getByRole('button', { name: 'Disable' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Disable' }).click();
      await expect(row).toContainText('Disabled');
      await expect(row.getByRole('button', { name: 'Enable' })).toBeVisible();
      const models = (await (await page.request.get('/api/models')).json()) as { models: Array<{ id: string }> };
      expect(models.models.map((m) => m.id)).not.toContain(id);
    });

    await test.step('bad settings are refused with the field named', async () => {
      const form = page.getByRole('form', { name: 'Add model' });
      await form.getByLabel('Model id').fill(`${id}-nourl`);
      await form.getByLabel('Display name').fill('No URL');
      await form.getByLabel('Provider').selectOption('openai');
      await form.getByRole('button', { name: 'Add model' }).click();
      await expect(page.getByRole('region', { name: 'Add model' }).getByRole('alert')).toContainText('baseUrl');
    });
  } finally {
    // A restricted model left enabled would shorten every later test's grants.
    await setModelEnabled(argus.pool, id, false);
    await fake.stop();
  }
});
