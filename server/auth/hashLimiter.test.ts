import { describe, expect, it } from 'vitest';
import { HashLimiter, ServerBusyError } from './hashLimiter.ts';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('HashLimiter', () => {
  it('runs at most maxConcurrent tasks at once and queues the rest in order', async () => {
    const limiter = new HashLimiter(2, 10);
    const gates = Array.from({ length: 5 }, deferred);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const tasks = gates.map((gate, i) =>
      limiter.run(async () => {
        running += 1;
        peak = Math.max(peak, running);
        order.push(i);
        await gate.promise;
        running -= 1;
      }),
    );
    await Promise.resolve();
    expect(limiter.stats).toEqual({ running: 2, queued: 3 });
    for (const gate of gates) {
      gate.resolve();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(tasks);
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(limiter.stats).toEqual({ running: 0, queued: 0 });
  });

  it('turns callers away once the queue is full, and frees the slot when a task throws', async () => {
    const limiter = new HashLimiter(1, 1);
    const gate = deferred();
    const first = limiter.run(() => gate.promise);
    const second = limiter.run(async () => 'queued');
    await expect(limiter.run(async () => 'third')).rejects.toBeInstanceOf(ServerBusyError);
    gate.resolve();
    await first;
    await expect(second).resolves.toBe('queued');
    await expect(limiter.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run(async () => 'after')).resolves.toBe('after');
  });
});
