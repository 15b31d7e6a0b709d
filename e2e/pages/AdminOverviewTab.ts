import type { Locator, Page } from '@playwright/test';
import { AdminTab } from './AdminTab.ts';

/** Admin console, Overview: the last 24 hours in hourly charts, and why grants ended. */
export class AdminOverviewTab extends AdminTab {
  readonly revokeReasons: Locator;

  constructor(page: Page) {
    super(page, { path: 'overview', title: 'Overview', heading: 'Last 24 hours, hour by hour' });
    this.revokeReasons = page.getByRole('heading', { name: 'Why grants were revoked', level: 2 });
  }

  /** The chart titled `title` (Sign-ins, Grants, Denials, Key mismatches). */
  chart(title: string): Locator {
    return this.page.getByRole('figure', { name: title });
  }
}
