import { expect, type Locator, type Page, type Response } from '@playwright/test';

/** The account page: profile, the person's own security keys, sessions and detectors. */
export class AccountPage {
  readonly heading: Locator;
  readonly facts: Locator;
  readonly keys: Locator;
  readonly sessions: Locator;
  readonly detectors: Locator;
  readonly addKeyForm: Locator;
  readonly keyNickname: Locator;
  readonly addKeyButton: Locator;
  readonly addKeyStatus: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole('heading', { name: 'Account', level: 1 });
    this.facts = page.locator('dl.facts');
    this.keys = page.getByRole('region', { name: 'Security keys' });
    this.sessions = page.getByRole('region', { name: 'Sessions' });
    this.detectors = page.getByRole('region', { name: 'Detectors' });
    this.addKeyForm = page.getByRole('form', { name: 'Add a security key' });
    this.keyNickname = this.addKeyForm.getByLabel('Key nickname');
    this.addKeyButton = this.addKeyForm.getByRole('button', { name: 'Add security key' });
    this.addKeyStatus = page.getByRole('region', { name: 'Add a security key' }).getByRole('status');
  }

  async goto(): Promise<void> {
    await this.page.goto('/account');
    await expect(this.heading).toBeVisible();
  }

  /** The row of one of the person's keys, by nickname. */
  keyRow(nickname: string): Locator {
    return this.keys.getByRole('row').filter({ has: this.page.getByRole('rowheader', { name: nickname, exact: true }) });
  }

  /** Fills in a nickname and asks to add a key; resolves to the answer to the POST that adds it. */
  async addKey(nickname: string): Promise<Response> {
    const added = this.page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/account/keys');
    await this.keyNickname.fill(nickname);
    await this.addKeyButton.click();
    return added;
  }
}
