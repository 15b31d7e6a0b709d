import { expect, type Locator, type Page } from '@playwright/test';

/** The enrollment page an invited person opens from their one-time link: password, then key. */
export class EnrollPage {
  readonly heading: Locator;
  readonly password: Locator;
  readonly confirmPassword: Locator;
  readonly setPasswordButton: Locator;
  readonly keyNickname: Locator;
  readonly registerKeyButton: Locator;
  readonly alert: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole('heading', { name: 'Set up your account', level: 1 });
    this.password = page.getByLabel('Password', { exact: true });
    this.confirmPassword = page.getByLabel('Confirm password');
    this.setPasswordButton = page.getByRole('button', { name: 'Set password' });
    this.keyNickname = page.getByLabel('Key nickname');
    this.registerKeyButton = page.getByRole('button', { name: 'Register security key' });
    this.alert = page.getByRole('alert');
  }

  /** Opens a one-time enrollment link (absolute, as the admin hands it out). */
  async goto(enrollmentUrl: string): Promise<void> {
    await this.page.goto(new URL(enrollmentUrl).pathname);
    await expect(this.heading).toBeVisible();
  }

  /** Step 1: chooses a password; resolves to the API's status. */
  async setPassword(password: string): Promise<number> {
    await this.password.fill(password);
    await this.confirmPassword.fill(password);
    const [answer] = await Promise.all([
      this.page.waitForResponse((r) => r.request().method() === 'POST' && /\/api\/enrollment\/[^/]+\/password$/.test(new URL(r.url()).pathname)),
      this.setPasswordButton.click(),
    ]);
    return answer.status();
  }

  /** Step 2: registers the browser's (virtual) key under `nickname`; resolves to the API's status. */
  async registerKey(nickname = ''): Promise<number> {
    if (nickname) await this.keyNickname.fill(nickname);
    const [answer] = await Promise.all([
      this.page.waitForResponse((r) => r.request().method() === 'POST' && /\/api\/enrollment\/[^/]+\/key$/.test(new URL(r.url()).pathname)),
      this.registerKeyButton.click(),
    ]);
    return answer.status();
  }
}
