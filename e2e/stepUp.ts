import type { Page } from '@playwright/test';
import { Redis } from 'ioredis';
import { parseRecordMacKeys, RecordMac } from '../server/crypto/recordMac.ts';
import { TEST_REDIS_URL } from '../server/test/env.ts';
import { resealedSession } from '../server/test/sessionIntegrity.ts';

export const STEP_UP_PROMPT = 'Touch a key you already registered to confirm.';

/** Makes the page's session step-up stale, as if the last touch was an hour ago. */
export async function expireStepUp(page: Page): Promise<void> {
  const cookie = (await page.context().cookies()).find((c) => c.name === 'argus.sid');
  if (!cookie) throw new Error('no session cookie');
  const sid = decodeURIComponent(cookie.value).slice(2).split('.')[0]!;
  const redis = new Redis(TEST_REDIS_URL, { keyPrefix: process.env.ARGUS_E2E_REDIS_PREFIX! });
  // Sessions are sealed with the node's record key (e2e/global-setup.ts gives it): sealed again here, as the node would.
  const mac = new RecordMac(parseRecordMacKeys(process.env.ARGUS_E2E_GRANT_SIGNING_KEYS!));
  try {
    const key = `sess:${sid}`;
    const sealed = resealedSession(mac, sid, (await redis.get(key))!, (data) => {
      data.stepUpAt -= 60 * 60_000;
    });
    await redis.set(key, sealed, 'KEEPTTL');
  } finally {
    redis.disconnect();
  }
}

export interface StepUpWatch {
  /** The API calls seen so far, in order: `METHOD /path status`, ids as `:id`. */
  calls: () => string[];
  /** How many times the step-up dialog came up asking for the touch. */
  prompts: () => Promise<number>;
  /** Whether it came up at all. */
  promptSeen: () => Promise<boolean>;
}

/**
 * Watches a step-up as the person lives it: how many times the step-up dialog ("Confirm with
 * your key", mounted once by the layout) came up asking for the touch (it is up only while
 * the browser waits for the key, which the virtual key answers at once, so a MutationObserver
 * counts each time it appears), and the API calls in order — the refused change, the touch,
 * the retried change.
 */
export async function watchStepUp(page: Page, changePath: RegExp): Promise<StepUpWatch> {
  const calls: string[] = [];
  page.on('response', (response) => {
    const path = new URL(response.url()).pathname;
    if (changePath.test(path) || path.startsWith('/api/account/step-up')) {
      calls.push(`${response.request().method()} ${path.replace(/[0-9a-f-]{32,36}$/, ':id')} ${response.status()}`);
    }
  });
  await page.evaluate((text) => {
    const watch = { shown: 0, up: false };
    (window as unknown as { __stepUpPrompts: typeof watch }).__stepUpPrompts = watch;
    new MutationObserver(() => {
      const up = [...document.querySelectorAll('[role="dialog"]')].some((dialog) => dialog.textContent?.includes(text));
      if (up && !watch.up) watch.shown += 1;
      watch.up = up;
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  }, STEP_UP_PROMPT);
  const prompts = () => page.evaluate(() => (window as unknown as { __stepUpPrompts: { shown: number } }).__stepUpPrompts.shown);
  return {
    calls: () => [...calls],
    prompts,
    promptSeen: async () => (await prompts()) > 0,
  };
}
