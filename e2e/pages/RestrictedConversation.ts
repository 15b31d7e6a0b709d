import type { Locator, Page, Response } from '@playwright/test';
import type { ChatPage } from './ChatPage.ts';

/** How the chat names a restricted conversation that no live grant covers (issue #21). */
export const LOCKED_LABEL = 'Restricted conversation — locked';

const isConversationRead = (response: Response) =>
  response.request().method() === 'GET' && /^\/api\/conversations\/[^/]+$/.test(new URL(response.url()).pathname);

/** A restricted conversation on the chat screen: its locked view, and its row in the sidebar while locked. */
export class RestrictedConversation {
  /** The locked view that stands in for the messages. */
  readonly lockedView: Locator;
  readonly readButton: Locator;
  /** Sidebar rows of locked conversations (every one is named the same). */
  readonly lockedLinks: Locator;

  constructor(
    readonly page: Page,
    readonly chat: ChatPage,
  ) {
    this.lockedView = chat.log.getByRole('region', { name: LOCKED_LABEL, exact: true });
    this.readButton = this.lockedView.getByRole('button', { name: 'Touch your key to read' });
    this.lockedLinks = chat.sidebar.getByRole('link', { name: LOCKED_LABEL, exact: true });
  }

  /** The sidebar link of a readable restricted conversation: its title, marked restricted. */
  readableLink(title: string | RegExp): Locator {
    const name = typeof title === 'string' ? `${title} (restricted)` : new RegExp(`${title.source}.*\\(restricted\\)$`);
    return this.chat.sidebar.getByRole('link', { name, exact: true });
  }

  /**
   * "Touch your key to read", clicked or (focused) pressed with Enter: resolves to the unlock's
   * answer and the conversation's new read.
   */
  async touchToRead(how: 'click' | 'keyboard' = 'click'): Promise<{ unlock: Response; read: Response }> {
    const unlock = this.page.waitForResponse(
      (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/verify-key-ownership',
    );
    const read = this.page.waitForResponse((r) => isConversationRead(r) && r.status() === 200);
    if (how === 'click') await this.readButton.click();
    else await this.page.keyboard.press('Enter');
    return { unlock: await unlock, read: await read };
  }

  /** Everything in the page's DOM, as markup: where nothing restricted may be once locked. */
  dom(): Promise<string> {
    return this.page.content();
  }
}
