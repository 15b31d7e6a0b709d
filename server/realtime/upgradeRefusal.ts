import type { Duplex } from 'node:stream';
import { rateLimitHits } from '../metrics.ts';

/** Why a WebSocket upgrade is refused: answered as a plain HTTP error with our JSON body. */
export class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** Answers a refused upgrade on the raw socket (no WebSocket exists yet) and closes it. */
export function refuseUpgrade(socket: Duplex, error: UpgradeRefused, route: '/ws' | '/ws/detector'): void {
  if (error.status === 429) rateLimitHits.inc({ limiter: 'WS_CONNECTIONS', route });
  const body = JSON.stringify({ error: { code: error.code, message: error.message } });
  const retry = error.retryAfter ? `Retry-After: ${error.retryAfter}\r\n` : '';
  socket.end(
    `HTTP/1.1 ${error.status} ${error.code}\r\nConnection: close\r\nContent-Type: application/json\r\n${retry}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
