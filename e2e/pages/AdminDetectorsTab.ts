import type { Locator, Page } from '@playwright/test';
import { AdminTab } from './AdminTab.ts';

/** Admin console, Detectors: every paired detector, online or not. */
export class AdminDetectorsTab extends AdminTab {
  readonly panel: Locator;

  constructor(page: Page) {
    super(page, { path: 'detectors', title: 'Detectors', heading: 'Detectors' });
    this.panel = page.getByRole('region', { name: 'Detectors' });
  }

  /** A detector's row, by its name. */
  row(name: string): Locator {
    return this.panel.getByRole('row').filter({ hasText: name });
  }
}
