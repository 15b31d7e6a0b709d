import type { Locator, Page } from '@playwright/test';
import { test, expect } from './fixtures.ts';
import { AccountPage } from './pages/AccountPage.ts';
import { AdminDetectorsTab } from './pages/AdminDetectorsTab.ts';
import { AdminKeysTab } from './pages/AdminKeysTab.ts';
import { AdminLiveTab } from './pages/AdminLiveTab.ts';
import { AdminModelsTab } from './pages/AdminModelsTab.ts';
import { AdminOverviewTab } from './pages/AdminOverviewTab.ts';
import { AdminUsersTab } from './pages/AdminUsersTab.ts';
import type { AdminTab } from './pages/AdminTab.ts';
import { AuditPage } from './pages/AuditPage.ts';
import { signInWith } from './pages/SignInPage.ts';

/** Phone, tablet, laptop. */
const VIEWPORTS = [
  { width: 390, height: 844 },
  { width: 768, height: 1024 },
  { width: 1280, height: 800 },
] as const;

interface Screen {
  name: string;
  open: (page: Page) => Promise<void>;
  /** The page's main heading (h1) and, for a console tab, the tab's own. */
  headings: (page: Page) => Locator[];
}

const adminTab = (title: string, make: (page: Page) => AdminTab): Screen => ({
  name: `admin, ${title}`,
  open: (page) => make(page).goto(),
  headings: (page) => [make(page).pageHeading, make(page).heading],
});

const SCREENS: Screen[] = [
  {
    name: 'account',
    open: (page) => new AccountPage(page).goto(),
    headings: (page) => [new AccountPage(page).heading],
  },
  adminTab('Users', (page) => new AdminUsersTab(page)),
  adminTab('Security keys', (page) => new AdminKeysTab(page)),
  adminTab('Models', (page) => new AdminModelsTab(page)),
  adminTab('Live', (page) => new AdminLiveTab(page)),
  adminTab('Overview', (page) => new AdminOverviewTab(page)),
  adminTab('Detectors', (page) => new AdminDetectorsTab(page)),
  {
    name: 'audit log',
    open: (page) => new AuditPage(page).goto(),
    headings: (page) => [page.getByRole('heading', { name: 'Audit log', level: 1 })],
  },
];

/** How far the page reaches past the right edge of the window, in CSS pixels (0: no sideways scroll). */
function overflowX(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

/** What sticks out past the right edge, for the failure message. */
function widestElements(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const limit = window.innerWidth;
    return [...document.querySelectorAll<HTMLElement>('main *, header *')]
      .filter((element) => element.getBoundingClientRect().right > limit + 0.5)
      .filter((element) => !element.parentElement || element.parentElement.getBoundingClientRect().right <= limit + 0.5)
      .slice(0, 5)
      .map((element) => `${element.tagName.toLowerCase()}${element.className ? `.${String(element.className).split(' ').join('.')}` : ''} (right ${Math.round(element.getBoundingClientRect().right)})`);
  });
}

for (const viewport of VIEWPORTS) {
  test.describe(`at ${viewport.width}×${viewport.height}`, () => {
    test.use({ viewport });

    test('every signed-in page fits the width: no sideways scroll, the main heading in view', async ({ page, argus, key }) => {
      test.setTimeout(60_000);
      const admin = await argus.account('admin');
      await signInWith(page, key, admin);
      for (const screen of SCREENS) {
        await test.step(screen.name, async () => {
          await screen.open(page);
          for (const heading of screen.headings(page)) await expect.soft(heading, `${screen.name}: heading`).toBeVisible();
          // Tables and lists fill in after the heading; measure once nothing is loading.
          await expect(page.locator('[aria-busy="true"]')).toHaveCount(0);
          await page.waitForLoadState('networkidle');
          const overflow = await overflowX(page);
          expect.soft(overflow, `${screen.name}: scrolls sideways by ${overflow}px; sticking out: ${(await widestElements(page)).join(', ')}`).toBeLessThanOrEqual(0);
        });
      }
    });
  });
}
