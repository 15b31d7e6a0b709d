import type { Locator, Page } from '@playwright/test';
import { AdminTab } from './AdminTab.ts';

/** Admin console, Approvals: the changes that wait for a second admin (the two-person rule). */
export class AdminApprovalsTab extends AdminTab {
  readonly list: Locator;

  constructor(page: Page) {
    super(page, { path: 'approvals', title: 'Approvals', heading: 'Pending approvals' });
    this.list = page.getByRole('region', { name: 'Pending approvals' });
  }

  /** The row of the pending change whose title starts with `title` ("Make @ann an admin"). */
  changeRow(title: string): Locator {
    return this.list.getByRole('row').filter({ has: this.page.getByRole('rowheader', { name: title }) });
  }

  /** Clicks the change's Approve and confirms it in the dialog, once it names the change (a step-up may follow). */
  async approve(title: string): Promise<void> {
    await this.changeRow(title).getByRole('button', { name: 'Approve' }).click();
    await this.console.confirm('Approve');
  }
}
