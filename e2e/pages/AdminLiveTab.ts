import type { Locator, Page } from '@playwright/test';
import { AdminTab } from './AdminTab.ts';

/** Admin console, Live: the security feed, live grants to restricted models, and sessions. */
export class AdminLiveTab extends AdminTab {
  readonly feed: Locator;
  readonly grants: Locator;
  readonly sessions: Locator;

  constructor(page: Page) {
    super(page, { path: 'live', title: 'Live', heading: 'Security events' });
    this.feed = page.getByRole('list', { name: 'Security events, newest first' });
    this.grants = page.getByRole('region', { name: 'Restricted access' });
    this.sessions = page.getByRole('region', { name: 'Sessions' });
  }

  /** The live grant row of `username`. */
  grantRow(username: string): Locator {
    return this.grants.getByRole('row').filter({ hasText: username });
  }

  /** Revokes `username`'s grant through the row's confirm dialog; resolves to the API's status. */
  async revokeGrant(username: string): Promise<number> {
    const answer = await this.console.confirmRowAction(this.grantRow(username), 'Revoke', { method: 'DELETE', pathEnd: /\/api\/admin\/grants\/[^/]+$/ });
    return answer.status();
  }
}
