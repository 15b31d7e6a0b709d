import type { IncomingMessage } from 'node:http';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { clientAddress, trustProxyFn } from './clientAddress.ts';

const upgrade = (peer: string, forwardedFor?: string) =>
  ({ socket: { remoteAddress: peer }, headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} }) as unknown as IncomingMessage;

/** What Express itself says req.ip is for the same request and setting. */
function expressIp(setting: string | number | false, peer: string, forwardedFor?: string): string | undefined {
  const app = express();
  app.set('trust proxy', setting);
  const req = Object.create(app.request, { app: { value: app }, socket: { value: { remoteAddress: peer } }, connection: { value: { remoteAddress: peer } } }) as express.Request;
  (req as unknown as { headers: Record<string, string> }).headers = forwardedFor ? { 'x-forwarded-for': forwardedFor } : {};
  return req.ip;
}

describe('clientAddress (WebSocket upgrades)', () => {
  const cases: Array<[string | number | false, string, string | undefined, string]> = [
    // No proxy trusted: the peer, whatever a client claims.
    [false, '198.51.100.9', '203.0.113.7', '198.51.100.9'],
    // nginx on the same host: the address it saw.
    ['loopback', '127.0.0.1', '198.51.100.9', '198.51.100.9'],
    // Spoofed entries to the left of the proxy's own are ignored.
    ['loopback', '127.0.0.1', '203.0.113.7, 198.51.100.9', '198.51.100.9'],
    // A request that did not come through the trusted proxy keeps its own address.
    ['loopback', '198.51.100.9', '203.0.113.7', '198.51.100.9'],
    // Subnets, and a hop count.
    ['10.0.0.0/8', '10.0.0.5', '203.0.113.7, 10.0.0.6, 198.51.100.9', '198.51.100.9'],
    [2, '10.0.0.5', '203.0.113.7, 198.51.100.9, 10.0.0.6', '198.51.100.9'],
  ];
  it.each(cases)('trust %s, peer %s, X-Forwarded-For %s → %s, as req.ip', (setting, peer, forwardedFor, expected) => {
    expect(clientAddress(upgrade(peer, forwardedFor), trustProxyFn(setting))).toBe(expected);
    expect(expressIp(setting, peer, forwardedFor)).toBe(expected);
  });

  it('reads TRUST_PROXY=<digits> as a hop count, not as an address that matches nothing', () => {
    expect(loadConfig({ TRUST_PROXY: '1', ARGUS_DATA_DIR: '/tmp/argus-config-test' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8', ARGUS_DATA_DIR: '/tmp/argus-config-test' }).trustProxy).toBe('loopback, 10.0.0.0/8');
  });
});
