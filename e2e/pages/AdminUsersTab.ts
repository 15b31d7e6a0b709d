import type { Locator, Page } from '@playwright/test';
import { AdminTab } from './AdminTab.ts';

/** Admin console, Users: create a user (with a one-time enrollment link), find, change, remove. */
export class AdminUsersTab extends AdminTab {
  readonly createForm: Locator;
  readonly newUsername: Locator;
  readonly createButton: Locator;
  readonly enrollmentLink: Locator;

  constructor(page: Page) {
    super(page, { path: 'users', title: 'Users', heading: 'Users' });
    this.createForm = page.getByRole('form', { name: 'Create user' });
    this.newUsername = this.createForm.getByLabel('Username');
    this.createButton = this.createForm.getByRole('button', { name: 'Create user' });
    this.enrollmentLink = page.getByTestId('enrollment-link');
  }

  row(username: string): Locator {
    return this.console.userRow(username);
  }

  /** Submits the create form for `username` (stepping up is the caller's business); resolves to the POST's status. */
  async createUser(username: string): Promise<number> {
    const created = this.console.answer('POST', '/api/admin/users');
    await this.newUsername.fill(username);
    await this.createButton.click();
    return (await created).status();
  }

  search(text: string): Promise<void> {
    return this.console.searchUsers(text);
  }
}
