import { expect, type Locator, type Page } from '@playwright/test';

/** The navigation every signed-in page shares. */
export class AppShell {
  readonly nav: Locator;
  readonly signOutButton: Locator;
  /** The top bar itself (its height is --topbar-height). */
  readonly topbar: Locator;
  /** The main navigation only (the admin console has a navigation of its own). */
  readonly mainNav: Locator;
  /** On narrow screens the navigation and Sign out fold behind this button. */
  readonly menuToggle: Locator;
  readonly connection: Locator;

  constructor(readonly page: Page) {
    this.nav = page.getByRole('navigation');
    this.signOutButton = page.getByRole('button', { name: 'Sign out' });
    this.topbar = page.getByRole('banner');
    this.mainNav = page.getByRole('navigation', { name: 'Main' });
    this.menuToggle = page.getByRole('button', { name: 'Menu' });
    this.connection = page.getByTestId('connection-state');
  }

  /** Opens the folded menu if the screen is narrow enough to fold it; a no-op on wide screens. */
  async openMenu(): Promise<void> {
    if (!(await this.menuToggle.isVisible())) return;
    if ((await this.menuToggle.getAttribute('aria-expanded')) !== 'true') await this.menuToggle.click();
    await expect(this.mainNav).toBeVisible();
  }

  /** Signs out from any screen width: through the menu where it is folded. */
  async signOutAnywhere(): Promise<void> {
    await this.openMenu();
    await this.signOut();
  }

  link(name: string): Locator {
    return this.nav.getByRole('link', { name });
  }

  async signOut(): Promise<void> {
    await Promise.all([this.page.waitForResponse((r) => r.url().endsWith('/api/auth/signout')), this.signOutButton.click()]);
  }
}
