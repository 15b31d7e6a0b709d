import type { Locator, Page } from '@playwright/test';

/** The sign-in page, as a person sees it. */
export class SignInPage {
  readonly username: Locator;
  readonly password: Locator;
  readonly submit: Locator;
  readonly alert: Locator;

  constructor(readonly page: Page) {
    this.username = page.getByLabel('Username');
    this.password = page.getByLabel('Password', { exact: true });
    this.submit = page.getByRole('button', { name: 'Sign in' });
    this.alert = page.getByRole('alert');
  }

  async goto(next?: string): Promise<void> {
    await this.page.goto(next ? `/signin?next=${encodeURIComponent(next)}` : '/signin');
    await this.page.getByRole('heading', { name: 'Sign in' }).waitFor();
  }

  /** Fills the form and submits, waiting for the API's answer. */
  async signIn(username: string, password: string): Promise<number> {
    await this.username.fill(username);
    await this.password.fill(password);
    const [response] = await Promise.all([
      this.page.waitForResponse((r) => r.url().endsWith('/api/auth/signin')),
      this.submit.click(),
    ]);
    return response.status();
  }
}
