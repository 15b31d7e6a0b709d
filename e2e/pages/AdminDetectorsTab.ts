import type { Locator, Page } from '@playwright/test';
import { AdminTab } from './AdminTab.ts';

/** Admin console, Detectors: every paired detector, online or not. */
export class AdminDetectorsTab extends AdminTab {
  readonly path = 'detectors';
  readonly title = 'Detectors';
  readonly heading: Locator;
  readonly panel: Locator;

  constructor(page: Page) {
    super(page);
    this.heading = page.getByRole('heading', { name: 'Detectors', level: 2 });
    this.panel = page.getByRole('region', { name: 'Detectors' });
  }

  /** A detector's row, by its name. */
  row(name: string): Locator {
    return this.panel.getByRole('row').filter({ hasText: name });
  }
}
