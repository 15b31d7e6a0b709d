import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { API_ROUTES } from '../app.ts';
import type { RouteSpec } from '../http/route.ts';
import { enrollUser, signIn, startTestNode, stepUpWith, TEST_ORIGIN, type TestNode } from '../test/harness.ts';
import { contentType, edgeTimestamp, fuzzRuns, hostileCursor, hostileHeaders, hostileJson, hostilePathSegment, hostileQuery, hostileRawBody, shapedObject, validButHostile } from './arbitraries.ts';
import { isStableError, leakIn, liftRateLimits, settledSnapshot, snapshotData, watchErrorLogs, type DataSnapshot } from './invariants.ts';

/**
 * Property-based fuzzing of every JSON route in API_ROUTES (walked at run time, so routes
 * added later are covered): random and adversarial bodies, query strings, path parameters,
 * content types and headers, sent anonymously and as an admin with a fresh step-up (so the
 * handlers behind access and step-up checks are reached). After every request: no 5xx, no
 * internal detail in the body, errors in the one stable shape, and a rejected request left
 * stored data as it was. After every route: the node is healthy and logged no error.
 */

/** Runs per route and identity: 60 a route, the whole HTTP suite in about 35 s on a quiet machine. */
const RUNS_PER_ROUTE = fuzzRuns(30);

let node: TestNode;
let admin: Awaited<ReturnType<typeof enrollUser>> & { username: string };
let watch: ReturnType<typeof watchErrorLogs>;
let lastGood: DataSnapshot;
const started = Date.now();

beforeAll(async () => {
  // Limits stay on but high: the fuzzer must keep reaching validation and handlers.
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '10000', ROUTE_RATE_LIMIT_FACTOR: '1000', DETECTOR_PAIRINGS_PER_HOUR: '100000' });
  admin = { ...(await enrollUser(node, { username: 'fuzz-admin', role: 'admin' })), username: 'fuzz-admin' };
  await stepUpWith(admin.client, admin.authenticator);
  watch = watchErrorLogs(node);
  lastGood = await snapshotData(node);
});
afterAll(async () => {
  watch?.stop();
  console.info(`HTTP fuzz: ${API_ROUTES.length} routes × 2 identities × ${RUNS_PER_ROUTE} runs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await node?.destroy();
});

/** The admin is signed in with a fresh step-up (a fuzzed sign-out or sign-in may have ended it). */
async function ensureAdminSession(): Promise<void> {
  await liftRateLimits(node);
  const status = await admin.client.get<{ validUntil: string | null }>('/api/account/step-up');
  if (status.status === 401) await signIn(node, { username: admin.username, password: admin.password, authenticator: admin.authenticator, client: admin.client });
  if (status.status !== 200 || !status.body.validUntil || Date.parse(status.body.validUntil) < Date.now() + 60_000) {
    await stepUpWith(admin.client, admin.authenticator);
  }
  lastGood = await settledSnapshot(node);
}

interface FuzzRequest {
  method: string;
  path: string;
  query: string;
  body: string | undefined;
  contentType: string | null;
  headers: Record<string, string>;
}

function jsonSchemaOf(schema: unknown): { properties?: Record<string, unknown> } | null {
  return schema ? (z.toJSONSchema(schema as z.ZodType, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, unknown> }) : null;
}

function fieldsOf(schema: unknown): string[] {
  return Object.keys(jsonSchemaOf(schema)?.properties ?? {});
}

/** Path segments that satisfy the params schema (e.g. any UUID), or are hostile. */
function segmentFor(route: RouteSpec, name: string): fc.Arbitrary<string> {
  const property = jsonSchemaOf(route.params)?.properties?.[name];
  if (!property) return hostilePathSegment;
  return fc.oneof(hostilePathSegment, validButHostile(property).map((value) => encodeURIComponent(String(value))));
}

/** A query string that satisfies the query schema, with awkward values. */
function validQuery(route: RouteSpec): fc.Arbitrary<string> {
  const schema = jsonSchemaOf(route.query);
  if (!schema) return fc.constant('');
  return validButHostile(schema).map((query) =>
    Object.entries(query as Record<string, unknown>)
      .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value).replace(/[\uD800-\uDFFF]/g, '\uFFFD'))}`)
      .join('&'),
  );
}

/**
 * One date or cursor field of the query alone, at the edges of what Postgres stores (year 0,
 * offsets past ±15:59, a cursor that decodes to NUL): alone, because the hostile values of the
 * other fields would be refused first and hide a value that reaches the database. Null when
 * the route takes no such field.
 */
function edgeQuery(route: RouteSpec): fc.Arbitrary<string> | null {
  const properties = (jsonSchemaOf(route.query)?.properties ?? {}) as Record<string, { format?: string }>;
  const fields = Object.entries(properties).filter(([, property]) => property.format === 'date-time' || property.format === 'keyset-cursor');
  if (fields.length === 0) return null;
  return fc
    .constantFrom(...fields)
    .chain(([name, property]) => (property.format === 'date-time' ? edgeTimestamp : hostileCursor).map((value) => `${name}=${encodeURIComponent(value)}`));
}

function requestFor(route: RouteSpec): fc.Arbitrary<FuzzRequest> {
  const paramNames = [...route.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
  const method = route.method.toUpperCase();
  const body: fc.Arbitrary<string | undefined> =
    method === 'GET'
      ? fc.constant(undefined)
      : fc.oneof(
          { weight: 3, arbitrary: shapedObject(fieldsOf(route.body)).map((value) => JSON.stringify(value)) },
          // Valid as far as the schema can tell, so the handler runs with awkward values.
          { weight: route.body ? 3 : 0, arbitrary: validButHostile(jsonSchemaOf(route.body)).map((value) => JSON.stringify(value) ?? 'null') },
          { weight: 2, arbitrary: hostileJson.map((value) => JSON.stringify(value) ?? 'null') },
          { weight: 2, arbitrary: hostileRawBody },
          { weight: 1, arbitrary: fc.constant(undefined) },
        );
  return fc.record({
    method: fc.constant(method),
    path: fc
      .tuple(...paramNames.map((name) => segmentFor(route, name)))
      .map((segments) => paramNames.reduce((path, name, i) => path.replace(`:${name}`, segments[i]!), route.path)),
    query: fc.oneof(
      fc.constant(''),
      hostileQuery(fieldsOf(route.query)),
      validQuery(route),
      ...[edgeQuery(route)].filter((edge) => edge !== null).map((edge) => ({ weight: 2, arbitrary: edge })),
    ),
    body,
    contentType,
    headers: hostileHeaders,
  });
}

async function send(request: FuzzRequest, cookie: string | null): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { origin: TEST_ORIGIN, ...request.headers };
  if (request.contentType !== null) headers['content-type'] = request.contentType;
  if (cookie) headers.cookie = cookie;
  const response = await fetch(`${node.url}${request.path}${request.query ? `?${request.query}` : ''}`, {
    method: request.method,
    headers,
    body: request.body,
    redirect: 'manual',
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, text: await response.text() };
}

async function checkResponse(request: FuzzRequest, { status, text }: { status: number; text: string }): Promise<void> {
  const what = `${request.method} ${request.path.slice(0, 200)}?${request.query.slice(0, 200)} → ${status} ${text.slice(0, 300)}`;
  expect(status, what).toBeLessThan(500);
  expect(leakIn(text), what).toBeNull();
  // Node's own 431 (headers too large) has no body; every other error is ours.
  if (status >= 400 && status !== 431) expect(isStableError(text), what).toBe(true);
  if (status >= 400) {
    expect(await snapshotData(node), `stored data changed by a rejected request: ${what}`).toEqual(lastGood);
  } else {
    lastGood = await settledSnapshot(node);
  }
}

async function fuzzRoute(route: RouteSpec, identity: 'admin' | 'anonymous'): Promise<void> {
  const errorsBefore = watch.errors.length;
  const warningsBefore = watch.warnings.length;
  if (identity === 'admin') await ensureAdminSession();
  else lastGood = await settledSnapshot(node);
  const codes = new Set<string>();
  await fc.assert(
    fc.asyncProperty(requestFor(route), async (request) => {
      const cookie = identity === 'admin' ? admin.client.cookie : null;
      const response = await send(request, cookie);
      codes.add(response.status < 400 ? String(response.status) : (/"code":"([A-Z_]+)"/.exec(response.text)?.[1] ?? String(response.status)));
      await checkResponse(request, response);
    }),
    { numRuns: RUNS_PER_ROUTE, endOnFailure: true },
  );
  // The admin's requests get past the access and step-up checks: the fuzz reaches input validation and handlers.
  if (identity === 'admin') expect([...codes].filter((code) => !GATE_CODES.has(code)), `answers: ${[...codes].join(', ')}`).not.toEqual([]);
  expect((await node.client().get('/healthz')).status).toBe(200);
  expect(watch.errors.slice(errorsBefore), 'errors logged while fuzzing this route').toEqual([]);
  expect(watch.warnings.slice(warningsBefore).filter((warning) => /failed|not recorded/.test(warning)), 'handler failures logged as warnings').toEqual([]);
  // The node runs in this process: a `__proto__` key that reached an object merge would show here.
  expect(Object.keys(Object.prototype), 'Object.prototype polluted').toEqual([]);
  expect(({} as Record<string, unknown>).role ?? ({} as Record<string, unknown>).isAdmin ?? ({} as Record<string, unknown>).polluted).toBeUndefined();
}

/** Answers from the gates in front of a route, before its input or handler. */
const GATE_CODES = new Set(['UNAUTHENTICATED', 'SESSION_ENDED', 'FORBIDDEN', 'STEP_UP_REQUIRED', 'CSRF_REJECTED', 'UNSUPPORTED_MEDIA_TYPE']);

const routeName = (route: RouteSpec) => `${route.method.toUpperCase()} ${route.path}`;

describe('HTTP fuzzing, as an admin with a fresh step-up', () => {
  it.each(API_ROUTES.map((route) => [routeName(route), route] as const))('%s', async (_name, route) => fuzzRoute(route, 'admin'), 120_000);
});

describe('HTTP fuzzing, anonymously', () => {
  it.each(API_ROUTES.map((route) => [routeName(route), route] as const))('%s', async (_name, route) => fuzzRoute(route, 'anonymous'), 120_000);
});
