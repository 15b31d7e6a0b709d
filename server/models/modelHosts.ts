import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import { Agent as HttpAgent, type ClientRequestArgs } from 'node:http';
import { Agent as HttpsAgent, type RequestOptions as HttpsRequestOptions } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * Where a model's server may be (threat model G8, SSRF). Argus sends prompts, and the server's
 * API keys, to the base URL an admin sets; that URL must not reach inside the network Argus
 * runs in — its own loopback, Redis and Postgres hosts, the cloud metadata service
 * (169.254.169.254) — unless the operator says so in MODEL_HOST_ALLOWLIST.
 *
 * The rule is applied to the address each connection is actually made to: every model request
 * goes through the agents of a ModelHostGuard, whose `lookup` resolves the name, checks every
 * address it gets, and fails the connection if one is inside. A name that resolved outside
 * when it was saved and inside later (DNS rebinding) is refused all the same. The check when a
 * model is saved only gives the admin an early answer.
 */

/** What MODEL_HOST_ALLOWLIST allows, parsed once at start-up. */
export interface ModelHostAllowlist {
  /** Host names allowed whatever they resolve to: lower-case, no trailing dot. */
  hostnames: string[];
  /** Addresses and networks allowed, as CIDRs: 127.0.0.1/32, 10.0.0.0/8, fd00::/8. */
  networks: string[];
}

export const NO_MODEL_HOST_ALLOWLIST: ModelHostAllowlist = Object.freeze({ hostnames: [], networks: [] }) as ModelHostAllowlist;

/** The name of a connection that is refused, and why. */
export interface HostRefusal {
  host: string;
  /** The address that is inside (the host itself when it is an IP literal). */
  address: string;
  /** What that address is, in words: "loopback", "private", "link-local (cloud metadata)"… */
  range: string;
}

export type HostVerdict = { allowed: true } | ({ allowed: false } & HostRefusal);

/** The stable error a refused connection fails with (its `code` is what callers test). */
export class ModelHostForbiddenError extends Error {
  override name = 'ModelHostForbiddenError';
  readonly code = 'MODEL_HOST_FORBIDDEN';
  constructor(readonly refusal: HostRefusal) {
    // Logged by the caller, never sent to a browser: it names an internal address.
    super(`connection to ${refusal.host} (${refusal.address}, ${refusal.range}) refused: not in MODEL_HOST_ALLOWLIST`);
  }
}

/** Resolves a host name to every address it has (dns.lookup, as Node's own connections do). */
export type ResolveHost = (hostname: string) => Promise<LookupAddress[]>;

const systemResolve: ResolveHost = (hostname) => dnsLookup(hostname, { all: true });

/** Save time only: a name that takes longer than this to resolve is left to the check at connect time. */
const SAVE_RESOLVE_TIMEOUT_MS = 3_000;

// --- Address ranges ------------------------------------------------------------------------

function blockList(family: 'ipv4' | 'ipv6', cidrs: string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [network, prefix] = cidr.split('/');
    list.addSubnet(network!, Number(prefix), family);
  }
  return list;
}

/** IPv4 ranges that are inside, or nobody's (RFC 6890 special-purpose registry). */
const INTERNAL_IPV4: Array<[range: string, list: BlockList]> = [
  ['unspecified ("this network")', blockList('ipv4', ['0.0.0.0/8'])],
  ['loopback', blockList('ipv4', ['127.0.0.0/8'])],
  ['private', blockList('ipv4', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'])],
  ['link-local (cloud metadata)', blockList('ipv4', ['169.254.0.0/16'])],
  ['shared (carrier-grade NAT)', blockList('ipv4', ['100.64.0.0/10'])],
  ['IETF protocol assignments', blockList('ipv4', ['192.0.0.0/24'])],
  ['multicast', blockList('ipv4', ['224.0.0.0/4'])],
  ['reserved or broadcast', blockList('ipv4', ['240.0.0.0/4'])],
];

/** IPv6 ranges that are inside (those that carry an IPv4 address are checked by that address). */
const INTERNAL_IPV6: Array<[range: string, list: BlockList]> = [
  ['link-local', blockList('ipv6', ['fe80::/10'])],
  ['site-local', blockList('ipv6', ['fec0::/10'])],
  ['unique-local', blockList('ipv6', ['fc00::/7'])],
  ['multicast', blockList('ipv6', ['ff00::/8'])],
  ['discard-only', blockList('ipv6', ['100::/64'])],
];

/** The eight 16-bit groups of an IPv6 address (any spelling, with or without a dotted IPv4 tail). */
function ipv6Groups(address: string): number[] {
  let text = address;
  const dotted = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -dotted[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}

function ipv4From(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/**
 * The IPv4 address an IPv6 address stands for, where a packet to it reaches that IPv4 host:
 * IPv4-mapped (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), IPv4-compatible (::a.b.c.d,
 * which also makes :: and ::1 read as 0.0.0.0 and 0.0.0.1), NAT64 (64:ff9b::/96) and 6to4
 * (2002:AABB:CCDD::/48).
 */
function embeddedIpv4(address: string): string | null {
  const g = ipv6Groups(address);
  const zeros = (from: number, to: number) => g.slice(from, to).every((group) => group === 0);
  if (zeros(0, 5) && (g[5] === 0xffff || g[5] === 0)) return ipv4From(g[6]!, g[7]!);
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return ipv4From(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return ipv4From(g[6]!, g[7]!);
  if (g[0] === 0x2002) return ipv4From(g[1]!, g[2]!);
  return null;
}

/** Strips brackets and an IPv6 zone (fe80::1%eth0), as DNS answers may carry one. */
function bareAddress(address: string): string {
  return address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
}

/** What kind of inside address this is, or null for an address on the outside. */
export function internalRange(address: string): string | null {
  const bare = bareAddress(address);
  const family = isIP(bare);
  if (family === 4) return INTERNAL_IPV4.find(([, list]) => list.check(bare, 'ipv4'))?.[0] ?? null;
  if (family !== 6) return 'not an IP address';
  const groups = ipv6Groups(bare);
  if (groups.slice(0, 7).every((group) => group === 0) && groups[7]! <= 1) return groups[7] === 1 ? 'loopback' : 'unspecified';
  const ipv4 = embeddedIpv4(bare);
  if (ipv4) {
    const range = internalRange(ipv4);
    return range ? `${range}, as IPv6` : null;
  }
  return INTERNAL_IPV6.find(([, list]) => list.check(bare, 'ipv6'))?.[0] ?? null;
}

// --- MODEL_HOST_ALLOWLIST --------------------------------------------------------------------

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** The host a URL makes of `name` (WHATWG normalisation), or null when no URL can hold it. */
function urlHostOf(name: string): string | null {
  try {
    return new URL(`http://${name}/`).hostname;
  } catch {
    return null;
  }
}

/** What an entry of MODEL_HOST_ALLOWLIST is, or why it cannot be one. */
function allowlistEntry(raw: string): { hostname: string } | { network: string } | { problem: string } {
  const entry = raw.trim().toLowerCase();
  if (entry.includes('/')) {
    const [network = '', prefix = '', ...extra] = entry.split('/');
    const family = isIP(bareAddress(network));
    const bits = family === 4 ? 32 : 128;
    if (family === 0 || extra.length > 0 || !/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) return { problem: `"${raw}" is not a network (e.g. 10.0.0.0/8 or fd00::/8)` };
    return { network: `${bareAddress(network)}/${Number(prefix)}` };
  }
  const address = bareAddress(entry);
  if (isIP(address) === 4) return { network: `${address}/32` };
  if (isIP(address) === 6) return { network: `${address}/128` };
  const hostname = entry.replace(/\.$/, '');
  // A name a URL reads as an IPv4 address (2130706433, 0x7f.1, 127.1) would never match a
  // URL's host, which is normalised: the address itself must be written.
  const asUrlHost = urlHostOf(hostname);
  if (!HOSTNAME.test(hostname) || asUrlHost === null || isIP(asUrlHost)) {
    return { problem: `"${raw}" is not a host name, an IP address or a network` };
  }
  return { hostname };
}

/** Why MODEL_HOST_ALLOWLIST cannot be read, or null when it can. */
export function modelHostAllowlistProblem(value: string): string | null {
  for (const raw of value.split(',')) {
    if (raw.trim() === '') continue;
    const entry = allowlistEntry(raw);
    if ('problem' in entry) return `${entry.problem}; give comma-separated host names, IP addresses and networks (CIDR)`;
  }
  return null;
}

/** MODEL_HOST_ALLOWLIST, checked already by modelHostAllowlistProblem. */
export function parseModelHostAllowlist(value: string | undefined): ModelHostAllowlist {
  const allowlist: ModelHostAllowlist = { hostnames: [], networks: [] };
  for (const raw of (value ?? '').split(',')) {
    if (raw.trim() === '') continue;
    const entry = allowlistEntry(raw);
    if ('hostname' in entry) allowlist.hostnames.push(entry.hostname);
    else if ('network' in entry) allowlist.networks.push(entry.network);
  }
  return allowlist;
}

// --- The guard ----------------------------------------------------------------------------

/** The host of a URL as connections see it: no brackets, lower-case, no trailing dot. */
export function urlHost(url: URL): string {
  return bareAddress(url.hostname).replace(/\.$/, '');
}

/**
 * The agents every model request is made with, and the rule they apply. One per allowlist
 * (modelHostGuard): connections are kept alive per guard, never shared across rules.
 */
export class ModelHostGuard {
  private readonly hostnames: Set<string>;
  private readonly allowedV4 = new BlockList();
  private readonly allowedV6 = new BlockList();
  private readonly resolve: ResolveHost;
  readonly httpAgent: HttpAgent;
  readonly httpsAgent: HttpsAgent;

  constructor({ allowlist, resolve = systemResolve }: { allowlist: ModelHostAllowlist; resolve?: ResolveHost }) {
    this.hostnames = new Set(allowlist.hostnames);
    for (const network of allowlist.networks) {
      const [address, prefix] = network.split('/');
      if (isIP(address!) === 4) this.allowedV4.addSubnet(address!, Number(prefix), 'ipv4');
      else this.allowedV6.addSubnet(address!, Number(prefix), 'ipv6');
    }
    this.resolve = resolve;
    // As Node's global agents: keep-alive, most recently used socket first, idle sockets closed after 5 s.
    const options = { keepAlive: true, scheduling: 'lifo' as const, timeout: 5_000, lookup: this.lookup };
    const refuseLiteral = (host: string | null | undefined) => this.refuseLiteral(host);
    this.httpAgent = new (class extends HttpAgent {
      override createConnection(connect: ClientRequestArgs, callback?: (error: Error | null, stream: Duplex) => void) {
        const refusal = refuseLiteral(connect.host);
        if (!refusal) return super.createConnection(connect, callback);
        callback?.(refusal, undefined as unknown as Duplex);
        return undefined;
      }
    })(options);
    this.httpsAgent = new (class extends HttpsAgent {
      override createConnection(connect: HttpsRequestOptions, callback?: (error: Error | null, stream: Duplex) => void) {
        const refusal = refuseLiteral(connect.host);
        if (!refusal) return super.createConnection(connect, callback);
        callback?.(refusal, undefined as unknown as Duplex);
        return undefined;
      }
    })(options);
  }

  /** The agent for a URL's protocol (http: or https:). */
  agentFor(protocol: string): HttpAgent {
    return protocol === 'https:' ? this.httpsAgent : this.httpAgent;
  }

  /** Whether a connection to `host` at every one of `addresses` is allowed. */
  verdict(host: string, addresses: string[]): HostVerdict {
    if (this.hostnames.has(host.toLowerCase().replace(/\.$/, ''))) return { allowed: true };
    for (const raw of addresses) {
      const address = bareAddress(raw);
      const range = internalRange(address);
      if (range && !this.addressAllowed(address)) return { allowed: false, host, address, range };
    }
    return { allowed: true };
  }

  /**
   * The early answer when a base URL is saved: the literal address, or what the name resolves
   * to now. A name that does not resolve (yet) is left to the check at connect time.
   */
  async checkBaseUrl(baseUrl: string): Promise<HostVerdict> {
    const host = urlHost(new URL(baseUrl));
    if (isIP(host)) return this.verdict(host, [host]);
    if (this.hostnames.has(host)) return { allowed: true };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), SAVE_RESOLVE_TIMEOUT_MS)));
    const addresses = await Promise.race([this.resolve(host).catch(() => null), timeout]).finally(() => clearTimeout(timer));
    if (!addresses || addresses.length === 0) return { allowed: true };
    return this.verdict(host, addresses.map((entry) => entry.address));
  }

  private addressAllowed(address: string): boolean {
    if (isIP(address) === 4) return this.allowedV4.check(address, 'ipv4');
    if (this.allowedV6.check(address, 'ipv6')) return true;
    // ::ffff:127.0.0.1 reaches 127.0.0.1: allowed when that address is.
    const ipv4 = embeddedIpv4(address);
    return ipv4 !== null && this.allowedV4.check(ipv4, 'ipv4');
  }

  /** An IP literal skips `lookup` in net.connect: it is checked as the connection is made. */
  private refuseLiteral(host: string | null | undefined): ModelHostForbiddenError | null {
    if (!host || !isIP(bareAddress(host))) return null;
    const verdict = this.verdict(host, [host]);
    return verdict.allowed ? null : new ModelHostForbiddenError(verdict);
  }

  /** net.connect's lookup: resolves, checks every address, and fails the connection if one is inside. */
  private readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.resolve(hostname).then(
      (found) => {
        const addresses = options.family === 4 || options.family === 6 ? found.filter((entry) => entry.family === options.family) : found;
        if (addresses.length === 0) {
          const error: NodeJS.ErrnoException = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
          return callback(error, '', 0);
        }
        const verdict = this.verdict(hostname, addresses.map((entry) => entry.address));
        if (!verdict.allowed) return callback(new ModelHostForbiddenError(verdict), '', 0);
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

const guards = new WeakMap<ModelHostAllowlist, ModelHostGuard>();

/** The guard (and its agents) for a configuration's MODEL_HOST_ALLOWLIST, made once. */
export function modelHostGuard(config: { modelHostAllowlist: ModelHostAllowlist }): ModelHostGuard {
  let guard = guards.get(config.modelHostAllowlist);
  if (!guard) {
    guard = new ModelHostGuard({ allowlist: config.modelHostAllowlist });
    guards.set(config.modelHostAllowlist, guard);
  }
  return guard;
}
