import type { Locator, Page } from '@playwright/test';
import { AdminTab } from './AdminTab.ts';

/** Admin console, Security keys: every user's keys, filtered by owner or status; suspend, reassign, delete. */
export class AdminKeysTab extends AdminTab {
  readonly path = 'keys';
  readonly title = 'Security keys';
  readonly heading: Locator;
  readonly filters: Locator;

  constructor(page: Page) {
    super(page);
    this.heading = page.getByRole('heading', { name: 'Security keys', level: 2 });
    this.filters = page.getByRole('search', { name: 'Filter security keys' });
  }

  row(nickname: string, owner: string): Locator {
    return this.console.keyRow(nickname, owner);
  }

  filterByOwner(username: string): Promise<void> {
    return this.console.filterKeysByOwner(username);
  }
}
