import type { IncomingMessage } from 'node:http';
import express from 'express';
import type { Config } from '../config.ts';

type TrustFn = (address: string, hop: number) => boolean;

/**
 * Express's own `trust proxy` test for a setting (compiled by Express, so TRUST_PROXY means
 * exactly the same for WebSocket upgrades as for `req.ip` on HTTP requests).
 */
export function trustProxyFn(setting: Config['trustProxy']): TrustFn {
  const probe = express();
  probe.set('trust proxy', setting);
  return probe.get('trust proxy fn') as TrustFn;
}

/**
 * The client's address for a raw request (a WebSocket upgrade never reaches Express, so it
 * has no `req.ip`): the socket's peer, or, through trusted proxies, the nearest untrusted
 * address in X-Forwarded-For. Same walk as Express's `req.ip` (proxy-addr).
 */
export function clientAddress(req: IncomingMessage, trust: TrustFn): string {
  const forwarded = String(req.headers['x-forwarded-for'] ?? '')
    .split(',')
    .map((address) => address.trim())
    .filter(Boolean)
    .reverse();
  const chain = [req.socket.remoteAddress ?? 'unknown', ...forwarded];
  for (let hop = 0; hop < chain.length - 1; hop += 1) {
    if (!trust(chain[hop]!, hop)) return chain[hop]!;
  }
  return chain[chain.length - 1]!;
}
