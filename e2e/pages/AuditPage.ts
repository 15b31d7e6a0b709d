import { expect, type Locator, type Page } from '@playwright/test';

/** The audit log page, as an auditor uses it. */
export class AuditPage {
  readonly search: Locator;
  readonly events: Locator;
  readonly rows: Locator;
  readonly count: Locator;
  readonly liveTail: Locator;
  readonly drawer: Locator;
  readonly exportForm: Locator;
  readonly exportStatus: Locator;
  readonly chainStatus: Locator;
  readonly liveCount: Locator;

  constructor(readonly page: Page) {
    this.search = page.getByRole('search', { name: 'Search audit events' });
    this.events = page.getByRole('table', { name: 'Audit events' });
    this.rows = this.events.locator('tr.event');
    this.count = page.getByTestId('audit-count');
    this.liveTail = page.getByLabel('Live tail');
    this.drawer = page.getByRole('dialog');
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

  /** A row's cell by its column (Time, Actor, Action, Target, Outcome, Severity, IP, Seq). */
  cell(seq: number, column: string): Locator {
    return this.row(seq).locator(`td[data-label="${column}"]`);
  }

  /** Opens event #seq's drawer with a click on its row. */
  async open(seq: number): Promise<Locator> {
    await this.row(seq).click();
    await expect(this.drawer).toBeVisible();
    return this.drawer;
  }

  /** Applies a search and waits for the API's answer. */
  async searchFor(fill: (form: Locator) => Promise<void>): Promise<void> {
    await fill(this.search);
    await Promise.all([
      this.page.waitForResponse((r) => r.url().includes('/api/audit/events?') && r.status() === 200),
      this.search.getByRole('button', { name: 'Search' }).click(),
    ]);
  }

  /** Whether the page scrolls sideways (it never should). */
  scrollsSideways(): Promise<boolean> {
    return this.page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
  }
}
