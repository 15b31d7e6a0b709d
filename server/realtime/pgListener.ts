import { createAdminClient } from '../db/pool.ts';
import type { Logger } from '../log.ts';

export interface PgListenerOptions {
  databaseUrl: string;
  log: Logger;
  /** Channel name → handler of each notification's payload. */
  channels: Record<string, (payload: string) => void>;
  /** Told true once every channel is listened to, false the moment the connection is lost. */
  onLive?: (live: boolean) => void;
  retryMs?: number;
}

/**
 * One dedicated Postgres connection that LISTENs on a few channels and reconnects by itself
 * (Postgres restarts, network blips). Whoever relies on its notifications learns through
 * `onLive` when they may be missing, so they can stop trusting what they cached.
 */
export function startPgListener({ databaseUrl, log, channels, onLive, retryMs = 2_000 }: PgListenerOptions): () => Promise<void> {
  let stopped = false;
  let live = false;
  let client: ReturnType<typeof createAdminClient> | null = null;
  let retry: NodeJS.Timeout | null = null;

  const setLive = (next: boolean) => {
    if (live === next) return;
    live = next;
    onLive?.(next);
  };
  const lost = (why: string) => {
    if (client === null && retry) return;
    if (!stopped) log.warn({ err: why }, 'postgres listener connection lost');
    setLive(false);
    schedule();
  };
  const connect = async () => {
    if (stopped) return;
    const listener = createAdminClient(databaseUrl);
    client = listener;
    listener.on('error', (error) => lost(error.message));
    listener.on('end', () => client === listener && lost('connection ended'));
    listener.on('notification', ({ channel, payload }) => {
      const handle = channels[channel];
      if (!handle || payload === undefined) return;
      try {
        handle(payload);
      } catch (error) {
        log.error({ err: error, channel }, 'notification handler failed');
      }
    });
    try {
      await listener.connect();
      for (const channel of Object.keys(channels)) await listener.query(`LISTEN ${channel}`);
      if (client === listener && !stopped) setLive(true);
    } catch (error) {
      lost((error as Error).message);
    }
  };
  const schedule = () => {
    const old = client;
    client = null;
    old?.end().catch(() => undefined);
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = null;
      void connect();
    }, retryMs);
    retry.unref();
  };
  void connect();
  return async () => {
    stopped = true;
    setLive(false);
    if (retry) clearTimeout(retry);
    const old = client;
    client = null;
    await old?.end().catch(() => undefined);
  };
}

/**
 * One channel of the node's listener, heard by several parts of the node (the live audit feed
 * and the sink delivery both follow `argus_audit`), so the node needs one LISTEN connection, not
 * one per part. Pass `dispatch` as the channel's handler to startPgListener.
 */
export class SharedChannel {
  private readonly handlers = new Set<(payload: string) => void>();

  constructor(
    readonly name: string,
    private readonly log: Logger,
  ) {}

  /** Hears each payload until the returned function is called. */
  subscribe(handler: (payload: string) => void): () => void {
    const own = (payload: string) => handler(payload);
    this.handlers.add(own);
    return () => void this.handlers.delete(own);
  }

  /** Hands a payload to every subscriber; one that throws does not keep it from the others. */
  readonly dispatch = (payload: string): void => {
    for (const handler of this.handlers) {
      try {
        handler(payload);
      } catch (error) {
        this.log.error({ err: error, channel: this.name }, 'notification handler failed');
      }
    }
  };
}
