/**
 * The syslog sink's transport (issue #19): RFC 5424 messages, RFC 5425 framing over TLS,
 * checked first against the RFCs' own examples and then against a real rsyslog
 * (Debian's rsyslog + rsyslog-gnutls, started by the test with its own CA and config).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Severity } from '../../../shared/audit.ts';
import {
  createSyslogTransport,
  escapeParamValue,
  formatSinkRecord,
  formatSyslogMessage,
  frameOctetCounted,
  syslogTimestamp,
  toPrintUsAscii,
  type SyslogTransportError,
} from './syslog.ts';
import { createTestCa, startTestRsyslog, type ReceivedSyslogMessage, type TestRsyslog } from './testing/rsyslog.ts';
import type { SinkRecord, SinkTransport } from './types.ts';

const BOM = '\uFEFF';

/** Splits an octet-counted stream back into messages, as a receiver does (RFC 5425 §4.3). */
function splitOctetCounted(stream: Buffer): string[] {
  const messages: string[] = [];
  let at = 0;
  while (at < stream.length) {
    const space = stream.indexOf(0x20, at);
    const length = Number(stream.subarray(at, space).toString('ascii'));
    messages.push(stream.subarray(space + 1, space + 1 + length).toString('utf8'));
    at = space + 1 + length;
  }
  return messages;
}

describe('formatSyslogMessage (RFC 5424)', () => {
  it('reproduces RFC 5424 §6.5 example 2 byte for byte (microseconds, an offset, NILVALUEs)', () => {
    expect(
      formatSyslogMessage({
        facility: 20,
        severity: 5,
        timestamp: '2003-08-24T05:14:15.000003-07:00',
        hostname: '192.0.2.1',
        appName: 'myproc',
        procId: '8710',
        msgId: null,
        structuredData: [],
        msg: "%% It's time to make the do-nuts.",
      }),
    ).toBe("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.");
  });

  it('reproduces RFC 5424 §6.5 example 4 (two SD-ELEMENTs, no MSG)', () => {
    expect(
      formatSyslogMessage({
        facility: 20,
        severity: 5,
        timestamp: '2003-10-11T22:14:15.003Z',
        hostname: 'mymachine.example.com',
        appName: 'evntslog',
        procId: null,
        msgId: 'ID47',
        structuredData: [
          { id: 'exampleSDID@32473', params: [['iut', '3'], ['eventSource', 'Application'], ['eventID', '1011']] },
          { id: 'examplePriority@32473', params: [['class', 'high']] },
        ],
      }),
    ).toBe('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]');
  });

  it('reproduces RFC 5424 §6.5 example 1 except the BOM, which Argus leaves out on purpose', () => {
    const rfcExample = `<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - ${BOM}'su root' failed for lonvick on /dev/pts/8`;
    const formatted = formatSyslogMessage({
      facility: 4,
      severity: 2,
      timestamp: '2003-10-11T22:14:15.003Z',
      hostname: 'mymachine.example.com',
      appName: 'su',
      procId: null,
      msgId: 'ID47',
      structuredData: [],
      msg: "'su root' failed for lonvick on /dev/pts/8",
    });
    expect(formatted).toBe(rfcExample.replace(BOM, ''));
    expect(formatted).not.toContain(BOM);
  });

  it('computes PRI as facility × 8 + severity, with Argus severities mapped to syslog ones under authpriv', () => {
    const record = (severity: Severity): SinkRecord => ({ kind: 'event', seq: 1, time: '2024-05-06T07:08:09.123Z', severity, body: 'x' });
    const origin = { facility: 10, hostname: 'h', appName: 'argus', procId: '1' };
    const pri = (severity: Severity) => formatSinkRecord(record(severity), origin).match(/^<(\d+)>1 /)?.[1];
    // authpriv = 10, so 80 + crit 2 / err 3 / warning 4 / notice 5 / info 6.
    expect({ critical: pri('critical'), high: pri('high'), medium: pri('medium'), low: pri('low'), info: pri('info') }).toEqual({
      critical: '82',
      high: '83',
      medium: '84',
      low: '85',
      info: '86',
    });
    expect(formatSinkRecord(record('critical'), { ...origin, facility: 4 })).toMatch(/^<34>1 /);
    const base = { timestamp: null, hostname: null, appName: null, procId: null, msgId: null, structuredData: [] };
    expect(formatSyslogMessage({ ...base, facility: 23, severity: 7 })).toBe('<191>1 - - - - - -');
    expect(formatSyslogMessage({ ...base, facility: 0, severity: 0 })).toBe('<0>1 - - - - - -');
    expect(() => formatSyslogMessage({ ...base, facility: 24, severity: 0 })).toThrow(RangeError);
    expect(() => formatSyslogMessage({ ...base, facility: 0, severity: 8 })).toThrow(RangeError);
    expect(() => formatSyslogMessage({ ...base, facility: 1.5, severity: 0 })).toThrow(RangeError);
  });

  it('escapes ", \\ and ] in PARAM-VALUE (§6.3.3) and nothing else', () => {
    expect(escapeParamValue('a"b\\c]d')).toBe('a\\"b\\\\c\\]d');
    expect(escapeParamValue('[=\n😀 ')).toBe('[=\n😀 ');
    const message = formatSyslogMessage({
      facility: 10,
      severity: 6,
      timestamp: null,
      hostname: null,
      appName: null,
      procId: null,
      msgId: null,
      structuredData: [{ id: 'argus@32473', params: [['note', 'say "hi"] \\o/']] }],
      msg: 'body',
    });
    expect(message).toBe('<86>1 - - - - - [argus@32473 note="say \\"hi\\"\\] \\\\o/"] body');
  });

  it('refuses SD-IDs and PARAM-NAMEs that are not SD-NAMEs, and header fields outside PRINTUSASCII', () => {
    const base = { facility: 10, severity: 6, timestamp: null, hostname: null, appName: null, procId: null, msgId: null };
    for (const bad of ['a b', 'a=b', 'a]b', 'a"b', 'ü', '', 'x'.repeat(33)]) {
      expect(() => formatSyslogMessage({ ...base, structuredData: [{ id: bad, params: [] }] }), bad).toThrow(RangeError);
      expect(() => formatSyslogMessage({ ...base, structuredData: [{ id: 'ok@32473', params: [[bad, 'v']] }] }), bad).toThrow(RangeError);
    }
    expect(() => formatSyslogMessage({ ...base, hostname: 'two words', structuredData: [] })).toThrow(RangeError);
    expect(() => formatSyslogMessage({ ...base, msgId: 'm'.repeat(33), structuredData: [] })).toThrow(RangeError);
  });

  it('reduces header values to printable US-ASCII within the field limit', () => {
    expect(toPrintUsAscii('argus nöde\n1', 255)).toBe('argusnde1');
    expect(toPrintUsAscii('h'.repeat(300), 255)).toBe('h'.repeat(255));
    expect(toPrintUsAscii(' \t ', 255)).toBeNull();
  });

  it('keeps RFC 5424 timestamps as they are and rewrites or drops anything else', () => {
    expect(syslogTimestamp('2024-05-06T07:08:09.123456Z')).toBe('2024-05-06T07:08:09.123456Z');
    expect(syslogTimestamp('2024-05-06T07:08:09+02:00')).toBe('2024-05-06T07:08:09+02:00');
    // Seven fraction digits and a space separator are not RFC 5424; both become UTC.
    expect(syslogTimestamp('2024-05-06 07:08:09.123Z')).toBe('2024-05-06T07:08:09.123Z');
    expect(syslogTimestamp('not a time')).toBeNull();
    const base = { facility: 10, severity: 6, hostname: null, appName: null, procId: null, msgId: null, structuredData: [] };
    expect(() => formatSyslogMessage({ ...base, timestamp: '2024-05-06 07:08:09Z' })).toThrow(RangeError);
    expect(() => formatSyslogMessage({ ...base, timestamp: '2024-05-06T07:08:09.1234567Z' })).toThrow(RangeError);
  });

  it('builds MSGID and structured data from the record', () => {
    const origin = { facility: 10, hostname: 'node-1', appName: 'argus', procId: '42' };
    expect(formatSinkRecord({ kind: 'event', seq: 7, time: '2024-05-06T07:08:09.123Z', severity: 'high', body: '{"a":1}' }, origin)).toBe(
      '<83>1 2024-05-06T07:08:09.123Z node-1 argus 42 audit [argus@32473 seq="7" kind="event"] {"a":1}',
    );
    expect(formatSinkRecord({ kind: 'checkpoint', seq: 9, time: '2024-05-06T07:08:10Z', severity: 'info', body: 'c' }, origin)).toBe(
      '<86>1 2024-05-06T07:08:10Z node-1 argus 42 checkpoint [argus@32473 seq="9" kind="checkpoint"] c',
    );
  });

  it('frames with the byte length, not the character count (RFC 5425 §4.3)', () => {
    const texts = ['é', '😀', '\u2028', '\u0085', 'a\nb', 'plain', 'lone \uD800 surrogate'];
    const frames = texts.map((text) => frameOctetCounted(`<86>1 - - - - - - ${text}`));
    expect(frames[0]).toBe(`20 <86>1 - - - - - - é`); // 18 ASCII bytes + 2 for é
    expect(frames[1]).toMatch(/^22 /); // the emoji is 4 bytes (2 UTF-16 units)
    expect(frames[2]).toMatch(/^21 /); // U+2028 is 3 bytes
    expect(frames[3]).toMatch(/^20 /); // NEL is 2 bytes
    // A receiver splitting the concatenated stream gets every message back whole.
    const stream = Buffer.from(frames.join(''), 'utf8');
    expect(splitOctetCounted(stream)).toEqual(texts.map((text) => `<86>1 - - - - - - ${text.replace('\uD800', '\uFFFD')}`));
  });
});

describe('syslog transport against a real rsyslog over TLS', () => {
  let rsyslog: TestRsyslog;
  let mutualTls: TestRsyslog;
  let restartable: TestRsyslog;
  const transports: SinkTransport[] = [];
  let nextSeq = 1;

  const transportFor = (receiver: TestRsyslog, options: Partial<Parameters<typeof createSyslogTransport>[0]> = {}) => {
    const transport = createSyslogTransport({ host: '127.0.0.1', port: receiver.port, ca: receiver.caPem, hostname: 'argus-node-1', ...options });
    transports.push(transport);
    return transport;
  };
  const records = (bodies: string[], severity: Severity = 'info'): SinkRecord[] =>
    bodies.map((body) => ({ kind: 'event', seq: nextSeq++, time: '2024-05-06T07:08:09.123Z', severity, body }));
  const seqOf = (message: ReceivedSyslogMessage) => Number(/ seq="(\d+)"/.exec(message.structuredData)?.[1]);
  /** Waits for `batch` to arrive at `receiver` and returns the messages that carry its seqs. */
  async function received(receiver: TestRsyslog, batch: SinkRecord[], before: number, timeoutMs = 10_000): Promise<ReceivedSyslogMessage[]> {
    const wanted = new Set(batch.map((record) => record.seq));
    return (await receiver.waitForMessages(before + batch.length, timeoutMs)).slice(before).filter((message) => wanted.has(seqOf(message)));
  }
  const errorOf = async (promise: Promise<unknown>) => (await promise.then(() => expect.unreachable('deliver resolved'), (error: unknown) => error)) as SyslogTransportError;

  beforeAll(async () => {
    [rsyslog, mutualTls, restartable] = await Promise.all([startTestRsyslog(), startTestRsyslog({ requireClientCert: true }), startTestRsyslog()]);
  });

  afterAll(async () => {
    await Promise.all(transports.map((transport) => transport.close()));
    await Promise.all([rsyslog?.stop(), mutualTls?.stop(), restartable?.stop()]);
  });

  it('delivers batches in order, each record once, with seq, kind and severity where a SIEM reads them', async () => {
    const transport = transportFor(rsyslog);
    const before = rsyslog.readLines().length;
    const first = (['critical', 'high', 'medium', 'low', 'info'] as const).flatMap((severity) => records([`${severity} event`], severity));
    const checkpoint: SinkRecord = { kind: 'checkpoint', seq: first.at(-1)!.seq, time: '2024-05-06T07:08:10.5Z', severity: 'info', body: '{"checkpoint":true}' };
    const second = records(['after', 'the', 'checkpoint']);
    await transport.deliver([...first, checkpoint]);
    await transport.deliver(second);

    const messages = (await rsyslog.waitForMessages(before + 9)).slice(before);
    expect(messages.map((message) => message.msg)).toEqual([...first, checkpoint, ...second].map((record) => record.body));
    expect(messages.map((message) => message.structuredData)).toEqual(
      [...first, checkpoint, ...second].map((record) => `[argus@32473 seq="${record.seq}" kind="${record.kind}"]`),
    );
    expect(messages.slice(0, 5).map((message) => [message.facility, message.severity])).toEqual([
      [10, 2],
      [10, 3],
      [10, 4],
      [10, 5],
      [10, 6],
    ]);
    expect(messages.map((message) => message.msgId)).toEqual([...Array(5).fill('audit'), 'checkpoint', ...Array(3).fill('audit')]);
    expect(messages[0]).toMatchObject({ pri: 82, timestamp: '2024-05-06T07:08:09.123Z', hostname: 'argus-node-1', appName: 'argus', procId: String(process.pid) });
    expect(messages[5]!.timestamp).toBe('2024-05-06T07:08:10.5Z');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(rsyslog.readLines()).toHaveLength(before + 9);
  });

  it('keeps hostile text intact and every record one message, whatever line breaks its body holds', async () => {
    const transport = transportFor(rsyslog, { hostname: 'argus nöde\n1' });
    const before = rsyslog.readLines().length;
    const bodies = [
      'emoji 😀 👩‍👩‍👧 and é',
      'line\u2028separator and paragraph\u2029separator',
      'next\u0085line',
      'brackets ] [argus@32473 seq="1"] quotes " and backslash \\',
      'line one\nline two\r\nline three',
      `forged\n<13>1 2024-01-01T00:00:00Z evil argus 1 audit [argus@32473 seq="1" kind="event"] forged`,
      '38 <13>1 - - - - - - looks like a frame',
      `byte order mark ${BOM} inside, DEL \x7f and tab\t`,
      `long ${'ü😀'.repeat(5_000)} end`,
    ];
    const batch = records(bodies, 'medium');
    await transport.deliver(batch);
    const messages = await received(rsyslog, batch, before);
    expect(messages.map((message) => message.msg)).toEqual(bodies);
    expect(messages.map(seqOf)).toEqual(batch.map((record) => record.seq));
    // What rsyslog wrote: one line per record (line breaks inside a body stay escaped within it).
    expect(rsyslog.readLines()).toHaveLength(before + bodies.length);
    expect(messages[0]!.hostname).toBe('argusnde1');
  });

  it('refuses a receiver whose certificate does not chain to the configured CA', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'argus-other-ca-'));
    try {
      const otherCa = createTestCa(dir, 'other-ca');
      const before = rsyslog.readLines().length;
      const error = await errorOf(transportFor(rsyslog, { ca: otherCa.pem }).deliver(records(['must not arrive'])));
      expect(error.code).toBe('SYSLOG_CONNECT_FAILED');
      expect((error.cause as { code?: string }).code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(rsyslog.readLines()).toHaveLength(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a receiver whose certificate does not name the expected server, and accepts one that does', async () => {
    const error = await errorOf(transportFor(rsyslog, { serverName: 'siem.example.com' }).deliver(records(['must not arrive'])));
    expect(error.code).toBe('SYSLOG_CONNECT_FAILED');
    expect((error.cause as { code?: string }).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');

    const before = rsyslog.readLines().length;
    const batch = records(['named localhost']);
    await transportFor(rsyslog, { serverName: 'localhost' }).deliver(batch);
    expect((await received(rsyslog, batch, before)).map((message) => message.msg)).toEqual(['named localhost']);
  });

  it('presents a client certificate, and fails (not silently drops) when the receiver requires one it did not get', async () => {
    const before = mutualTls.readLines().length;
    const batch = records(['from a known client']);
    await transportFor(mutualTls, { cert: mutualTls.clientCertPem, key: mutualTls.clientKeyPem }).deliver(batch);
    expect((await received(mutualTls, batch, before)).map((message) => message.msg)).toEqual(['from a known client']);

    // rsyslog completes the handshake, then checks the certificate and hangs up: a batch written at once would vanish.
    const error = await errorOf(transportFor(mutualTls).deliver(records(['no client certificate'])));
    expect(error.code).toBe('SYSLOG_CONNECT_FAILED');
    expect(error.message).toMatch(/right after the TLS handshake/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(mutualTls.readLines()).toHaveLength(before + 1);
  });

  it('fails a batch when rsyslog stops mid-stream or stops reading, and reconnects once it is back', async () => {
    const transport = transportFor(restartable);
    const stalled = transportFor(restartable, { writeTimeoutMs: 500 });
    let before = restartable.readLines().length;
    const warmUp = records(['before the outage', 'connects the stalled transport']);
    await transport.deliver(warmUp.slice(0, 1));
    await stalled.deliver(warmUp.slice(1));
    await received(restartable, warmUp, before);

    // Paused, rsyslog reads nothing: once the kernel's buffers are full (its receive buffer does not grow
    // while nothing is read), back-pressure holds the 12 MB batch.
    const big = () => records(Array.from({ length: 12_000 }, (_, i) => `${i} ${'x'.repeat(1_000)}`));
    process.kill(restartable.pid!, 'SIGSTOP');
    const timedOut = await errorOf(stalled.deliver(big()));
    expect(timedOut.code).toBe('SYSLOG_WRITE_TIMEOUT');

    const inFlight = transport.deliver(big());
    const outcome = await Promise.race([inFlight.then(() => 'resolved', () => 'rejected'), new Promise((resolve) => setTimeout(() => resolve('pending'), 300))]);
    expect(outcome).toBe('pending');
    await restartable.halt('SIGKILL');
    expect((await errorOf(inFlight)).code).toBe('SYSLOG_CONNECTION_LOST');

    // While it is down, a batch fails at once.
    const refused = await errorOf(transport.deliver(records(['while down'])));
    expect(refused.code).toBe('SYSLOG_CONNECT_FAILED');
    expect((refused.cause as { code?: string }).code).toBe('ECONNREFUSED');

    await restartable.start();
    before = restartable.readLines().length;
    const afterCrash = records(['after the restart', 'in order']);
    await transport.deliver(afterCrash);
    expect((await received(restartable, afterCrash, before)).map((message) => message.msg)).toEqual(['after the restart', 'in order']);

    // A clean restart between batches closes the idle connection; the next batch opens a new one.
    await restartable.halt();
    await restartable.start();
    before = restartable.readLines().length;
    const afterRestart = records(['after a clean restart']);
    await transport.deliver(afterRestart);
    expect((await received(restartable, afterRestart, before)).map((message) => message.msg)).toEqual(['after a clean restart']);
  });

  it('gives up connecting after connectTimeoutMs when the receiver never answers the handshake', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as { port: number };
      const started = Date.now();
      const error = await errorOf(createSyslogTransport({ host: '127.0.0.1', port, ca: rsyslog.caPem, connectTimeoutMs: 300 }).deliver(records(['x'])));
      expect(error.code).toBe('SYSLOG_CONNECT_TIMEOUT');
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('streams 50,000 records (throughput figure)', async () => {
    const transport = transportFor(rsyslog);
    await transport.deliver(records(['warm-up']));
    const before = rsyslog.readLines().length;
    const count = 50_000;
    const body = JSON.stringify({ action: 'auth.signin', actor: 'alice', ip: '10.0.0.1', outcome: 'success', details: { userAgent: 'Mozilla/5.0 (X11; Linux x86_64)' } });
    const batch = records(Array.from({ length: count }, () => body));
    const started = performance.now();
    for (let at = 0; at < count; at += 5_000) await transport.deliver(batch.slice(at, at + 5_000));
    const sent = performance.now();
    const messages = await received(rsyslog, batch, before, 15_000);
    const written = performance.now();
    console.log(
      `syslog over TLS to rsyslog: ${count} records in batches of 5,000 sent in ${(sent - started).toFixed(0)} ms ` +
        `(${Math.round(count / ((sent - started) / 1000))}/s), all written by rsyslog after ${(written - started).toFixed(0)} ms ` +
        `(${Math.round(count / ((written - started) / 1000))}/s end to end)`,
    );
    expect(messages.map(seqOf)).toEqual(batch.map((record) => record.seq));
  });
});
