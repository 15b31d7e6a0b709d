import { expect, type Locator, type Page, type Response } from '@playwright/test';

const isPost = (response: Response, path: RegExp) => response.request().method() === 'POST' && path.test(new URL(response.url()).pathname);

/** The chat workspace (/chat, /chat/:id), as a person uses it. */
export class ChatPage {
  readonly heading: Locator;
  /** The conversation's messages. */
  readonly log: Locator;
  readonly message: Locator;
  readonly sendButton: Locator;
  readonly stopButton: Locator;
  readonly jumpToLatest: Locator;
  /** The model picker's button in the header. */
  readonly modelPicker: Locator;
  /** The saved conversations: the sidebar on wide screens, inside the drawer on narrow ones. */
  readonly sidebar: Locator;
  readonly newChat: Locator;
  /** The header button that opens the drawer on narrow screens. */
  readonly drawerButton: Locator;
  readonly drawer: Locator;
  readonly unlockButton: Locator;
  readonly grantCountdown: Locator;
  readonly presenceChip: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole('heading', { name: 'Chat', level: 1 });
    this.log = page.getByRole('log', { name: 'Conversation' });
    this.message = page.getByLabel('Message', { exact: true });
    this.sendButton = page.locator('form.composer button[type="submit"]');
    this.stopButton = page.getByRole('button', { name: 'Stop' });
    this.jumpToLatest = page.getByRole('button', { name: 'Jump to latest' });
    this.modelPicker = page.locator('.chat-header').getByRole('button', { name: /Model/ });
    this.sidebar = page.getByRole('region', { name: 'Conversations' });
    this.newChat = this.sidebar.getByRole('button', { name: 'New chat' });
    this.drawerButton = page.getByRole('button', { name: 'Open chats' });
    this.drawer = page.getByRole('dialog', { name: 'Chats' });
    this.unlockButton = page.getByRole('button', { name: 'Unlock restricted models' });
    this.grantCountdown = page.getByTestId('grant-countdown');
    this.presenceChip = page.getByTestId('presence-mode').getByRole('button');
  }

  async goto(path = '/chat'): Promise<void> {
    await this.page.goto(path);
    await this.heading.waitFor({ state: 'attached' });
  }

  /** Picks the model named `name` from the header's picker. */
  async pickModel(name: string | RegExp): Promise<void> {
    await this.modelPicker.click();
    await this.page.getByRole('option', { name }).click();
    await expect(this.modelPicker).toContainText(name);
  }

  /** Types `text` and presses Enter; resolves once the server has answered the message's stream. */
  async send(text: string): Promise<Response> {
    await this.message.fill(text);
    const [response] = await Promise.all([
      this.page.waitForResponse((r) => isPost(r, /^\/api\/conversations\/[^/]+\/(messages|edit)$/)),
      this.message.press('Enter'),
    ]);
    return response;
  }

  /**
   * With a locked restricted model: types `text` and presses Enter, which asks for the key and
   * then sends. Resolves to the unlock's answer and, when the touch worked, the message's.
   */
  async sendLocked(text: string): Promise<{ unlock: Response; message?: Response }> {
    await this.message.fill(text);
    const unlock = this.page.waitForResponse((r) => isPost(r, /^\/api\/verify-key-ownership$/));
    const message = this.page.waitForResponse((r) => isPost(r, /^\/api\/conversations\/[^/]+\/messages$/), { timeout: 10_000 });
    message.catch(() => undefined);
    await this.message.press('Enter');
    const unlocked = await unlock;
    if (unlocked.status() !== 200) return { unlock: unlocked };
    return { unlock: unlocked, message: await message };
  }

  /** One touch from the header's Unlock chip. */
  async unlock(): Promise<Response> {
    const [response] = await Promise.all([
      this.page.waitForResponse((r) => isPost(r, /^\/api\/verify-key-ownership$/)),
      this.unlockButton.click(),
    ]);
    return response;
  }

  /** A saved conversation's row in the sidebar. */
  row(title: string | RegExp): Locator {
    return this.sidebar.getByRole('listitem').filter({ has: this.page.getByRole('link', { name: title }) });
  }

  /** The row's menu button ("Actions for …"). */
  rowMenu(title: string): Locator {
    return this.sidebar.getByRole('button', { name: `Actions for ${title}` });
  }

  /** Renames a conversation through its row menu; resolves once the server has renamed it. */
  async rename(title: string, to: string): Promise<void> {
    await this.rowMenu(title).click();
    await this.page.getByRole('menuitem', { name: 'Rename' }).click();
    await this.sidebar.getByLabel('New title').fill(to);
    await Promise.all([
      this.page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().includes('/api/conversations/')),
      this.sidebar.getByRole('button', { name: 'Save' }).click(),
    ]);
  }

  /** Deletes a conversation through its row menu, confirming; resolves once the server has deleted it. */
  async remove(title: string): Promise<void> {
    await this.rowMenu(title).click();
    await this.page.getByRole('menuitem', { name: 'Delete' }).click();
    await Promise.all([
      this.page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().includes('/api/conversations/')),
      this.page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click(),
    ]);
  }
}
