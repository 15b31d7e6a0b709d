import { expect, type Locator, type Page } from '@playwright/test';
import { AdminConsolePage } from './AdminConsolePage.ts';

/**
 * One tab of the admin console, opened by its address. Each tab's page object says where it
 * lives and which heading shows it is there; the console's shared table helpers stay on
 * AdminConsolePage (`this.console`).
 */
export abstract class AdminTab {
  /** Under /admin: `users` is /admin/users. */
  readonly path: string;
  /** The tab's link text in the console's tab bar. */
  readonly title: string;
  /** The heading (h2) that shows the tab has rendered. */
  readonly heading: Locator;
  readonly pageHeading: Locator;
  readonly console: AdminConsolePage;

  constructor(
    readonly page: Page,
    tab: { path: string; title: string; heading: string },
  ) {
    this.path = tab.path;
    this.title = tab.title;
    this.heading = page.getByRole('heading', { name: tab.heading, level: 2 });
    this.pageHeading = page.getByRole('heading', { name: 'Admin console', level: 1 });
    this.console = new AdminConsolePage(page);
  }

  /** Opens the tab by its address. */
  async goto(): Promise<void> {
    await this.page.goto(`/admin/${this.path}`);
    await expect(this.heading).toBeVisible();
  }

  /** Opens the tab from the console's tab bar. */
  async openFromTabs(): Promise<void> {
    await this.console.tabs.getByRole('link', { name: this.title }).click();
    await expect(this.heading).toBeVisible();
  }
}
