import type { Locator, Page } from '@playwright/test';

/** The navigation every signed-in page shares. */
export class AppShell {
  readonly nav: Locator;
  readonly signOutButton: Locator;

  constructor(readonly page: Page) {
    this.nav = page.getByRole('navigation');
    this.signOutButton = page.getByRole('button', { name: 'Sign out' });
  }

  link(name: string): Locator {
    return this.nav.getByRole('link', { name });
  }

  async signOut(): Promise<void> {
    await Promise.all([this.page.waitForResponse((r) => r.url().endsWith('/api/auth/signout')), this.signOutButton.click()]);
  }
}
