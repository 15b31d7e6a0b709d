import type { Page } from '@playwright/test';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL } from '../server/test/env.ts';

/**
 * Makes the page's session step-up stale, as if the sign-in (its last key touch) were an hour
 * old: the next admin change then needs a fresh touch. Edits the session in the e2e node's Redis.
 */
export async function expireStepUp(page: Page): Promise<void> {
  const cookie = (await page.context().cookies()).find((c) => c.name === 'argus.sid');
  if (!cookie) throw new Error('no session cookie: sign in first');
  // express-session signs the id: s:<sid>.<signature>
  const sid = decodeURIComponent(cookie.value).slice(2).split('.')[0];
  const redis = new Redis(TEST_REDIS_URL, { keyPrefix: process.env.ARGUS_E2E_REDIS_PREFIX });
  try {
    const json = await redis.get(`sess:${sid}`);
    if (!json) throw new Error('session not found in Redis');
    const data = JSON.parse(json) as { stepUpAt: number };
    data.stepUpAt -= 60 * 60_000;
    await redis.set(`sess:${sid}`, JSON.stringify(data), 'KEEPTTL');
  } finally {
    redis.disconnect();
  }
}
