import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { streamDemo } from './demoProvider.ts';

const messages = [{ role: 'user' as const, content: 'hello there, demo model' }];

describe('the demo provider', () => {
  it('streams its whole reply word by word, leaving no abort listener behind on the signal', async () => {
    const controller = new AbortController();
    const words: string[] = [];
    const completion = await streamDemo('Demo', {
      messages,
      maxTokens: 1_000,
      signal: controller.signal,
      tokenDelayMs: 0,
      onText: (word) => {
        words.push(word);
        // One sleep at a time, and each removes its listener when it ends.
        expect(getEventListeners(controller.signal, 'abort').length).toBeLessThanOrEqual(1);
      },
    });
    expect(words.length).toBeGreaterThan(40);
    expect(words.join('')).toContain('demo model, built into Argus');
    expect(completion).toEqual({ finishReason: 'stop', usage: null });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('stops at once when the signal aborts mid-wait, and at the token budget', async () => {
    const controller = new AbortController();
    const words: string[] = [];
    const pending = streamDemo('Demo', { messages, maxTokens: 1_000, signal: controller.signal, tokenDelayMs: 60_000, onText: (word) => words.push(word) });
    setTimeout(() => controller.abort(), 10);
    const started = Date.now();
    expect(await pending).toEqual({ finishReason: 'stop', usage: null });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(words).toEqual([]);

    const out: string[] = [];
    const short = await streamDemo('Demo', { messages, maxTokens: 3, signal: new AbortController().signal, tokenDelayMs: 0, onText: (word) => out.push(word) });
    expect(out).toHaveLength(3);
    expect(short.finishReason).toBe('length');
  });
});
