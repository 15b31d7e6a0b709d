import type { Locator, Page } from '@playwright/test';
import { AdminTab } from './AdminTab.ts';

/** Admin console, Models: the model catalog and the form that adds one. */
export class AdminModelsTab extends AdminTab {
  readonly catalog: Locator;
  readonly addForm: Locator;

  constructor(page: Page) {
    super(page, { path: 'models', title: 'Models', heading: 'Model catalog' });
    this.catalog = page.getByRole('region', { name: 'Model catalog' });
    this.addForm = page.getByRole('form', { name: 'Add model' });
  }

  /** A model's row, by its display name. */
  row(displayName: string): Locator {
    return this.catalog.getByRole('row').filter({ has: this.page.getByRole('rowheader', { name: displayName, exact: true }) });
  }
}
