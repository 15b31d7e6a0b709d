import { expect, type Locator, type Page } from '@playwright/test';
import { STEP_UP_PROMPT } from '../stepUp.ts';

/** The step-up dialog: up while a sensitive change waits for a touch of a registered key. */
export class StepUpDialog {
  readonly dialog: Locator;
  readonly prompt: Locator;
  readonly cancelButton: Locator;

  constructor(readonly page: Page) {
    this.dialog = page.getByRole('dialog', { name: 'Confirm with your key' });
    this.prompt = this.dialog.getByRole('status').filter({ hasText: STEP_UP_PROMPT });
    this.cancelButton = this.dialog.getByRole('button', { name: 'Cancel' });
  }

  async expectOpen(): Promise<void> {
    await expect(this.dialog).toBeVisible();
    await expect(this.prompt).toBeVisible();
  }

  /** Cancels the wait for the touch; the dialog closes and the change is not sent. */
  async cancel(): Promise<void> {
    await this.cancelButton.click();
    await expect(this.dialog).toHaveCount(0);
  }
}
