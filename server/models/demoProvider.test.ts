import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { streamDemo } from './demoProvider.ts';

const messages = [{ role: 'user' as const, content: 'hello there, demo model' }];

describe('the demo provider', () => {
  it('streams its whole reply word by word, leaving no abort listener behind on the signal', async () => {
    const controller = new AbortController();
    const words: string[] = [];
    const stream = streamDemo('Demo', { messages, maxTokens: 1_000, signal: controller.signal, tokenDelayMs: 0 });
    let next = await stream.next();
    while (!next.done) {
      words.push(next.value);
      // One sleep at a time, and each removes its listener when it ends.
      expect(getEventListeners(controller.signal, 'abort').length).toBeLessThanOrEqual(1);
      next = await stream.next();
    }
    expect(words.length).toBeGreaterThan(40);
    expect(words.join('')).toContain('demo model, built into Argus');
    expect(next.value).toEqual({ finishReason: 'stop', usage: null });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('stops at once when the signal aborts mid-wait, and at the token budget', async () => {
    const controller = new AbortController();
    const stream = streamDemo('Demo', { messages, maxTokens: 1_000, signal: controller.signal, tokenDelayMs: 60_000 });
    const pending = stream.next();
    setTimeout(() => controller.abort(), 10);
    const started = Date.now();
    expect(await pending).toEqual({ done: true, value: { finishReason: 'stop', usage: null } });
    expect(Date.now() - started).toBeLessThan(1_000);

    const short = streamDemo('Demo', { messages, maxTokens: 3, signal: new AbortController().signal, tokenDelayMs: 0 });
    const out: string[] = [];
    let step = await short.next();
    while (!step.done) {
      out.push(step.value);
      step = await short.next();
    }
    expect(out).toHaveLength(3);
    expect(step.value.finishReason).toBe('length');
  });
});
