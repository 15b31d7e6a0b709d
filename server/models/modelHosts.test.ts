import { createServer, type Server } from 'node:http';
import type { LookupAddress } from 'node:dns';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.ts';
import type { ModelRow } from '../db/models.ts';
import { FakeOpenAI } from '../test/fakeOpenAI.ts';
import { ProviderError } from './completion.ts';
import { ModelHostGuard, NO_MODEL_HOST_ALLOWLIST, parseModelHostAllowlist, type ResolveHost } from './modelHosts.ts';
import { streamOpenAI } from './openaiProvider.ts';

let fake: FakeOpenAI;
let port: number;
/** Answers every request with `redirectStatus` to the fake model server, on 127.0.0.1. */
let redirector: Server;
let redirectStatus = 302;

beforeAll(async () => {
  fake = await FakeOpenAI.start();
  port = Number(new URL(fake.baseUrl).port);
  redirector = createServer((req, res) => {
    req.resume();
    res.writeHead(redirectStatus, { location: `${fake.baseUrl}/chat/completions` }).end();
  });
  await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await fake.stop();
  await new Promise((resolve) => redirector.close(resolve));
});

const strict = new ModelHostGuard({ allowlist: NO_MODEL_HOST_ALLOWLIST });

/** A name server that answers from a table (and counts what it was asked). */
function resolver(table: Record<string, string[] | (() => string[])>): ResolveHost & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (hostname: string): Promise<LookupAddress[]> => {
    asked.push(hostname);
    const entry = table[hostname];
    if (!entry) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return (typeof entry === 'function' ? entry() : entry).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { asked });
}

const model = (baseUrl: string): ModelRow => ({
  id: 'upstream',
  display_name: 'Upstream',
  description: '',
  provider: 'openai',
  base_url: baseUrl,
  upstream_model: 'llama3.2',
  api_key_env: null,
  tier: 'standard',
  enabled: true,
  grant_seconds: 300,
  requires_user_verification: false,
  max_output_tokens: 64,
  updated_at: new Date(),
});

/** A completion from `baseUrl` through `hosts`: the text, or the ProviderError it failed with. */
async function complete(baseUrl: string, hosts: ModelHostGuard): Promise<{ text: string } | { error: ProviderError }> {
  let text = '';
  try {
    await streamOpenAI(model(baseUrl), {
      messages: [{ role: 'user', content: 'hello' }],
      maxTokens: 8,
      signal: new AbortController().signal,
      timeoutMs: 2_000,
      hosts,
      onText: (piece) => (text += piece),
    });
    return { text };
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    return { error: error as ProviderError };
  }
}

/** Expects `baseUrl` to be refused at connect time, with nothing reaching the fake model server. */
async function expectRefusedAtConnect(baseUrl: string, hosts: ModelHostGuard): Promise<void> {
  const before = fake.requests.length;
  const outcome = await complete(baseUrl, hosts);
  expect('error' in outcome && outcome.error.code, baseUrl).toBe('MODEL_HOST_FORBIDDEN');
  // The browser learns that the address is inside, not which address it is.
  expect('error' in outcome && outcome.error.message, baseUrl).not.toMatch(/127\.0\.0\.1|169\.254|10\.1\.2\.3|::1/);
  expect(fake.requests.length, baseUrl).toBe(before);
}

/** Every spelling of an address inside, as an admin could type it (WHATWG URL normalises the IPv4 ones). */
const INSIDE = [
  'http://127.0.0.1/v1',
  'http://127.1/v1',
  'http://0x7f.1/v1',
  'http://2130706433/v1',
  'http://017700000001/v1',
  'http://0/v1',
  'http://[::1]/v1',
  'http://[::]/v1',
  'http://[::ffff:127.0.0.1]/v1',
  'http://[0:0:0:0:0:ffff:7f00:1]/v1',
  'http://[::127.0.0.1]/v1',
  'http://[::ffff:0:127.0.0.1]/v1',
  'http://[64:ff9b::7f00:1]/v1',
  'http://[2002:a9fe:a9fe::1]/v1',
  'http://169.254.169.254/latest/meta-data',
  'http://[::ffff:169.254.169.254]/v1',
  'http://10.1.2.3/v1',
  'http://[::ffff:10.1.2.3]/v1',
  'http://172.16.0.1/v1',
  'http://172.31.255.255/v1',
  'http://192.168.1.1/v1',
  'http://100.64.0.1/v1',
  'http://224.0.0.1/v1',
  'http://255.255.255.255/v1',
  'https://[fe80::1]/v1',
  'https://[fc00::1]/v1',
  'https://[fd12:3456::1]/v1',
  'https://[ff02::1]/v1',
];

describe('which model server addresses are inside', () => {
  it('refuses loopback, private, link-local (metadata), unique-local, CGNAT, 0/8 and multicast, in every spelling', async () => {
    for (const url of INSIDE) expect((await strict.checkBaseUrl(url)).allowed, url).toBe(false);
    expect(await strict.checkBaseUrl('http://169.254.169.254/')).toMatchObject({ allowed: false, range: 'link-local (cloud metadata)' });
    expect(await strict.checkBaseUrl('http://[::ffff:127.0.0.1]/')).toMatchObject({ allowed: false, range: 'loopback, as IPv6' });
  });

  it('lets addresses outside through, right next to the inside ranges', async () => {
    for (const url of [
      'https://8.8.8.8/v1',
      'https://172.32.0.1/v1',
      'https://172.15.255.255/v1',
      'https://100.128.0.1/v1',
      'https://192.169.0.1/v1',
      'https://11.0.0.1/v1',
      'https://[2606:4700:4700::1111]/v1',
      'https://[::ffff:8.8.8.8]/v1',
    ]) {
      expect((await strict.checkBaseUrl(url)).allowed, url).toBe(true);
    }
  });

  it('refuses a name that resolves inside when it is saved, any one of its addresses, and lets a name that does not resolve wait for the connection', async () => {
    const names = resolver({ 'models.example.com': ['93.184.215.14'], 'mixed.example.com': ['93.184.215.14', '10.0.0.7'], 'meta.example.com': ['169.254.169.254'] });
    const guard = new ModelHostGuard({ allowlist: NO_MODEL_HOST_ALLOWLIST, resolve: names });
    expect((await guard.checkBaseUrl('https://models.example.com/v1')).allowed).toBe(true);
    expect(await guard.checkBaseUrl('https://mixed.example.com/v1')).toMatchObject({ allowed: false, address: '10.0.0.7', range: 'private' });
    expect(await guard.checkBaseUrl('https://meta.example.com/v1')).toMatchObject({ allowed: false, range: 'link-local (cloud metadata)' });
    expect((await guard.checkBaseUrl('https://nowhere.example.com/v1')).allowed).toBe(true);
    // The system's own resolver: localhost is loopback.
    expect(await strict.checkBaseUrl(`http://localhost:${port}/v1`)).toMatchObject({ allowed: false, host: 'localhost', range: 'loopback' });
  });
});

describe('MODEL_HOST_ALLOWLIST', () => {
  it('reads host names, addresses and networks', () => {
    expect(parseModelHostAllowlist(' 127.0.0.1, LocalHost., ollama.internal ,0xbeef.gpu.internal,10.0.0.0/8,fd00::/8,[::1],')).toEqual({
      hostnames: ['localhost', 'ollama.internal', '0xbeef.gpu.internal'],
      networks: ['127.0.0.1/32', '10.0.0.0/8', 'fd00::/8', '::1/128'],
    });
  });

  it('stops start-up on an entry that is none of those, naming the variable', () => {
    for (const value of ['10.0.0.0/33', 'not a host!', '2130706433', '0x7f.1', '127.1', '1.2.3.4.5', 'http://ollama:11434', '10.0.0.1/8/8']) {
      expect(() => loadConfig({ NODE_ENV: 'test', MODEL_HOST_ALLOWLIST: value, SESSION_SECRET: 'x'.repeat(32) }), value).toThrow(ConfigError);
      expect(() => loadConfig({ NODE_ENV: 'test', MODEL_HOST_ALLOWLIST: value, SESSION_SECRET: 'x'.repeat(32) }), value).toThrow(/MODEL_HOST_ALLOWLIST/);
    }
    expect(loadConfig({ NODE_ENV: 'test', SESSION_SECRET: 'x'.repeat(32) }).modelHostAllowlist).toEqual({ hostnames: [], networks: [] });
  });

  it('allows exactly what it names: an address (in any spelling), a network, or a host name whatever it resolves to', async () => {
    const loopback = new ModelHostGuard({ allowlist: parseModelHostAllowlist('127.0.0.1') });
    expect((await loopback.checkBaseUrl('http://127.0.0.1:11434/v1')).allowed).toBe(true);
    expect((await loopback.checkBaseUrl('http://[::ffff:127.0.0.1]:11434/v1')).allowed).toBe(true);
    expect((await loopback.checkBaseUrl('http://127.0.0.2:11434/v1')).allowed).toBe(false);
    expect((await loopback.checkBaseUrl('http://169.254.169.254/')).allowed).toBe(false);
    const network = new ModelHostGuard({ allowlist: parseModelHostAllowlist('10.0.0.0/8') });
    expect((await network.checkBaseUrl('http://10.1.2.3/v1')).allowed).toBe(true);
    expect((await network.checkBaseUrl('http://192.168.1.1/v1')).allowed).toBe(false);
    const named = new ModelHostGuard({ allowlist: parseModelHostAllowlist('ollama.internal'), resolve: resolver({ 'ollama.internal': ['10.9.8.7'], 'other.internal': ['10.9.8.7'] }) });
    expect((await named.checkBaseUrl('http://ollama.internal:11434/v1')).allowed).toBe(true);
    expect((await named.checkBaseUrl('http://other.internal:11434/v1')).allowed).toBe(false);
  });
});

describe('the check at connect time (real connections)', () => {
  it('refuses every inside address before a byte is sent, over http and https', async () => {
    for (const url of [
      `http://127.0.0.1:${port}/v1`,
      `http://[::1]:${port}/v1`,
      `http://[::ffff:127.0.0.1]:${port}/v1`,
      `http://2130706433:${port}/v1`,
      `http://0x7f.1:${port}/v1`,
      `http://localhost:${port}/v1`,
      `https://127.0.0.1:${port}/v1`,
      'http://169.254.169.254/v1',
      'http://10.1.2.3/v1',
    ]) {
      await expectRefusedAtConnect(url, strict);
    }
  });

  it('refuses a name that resolves inside, even when only one of its addresses does', async () => {
    const names = resolver({ 'models.example.com': ['127.0.0.1'], 'mixed.example.com': ['93.184.215.14', '127.0.0.1'] });
    const guard = new ModelHostGuard({ allowlist: NO_MODEL_HOST_ALLOWLIST, resolve: names });
    await expectRefusedAtConnect(`http://models.example.com:${port}/v1`, guard);
    await expectRefusedAtConnect(`http://mixed.example.com:${port}/v1`, guard);
    expect(names.asked).toEqual(['models.example.com', 'mixed.example.com']);
  });

  it('refuses a name that resolved outside when it was saved and inside when connected to (DNS rebinding)', async () => {
    let answers = 0;
    const names = resolver({ 'rebind.example.com': () => (answers++ === 0 ? ['93.184.215.14'] : ['127.0.0.1']) });
    const guard = new ModelHostGuard({ allowlist: NO_MODEL_HOST_ALLOWLIST, resolve: names });
    const baseUrl = `http://rebind.example.com:${port}/v1`;
    expect((await guard.checkBaseUrl(baseUrl)).allowed).toBe(true);
    await expectRefusedAtConnect(baseUrl, guard);
    expect(names.asked).toEqual(['rebind.example.com', 'rebind.example.com']);
  });

  it('does not follow a redirect from an allowed server to an inside address', async () => {
    // The redirecting server stands for a public one: allowed by name, whatever it resolves to.
    const guard = new ModelHostGuard({ allowlist: parseModelHostAllowlist('public.example.com'), resolve: resolver({ 'public.example.com': ['127.0.0.1'] }) });
    const baseUrl = `http://public.example.com:${(redirector.address() as AddressInfo).port}/v1`;
    for (const status of [301, 302, 303, 307, 308]) {
      redirectStatus = status;
      const before = fake.requests.length;
      const outcome = await complete(baseUrl, guard);
      expect('error' in outcome && outcome.error.code, String(status)).toBe('MODEL_REDIRECT_REFUSED');
      expect('error' in outcome && outcome.error.message).toContain(`HTTP ${status}`);
      expect(fake.requests.length).toBe(before);
    }
  });

  it('connects to what MODEL_HOST_ALLOWLIST names: an address, a network, a host name', async () => {
    fake.mode = 'normal';
    const expected = Array.from({ length: 20 }, (_, i) => `tok${i} `).join('');
    const cases: Array<[string, ModelHostGuard]> = [
      [`http://127.0.0.1:${port}/v1`, new ModelHostGuard({ allowlist: parseModelHostAllowlist('127.0.0.1') })],
      [`http://127.0.0.1:${port}/v1`, new ModelHostGuard({ allowlist: parseModelHostAllowlist('127.0.0.0/8') })],
      [`http://localhost:${port}/v1`, new ModelHostGuard({ allowlist: parseModelHostAllowlist('localhost') })],
      [`http://ollama.internal:${port}/v1`, new ModelHostGuard({ allowlist: parseModelHostAllowlist('ollama.internal'), resolve: resolver({ 'ollama.internal': ['127.0.0.1'] }) })],
    ];
    for (const [url, guard] of cases) expect(await complete(url, guard), url).toEqual({ text: expected });
  });
});
