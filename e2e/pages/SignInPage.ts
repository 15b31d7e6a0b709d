import { expect, type Browser, type Locator, type Page } from '@playwright/test';
import type { TestAccount } from '../fixtures.ts';
import { VirtualAuthenticator } from '../virtualAuthenticator.ts';

/** The sign-in page, as a person sees it: password, then the security key. */
export class SignInPage {
  readonly username: Locator;
  readonly password: Locator;
  readonly submit: Locator;
  readonly useKey: Locator;
  readonly alert: Locator;

  constructor(readonly page: Page) {
    this.username = page.getByLabel('Username');
    this.password = page.getByLabel('Password', { exact: true });
    this.submit = page.getByRole('button', { name: 'Sign in' });
    this.useKey = page.getByRole('button', { name: 'Use security key' });
    this.alert = page.getByRole('alert');
  }

  async goto(next?: string): Promise<void> {
    await this.page.goto(next ? `/signin?next=${encodeURIComponent(next)}` : '/signin');
    await this.page.getByRole('heading', { name: 'Sign in' }).waitFor();
  }

  /** Step 1: fills the password form and submits, waiting for the API's answer. */
  async enterPassword(username: string, password: string): Promise<number> {
    await this.username.fill(username);
    await this.password.fill(password);
    const [response] = await Promise.all([this.page.waitForResponse((r) => r.url().endsWith('/api/auth/signin')), this.submit.click()]);
    return response.status();
  }

  /** Step 2: touches the key (the virtual authenticator answers), waiting for the verdict. */
  async touchKey(): Promise<number> {
    await this.page.getByRole('heading', { name: 'Touch your security key' }).waitFor();
    const [response] = await Promise.all([this.page.waitForResponse((r) => r.url().endsWith('/api/auth/key')), this.useKey.click()]);
    return response.status();
  }

  /** Both steps. */
  async signIn(username: string, password: string): Promise<number> {
    const status = await this.enterPassword(username, password);
    return status === 200 ? this.touchKey() : status;
  }
}

/** Puts the account's key into the browser, signs in with both steps, and opens `path`. */
export async function signInWith(page: Page, key: VirtualAuthenticator, account: TestAccount, path = '/'): Promise<void> {
  await key.addCredential(account.credential, 'localhost');
  const signIn = new SignInPage(page);
  await signIn.goto();
  const status = await signIn.signIn(account.username, account.password);
  if (status !== 200) throw new Error(`sign-in answered ${status}`);
  await page.waitForURL((url) => url.pathname === '/');
  if (path !== '/') await page.goto(path);
}

/**
 * Another person's browser (its own cookies and virtual key), signed in as `account` at
 * `path`, its live connection up. Close its context when done: `page.context().close()`.
 */
export async function signInElsewhere(browser: Browser, baseURL: string, account: TestAccount, path = '/'): Promise<Page> {
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  await signInWith(page, await VirtualAuthenticator.attach(page), account, path);
  await expect(page.getByTestId('connection-state')).toHaveText('Connected');
  return page;
}
