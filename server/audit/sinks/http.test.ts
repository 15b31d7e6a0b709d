import { afterEach, describe, expect, it } from 'vitest';
import type { SinkRecord } from './types.ts';
import { createHttpTransport, httpSinkBody } from './http.ts';
import { startHttpReceiver, type TestHttpReceiver } from './testing/httpReceiver.ts';

const TOKEN = 'sink-token-4c1e8d2a-91b7-4f3e-a6d0-7b5c2e9f1a38';

const records: SinkRecord[] = [
  { kind: 'event', seq: 1, time: '2026-03-01T10:00:00.000Z', severity: 'info', body: '{"seq":1,"text":"a\\nb"}' },
  { kind: 'checkpoint', seq: 1, time: '2026-03-01T10:00:01.500Z', severity: 'info', body: '{"seq":1,"type":"argus.audit.checkpoint"}' },
];

const receivers: TestHttpReceiver[] = [];
async function receiver(scheme = 'Bearer'): Promise<TestHttpReceiver> {
  const started = await startHttpReceiver({ token: TOKEN, scheme });
  receivers.push(started);
  return started;
}
afterEach(async () => {
  for (const started of receivers.splice(0)) await started.halt();
});

describe('the HTTP sink transport', () => {
  it('POSTs a batch as NDJSON with the bearer token', async () => {
    const collector = await receiver();
    const transport = createHttpTransport({ url: collector.url, token: TOKEN });
    await transport.deliver(records);
    await transport.close();
    expect(collector.requests).toHaveLength(1);
    expect(collector.requests[0]).toMatchObject({ method: 'POST', path: '/collector', authorization: `Bearer ${TOKEN}`, contentType: 'application/x-ndjson', status: 200 });
    expect(collector.requests[0]!.body).toBe(`${records[0]!.body}\n${records[1]!.body}\n`);
  });

  it('POSTs a JSON array, or Splunk HEC event objects with the Splunk scheme', async () => {
    const collector = await receiver();
    const json = createHttpTransport({ url: collector.url, token: TOKEN, envelope: 'json' });
    await json.deliver(records);
    await json.close();
    expect(collector.requests[0]!.contentType).toBe('application/json');
    expect(JSON.parse(collector.requests[0]!.body)).toEqual([{ seq: 1, text: 'a\nb' }, { seq: 1, type: 'argus.audit.checkpoint' }]);

    const splunk = await receiver('Splunk');
    const hec = createHttpTransport({ url: splunk.url, token: TOKEN, authScheme: 'Splunk', envelope: 'splunk-hec' });
    await hec.deliver(records);
    await hec.close();
    expect(splunk.requests[0]).toMatchObject({ authorization: `Splunk ${TOKEN}`, contentType: 'application/json', status: 200 });
    expect(splunk.requests[0]!.body.trim().split('\n').map((line) => JSON.parse(line) as unknown)).toEqual([
      { time: 1772359200, sourcetype: 'argus:audit', event: { seq: 1, text: 'a\nb' } },
      { time: 1772359201.5, sourcetype: 'argus:audit', event: { seq: 1, type: 'argus.audit.checkpoint' } },
    ]);
    expect(httpSinkBody([], 'json')).toBe('[]');
  });

  it('rejects anything but a 2xx, naming the status and what the collector said', async () => {
    const collector = await receiver();
    const transport = createHttpTransport({ url: collector.url, token: TOKEN });
    collector.answerWith(() => ({ status: 503, body: '{"text":"Server is busy",\n"code":9}' }));
    await expect(transport.deliver(records)).rejects.toThrow('HTTP 503: {"text":"Server is busy", "code":9}');
    collector.answerWith(() => ({ status: 400 }));
    await expect(transport.deliver(records)).rejects.toThrow(/^HTTP 400/);
    collector.answerWith(() => ({ status: 204 }));
    await expect(transport.deliver(records)).resolves.toBeUndefined();
    await transport.close();
  });

  it('never puts the token in an error, even when the collector echoes it back', async () => {
    const collector = await receiver();
    // The token starts near where the kept part of the answer is cut: no piece of it may survive.
    collector.answerWith((request) => ({ status: 403, body: `${'x'.repeat(180)} rejected ${request.authorization}` }));
    const transport = createHttpTransport({ url: collector.url, token: TOKEN });
    const error = await transport.deliver(records).then(
      () => null,
      (caught: unknown) => caught as Error,
    );
    await transport.close();
    expect(error?.message).toMatch(/^HTTP 403/);
    expect(error?.message).not.toContain(TOKEN);
    expect(error?.message).not.toContain(TOKEN.slice(0, 12));
  });

  it('does not follow a redirect: the token goes only to the configured URL', async () => {
    const collector = await receiver();
    const elsewhere = await receiver();
    collector.answerWith(() => ({ status: 307, headers: { location: elsewhere.url } }));
    const transport = createHttpTransport({ url: collector.url, token: TOKEN });
    await expect(transport.deliver(records)).rejects.toThrow('HTTP 307: redirect not followed');
    await transport.close();
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('sends a batch once more on a new connection when a kept-alive one turns out closed, and no more', async () => {
    const collector = await receiver();
    const transport = createHttpTransport({ url: collector.url, token: TOKEN });
    await transport.deliver(records); // leaves a kept-alive connection behind
    collector.answerWith((request) => (request.index === 1 ? 'destroy' : { status: 200 }));
    await expect(transport.deliver(records)).resolves.toBeUndefined();
    expect(collector.requests.map((request) => request.status)).toEqual([200, 0, 200]);
    collector.answerWith(() => 'destroy');
    await expect(transport.deliver(records)).rejects.toThrow('request failed: ECONNRESET');
    // The kept-alive attempt and one on a new connection: never a third.
    expect(collector.requests).toHaveLength(5);
    await transport.close();
  });

  it('gives up on a collector that does not answer, and on a connection that drops', async () => {
    const collector = await receiver();
    collector.answerWith(() => 'hang');
    const slow = createHttpTransport({ url: collector.url, token: TOKEN, timeoutMs: 200 });
    await expect(slow.deliver(records)).rejects.toThrow('no answer within 200 ms');
    await slow.close();
    collector.answerWith(() => 'destroy');
    const dropped = createHttpTransport({ url: collector.url, token: TOKEN });
    await expect(dropped.deliver(records)).rejects.toThrow(/request failed: ECONNRESET|socket hang up/);
    await dropped.close();
    await collector.halt();
    const refused = createHttpTransport({ url: collector.url, token: TOKEN });
    await expect(refused.deliver(records)).rejects.toThrow('request failed: ECONNREFUSED');
    await refused.close();
  });
});
