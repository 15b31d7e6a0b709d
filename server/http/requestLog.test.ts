import express from 'express';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { registry } from '../metrics.ts';
import { requestLog } from './requestLog.ts';

/** An app with requestLog in front of a route with a secret in its path, logging into `lines`. */
async function serve(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  const app = express();
  app.use(requestLog(pino({ level }, sink)));
  app.get('/api/enroll/:token', (_req, res) => {
    res.json({ ok: true });
  });
  // Answers only after the client has given up.
  app.get('/api/slow', (_req, res) => void setTimeout(() => res.json({ late: true }), 300));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { lines, url, close: () => new Promise((resolve) => server.close(resolve)) };
}

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function durationCount(route: string): Promise<number> {
  const metric = await registry.getSingleMetric('argus_http_request_duration_seconds')!.get();
  return (metric.values as Array<{ metricName?: string; labels: Record<string, unknown>; value: number }>)
    .filter((v) => v.metricName?.endsWith('_count') && v.labels.route === route)
    .reduce((sum, v) => sum + v.value, 0);
}

describe('requestLog', () => {
  it('logs one line per answered request, with the route pattern and never the path itself', async () => {
    const app = await serve('info');
    closers.push(app.close);
    const before = await durationCount('/api/enroll/:token');
    const response = await fetch(`${app.url}/api/enroll/SECRET-TOKEN-123`);
    expect(response.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(app.lines).toHaveLength(1);
    expect(app.lines[0]).toMatchObject({ msg: 'request', method: 'GET', route: '/api/enroll/:token', status: 200, reqId: response.headers.get('x-request-id') });
    expect(JSON.stringify(app.lines)).not.toContain('SECRET-TOKEN-123');
    // The same close also timed it, under the same pattern.
    expect((await durationCount('/api/enroll/:token')) - before).toBe(1);
  });

  it('keeps a sane incoming X-Request-Id and replaces one that is not', async () => {
    const app = await serve('info');
    closers.push(app.close);
    const kept = await fetch(`${app.url}/api/enroll/x`, { headers: { 'x-request-id': 'trace-42.a_b' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-42.a_b');
    const replaced = await fetch(`${app.url}/api/enroll/x`, { headers: { 'x-request-id': 'no spaces or "quotes"' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('writes nothing when the level is above info, but still times the request', async () => {
    const app = await serve('warn');
    closers.push(app.close);
    const before = await durationCount('/api/enroll/:token');
    expect((await fetch(`${app.url}/api/enroll/x`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(app.lines).toEqual([]);
    expect((await durationCount('/api/enroll/:token')) - before).toBe(1);
  });

  it('does not log a response the client left before it was finished', async () => {
    const app = await serve('info');
    closers.push(app.close);
    await fetch(`${app.url}/api/slow`, { signal: AbortSignal.timeout(50) }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(app.lines).toEqual([]);
  });
});
