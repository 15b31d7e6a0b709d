/**
 * Bounds how many Argon2 hashes run at once. Each costs ~48 MiB and ~100 ms of a libuv
 * thread, so an unbounded flood would exhaust memory long before CPU. Past a short
 * queue, callers are turned away at once (the route answers 503) instead of piling up.
 */
export class ServerBusyError extends Error {
  override name = 'ServerBusyError';
}

export class HashLimiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly maxConcurrent: number,
    readonly maxQueue: number,
  ) {}

  get stats(): { running: number; queued: number } {
    return { running: this.running, queued: this.waiting.length };
  }

  /** True when a new task would be refused: callers can shed load before doing other work. */
  get full(): boolean {
    return this.running >= this.maxConcurrent && this.waiting.length >= this.maxQueue;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxConcurrent) {
      if (this.waiting.length >= this.maxQueue) throw new ServerBusyError('too many password hashes in progress');
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter, or give it back.
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}
