import type { Locator, Page } from '@playwright/test';

/** The audit log page, as an auditor uses it. */
export class AuditPage {
  readonly search: Locator;
  readonly events: Locator;
  readonly exportForm: Locator;
  readonly exportStatus: Locator;
  readonly chainStatus: Locator;
  readonly liveCount: Locator;

  constructor(readonly page: Page) {
    this.search = page.getByRole('search', { name: 'Search audit events' });
    this.events = page.getByRole('table', { name: 'Audit events' });
    this.exportForm = page.getByRole('form', { name: 'Export audit events' });
    this.exportStatus = page.getByTestId('export-status');
    this.chainStatus = page.getByTestId('chain-status');
    this.liveCount = page.locator('.live-count');
  }

  async goto(query = ''): Promise<void> {
    await this.page.goto(`/audit${query}`);
    await this.page.getByRole('heading', { name: 'Audit log' }).waitFor();
  }

  /** The row of event #seq. */
  row(seq: number): Locator {
    return this.events.locator(`tr.event[data-seq="${seq}"]`);
  }

  /** Applies a search and waits for the API's answer. */
  async searchFor(fill: (form: Locator) => Promise<void>): Promise<void> {
    await fill(this.search);
    await Promise.all([
      this.page.waitForResponse((r) => r.url().includes('/api/audit/events?') && r.status() === 200),
      this.search.getByRole('button', { name: 'Search' }).click(),
    ]);
  }
}
