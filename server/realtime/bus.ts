import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { createRedisClient } from '../redis.ts';
import type { Role } from '../../shared/api.ts';
import type { ServerEvent } from '../../shared/events.ts';
import type { Logger } from '../log.ts';

/** Who an event is for: every session of a user, one session, or everyone with a role. */
export type EventTarget = { userId: string } | { sessionId: string } | { roles: readonly Role[] };

export interface Envelope {
  target: EventTarget;
  event: ServerEvent;
  /** The node that published it (for logs and latency measurements). */
  from: string;
  at: number;
}

type Listener = (envelope: Envelope) => void;

/**
 * Events between server nodes over Redis pub/sub. Every event goes through Redis, even
 * for this node, so every node (this one included) sees the same stream in the same way:
 * a grant revoked on node A reaches node B's sockets and streams as fast as A's own.
 * Pub/sub channels are not keys, so the deployment's key prefix is added here by hand.
 */
export class EventBus {
  readonly nodeId = randomUUID();
  private readonly listeners = new Set<Listener>();
  private constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly channel: string,
    private readonly log: Logger,
  ) {}

  static async connect(url: string, prefix: string, log: Logger, sentinel: Config['redisSentinel'] = null): Promise<EventBus> {
    const options = { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: (n: number) => Math.min(n * 200, 2_000) };
    const publisher = createRedisClient(url, sentinel, options);
    const subscriber = createRedisClient(url, sentinel, { ...options, enableOfflineQueue: true });
    publisher.on('error', () => undefined);
    subscriber.on('error', () => undefined);
    await Promise.all([publisher.connect(), subscriber.connect()]);
    const bus = new EventBus(publisher, subscriber, `${prefix}events`, log);
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === bus.channel) bus.dispatch(message);
    });
    // ioredis re-subscribes by itself after a reconnect.
    await subscriber.subscribe(bus.channel);
    return bus;
  }

  private dispatch(message: string): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(message) as Envelope;
    } catch {
      this.log.warn('unparseable event on the bus');
      return;
    }
    for (const listener of this.listeners) {
      try {
        listener(envelope);
      } catch (error) {
        this.log.error({ err: error }, 'event listener failed');
      }
    }
  }

  async publish(target: EventTarget, event: ServerEvent): Promise<void> {
    const envelope: Envelope = { target, event, from: this.nodeId, at: Date.now() };
    await this.publisher.publish(this.channel, JSON.stringify(envelope));
  }

  /** Publishes, logging instead of throwing: for notifications after a change has happened. */
  notify(target: EventTarget, event: ServerEvent): void {
    this.publish(target, event).catch((error: unknown) => this.log.warn({ err: (error as Error).message, type: event.type }, 'event not published'));
  }

  /** Whether this node is subscribed right now (it re-subscribes by itself after Redis returns). */
  get subscribed(): boolean {
    return this.subscriber.status === 'ready';
  }

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.subscriber.disconnect();
    this.publisher.disconnect();
  }
}
