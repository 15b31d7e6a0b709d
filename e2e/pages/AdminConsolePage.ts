import { expect, type Locator, type Page, type Response } from '@playwright/test';
import { StepUpDialog } from './StepUpDialog.ts';

/** The admin console: its tabs, and the tables an admin works in. */
export class AdminConsolePage {
  readonly tabs: Locator;
  readonly stepUpPrompt: Locator;
  readonly dialog: Locator;
  /** The step-up dialog, with its Cancel. */
  readonly stepUp: StepUpDialog;

  constructor(readonly page: Page) {
    this.stepUp = new StepUpDialog(page);
    this.tabs = page.getByRole('navigation', { name: 'Admin console' });
    this.stepUpPrompt = page.getByRole('status').filter({ hasText: 'Touch a key you already registered to confirm.' });
    this.dialog = page.getByRole('dialog');
  }

  async open(tab: 'Users' | 'Security keys'): Promise<void> {
    await this.tabs.getByRole('link', { name: tab }).click();
    await expect(this.page.getByRole('heading', { name: tab, level: 2 })).toBeVisible();
  }

  userRow(username: string): Locator {
    return this.page.getByRole('row').filter({ has: this.page.getByRole('rowheader', { name: username, exact: true }) });
  }

  keyRow(nickname: string, owner: string): Locator {
    return this.page
      .getByRole('row')
      .filter({ has: this.page.getByRole('rowheader', { name: nickname, exact: true }) })
      .filter({ has: this.page.getByRole('cell', { name: owner, exact: true }) });
  }

  /** Types a search and presses Enter (no waiting out the typing pause), until the rows are in. */
  async searchUsers(text: string): Promise<void> {
    await this.applyFilter(this.page.getByRole('search', { name: 'Filter users' }).getByLabel('Search'), '/api/admin/users', 'q', text);
  }

  async filterKeysByOwner(username: string): Promise<void> {
    await this.applyFilter(this.page.getByRole('search', { name: 'Filter security keys' }).getByLabel('Owner'), '/api/admin/keys', 'owner', username);
  }

  /** Chooses an option of a filter select, until the rows are in. */
  async selectFilter(label: string, value: string): Promise<void> {
    await this.page.getByLabel(label).selectOption(value);
    await this.rowsSettled();
  }

  private async applyFilter(box: Locator, path: string, param: string, value: string): Promise<void> {
    const loaded = this.page.waitForResponse((r) => {
      const url = new URL(r.url());
      return url.pathname === path && url.searchParams.get(param) === value.trim();
    });
    await box.fill(value);
    await box.press('Enter');
    await loaded;
    await this.rowsSettled();
  }

  /**
   * The table keeps showing the old rows while new ones load (aria-busy on .results): acting
   * on a row then would act on one about to be replaced.
   */
  async rowsSettled(): Promise<void> {
    await expect(this.page.locator('.results')).toHaveAttribute('aria-busy', 'false');
  }

  /**
   * Starts watching for the step-up prompt. The virtual key answers within milliseconds, too
   * fast to catch on screen by polling, so a MutationObserver in the page records whether it
   * was ever shown. Resolves to a function that says whether it was (and stops watching).
   */
  async watchStepUpPrompt(): Promise<() => Promise<boolean>> {
    await this.page.evaluate(() => {
      const seen = { shown: false };
      const observer = new MutationObserver(() => {
        for (const status of document.querySelectorAll('[role="status"]')) {
          if (status.textContent?.includes('Touch a key you already registered to confirm.')) seen.shown = true;
        }
      });
      observer.observe(document.body, { childList: true, subtree: true, characterData: true });
      (window as unknown as { stepUpPrompt: { seen: typeof seen; observer: MutationObserver } }).stepUpPrompt = { seen, observer };
    });
    return () =>
      this.page.evaluate(() => {
        const watch = (window as unknown as { stepUpPrompt: { seen: { shown: boolean }; observer: MutationObserver } }).stepUpPrompt;
        watch.observer.disconnect();
        return watch.seen.shown;
      });
  }

  /**
   * Clicks a row's action and confirms it with the dialog's button of the same name, once the
   * dialog `says` what will happen. Resolves to the answer to `method` on a path that ends with `pathEnd`.
   */
  async confirmRowAction(row: Locator, action: string, options: { says?: string; method: string; pathEnd: string | RegExp }): Promise<Response> {
    await this.rowAction(row, action);
    if (options.says !== undefined) await expect(this.dialog).toContainText(options.says);
    const answered = this.answer(options.method, options.pathEnd);
    await this.confirm(action);
    return answered;
  }

  /** The row's Actions menu button (users and keys; rows with one or two actions show buttons instead). */
  rowMenu(row: Locator): Locator {
    return row.getByRole('button', { name: 'Actions', exact: true });
  }

  /** Chooses `action` from the row's Actions menu, or clicks its button where the row has no menu. */
  async rowAction(row: Locator, action: string): Promise<void> {
    if ((await this.rowMenu(row).count()) === 0) {
      await row.getByRole('button', { name: action }).click();
      return;
    }
    await this.rowMenu(row).click();
    await this.page.getByRole('menu').getByRole('menuitem', { name: action, exact: true }).click();
  }

  /** Answers the open confirmation dialog with its go-ahead button. */
  async confirm(label: string): Promise<void> {
    await this.dialog.getByRole('button', { name: label }).click();
  }

  /** Waits for the answer to an admin API call: `method` on a path that ends with `pathEnd`. */
  answer(method: string, pathEnd: string | RegExp): Promise<Response> {
    return this.page.waitForResponse((r) => {
      const path = new URL(r.url()).pathname;
      return r.request().method() === method && (typeof pathEnd === 'string' ? path.endsWith(pathEnd) : pathEnd.test(path));
    });
  }
}
