import type { Locator, Page } from '@playwright/test';
import { AdminTab } from './AdminTab.ts';

/** Admin console, Security keys: every user's keys, filtered by owner or status; suspend, reassign, delete. */
export class AdminKeysTab extends AdminTab {
  readonly filters: Locator;

  constructor(page: Page) {
    super(page, { path: 'keys', title: 'Security keys', heading: 'Security keys' });
    this.filters = page.getByRole('search', { name: 'Filter security keys' });
  }

  row(nickname: string, owner: string): Locator {
    return this.console.keyRow(nickname, owner);
  }

  filterByOwner(username: string): Promise<void> {
    return this.console.filterKeysByOwner(username);
  }
}
