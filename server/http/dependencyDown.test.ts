/**
 * What counts as "Postgres or Redis could not answer" (503 SERVICE_UNAVAILABLE, and an
 * audit-outbox record kept for later) and what does not (a 500, or a record set aside).
 * The failures an outage commonly brings are provoked from ioredis and pg themselves, so an
 * upgrade that changes their class, code or text fails this file.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Redis, RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServerBusyError } from '../auth/hashLimiter.ts';
import { createAdminClient, createPool } from '../db/pool.ts';
import { createLogger } from '../log.ts';
import { ProviderError } from '../models/completion.ts';
import { createRedisClient } from '../redis.ts';
import { ADMIN_DATABASE_URL, freePort, TEST_REDIS_URL } from '../test/env.ts';
import { HttpError, isDependencyDown } from './errors.ts';

const coded = (code: string, message = 'failed') => Object.assign(new Error(message), { code });

/** The reason a promise rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** A TCP server on loopback that does `onConnection` to every connection: a peer that misbehaves. */
async function tcpServer(onConnection: (socket: Socket) => void): Promise<{ port: number; server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server, sockets };
}

describe('isDependencyDown: down', () => {
  it.each(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])(
    'a node system error %s (server unreachable or gone)',
    (code) => expect(isDependencyDown(coded(code))).toBe(true),
  );

  it.each([
    ['08000', 'connection_exception'],
    ['08003', 'connection_does_not_exist'],
    ['08006', 'connection_failure'],
    ['57P01', 'admin_shutdown'],
    ['57P02', 'crash_shutdown'],
    ['57P03', 'cannot_connect_now'],
  ])('Postgres SQLSTATE %s (%s)', (code) => expect(isDependencyDown(coded(code))).toBe(true));

  it.each(['Connection terminated due to connection timeout', 'timeout exceeded when trying to connect', 'Client has encountered a connection error and is not queryable'])(
    'pg’s uncoded connection failure "%s"',
    (message) => expect(isDependencyDown(new Error(message))).toBe(true),
  );
});

describe('isDependencyDown: not down', () => {
  it.each([
    ['a route’s own answer', new HttpError(404, 'NOT_FOUND', 'Connection is closed.')],
    ['a full hash queue (its own 503)', new ServerBusyError('busy')],
    ['a model provider failing', new ProviderError('MODEL_UNREACHABLE', 'Connection terminated unexpectedly')],
    ['a fetch that failed (the cause is not followed)', new TypeError('fetch failed', { cause: coded('ECONNREFUSED') })],
    ['an aborted fetch', new DOMException('This operation was aborted', 'AbortError')],
    ['a message that merely mentions an outage', new Error('upstream said: Connection is closed.')],
    ['an outage text on an error with a code of its own', coded('ERR_SOMETHING', 'Connection is closed.')],
    ['an outage text on an error of another class', new TypeError('Connection is closed.')],
    ['a Postgres unique violation (23505)', coded('23505')],
    ['a Postgres deadlock (40P01): retried, not an outage', coded('40P01')],
    ['a Postgres statement timeout (57014)', coded('57014')],
    ['a thrown string', 'ECONNREFUSED'],
    ['an object that is not an Error', { code: 'ECONNREFUSED', message: 'Connection is closed.' }],
    ['nothing', undefined],
  ])('%s', (_what, error) => expect(isDependencyDown(error)).toBe(false));
});

describe('isDependencyDown, with errors provoked from ioredis', () => {
  const clients: Redis[] = [];
  const servers: Awaited<ReturnType<typeof tcpServer>>[] = [];
  const redisOn = (url: string, options: RedisOptions) => {
    // The options server/redis.ts connects with, where they matter here.
    const client = createRedisClient(url, null, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000, ...options });
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  };
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    for (const { sockets } of servers) sockets.forEach((socket) => socket.destroy());
    await Promise.all(servers.map(({ server }) => new Promise((resolve) => server.close(resolve))));
  });

  it('down: nothing listening (ECONNREFUSED)', async () => {
    const redis = redisOn(`redis://127.0.0.1:${await freePort()}`, { retryStrategy: () => null });
    expect(isDependencyDown(await rejection(redis.connect()))).toBe(true);
  });

  it('down: a command while reconnecting, with the offline queue off', async () => {
    const redis = redisOn(`redis://127.0.0.1:${await freePort()}`, { retryStrategy: () => 1_000 });
    await rejection(redis.connect());
    const error = await rejection(redis.get('k'));
    expect(error).toMatchObject({ message: "Stream isn't writeable and enableOfflineQueue options is false" });
    expect(isDependencyDown(error)).toBe(true);
  });

  it('down: a command on a closed connection', async () => {
    const redis = redisOn(TEST_REDIS_URL, {});
    await redis.connect();
    await redis.quit();
    const error = await rejection(redis.get('k'));
    expect(error).toMatchObject({ message: 'Connection is closed.' });
    expect(isDependencyDown(error)).toBe(true);
  });

  it('down: a command Redis does not answer in time', async () => {
    const silent = await tcpServer(() => undefined);
    servers.push(silent);
    const redis = redisOn(`redis://127.0.0.1:${silent.port}`, { protocol: 2, disableClientInfo: true, enableReadyCheck: false, commandTimeout: 50, retryStrategy: () => null });
    await redis.connect();
    const error = await rejection(redis.get('k'));
    expect(error).toMatchObject({ message: 'Command timed out' });
    expect(isDependencyDown(error)).toBe(true);
  });

  it('down: retries spent while the offline queue holds the command (MaxRetriesPerRequestError)', async () => {
    const redis = redisOn(`redis://127.0.0.1:${await freePort()}`, { enableOfflineQueue: true, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    void redis.connect().catch(() => undefined);
    const error = await rejection(redis.get('k'));
    expect(error).toMatchObject({ name: 'MaxRetriesPerRequestError' });
    expect(isDependencyDown(error)).toBe(true);
  });

  it('not down: Redis answering with an error (ReplyError)', async () => {
    const redis = redisOn(TEST_REDIS_URL, {});
    await redis.connect();
    const error = await rejection(redis.call('NO-SUCH-COMMAND'));
    expect(error).toMatchObject({ name: 'ReplyError' });
    expect(isDependencyDown(error)).toBe(false);
  });
});

describe('isDependencyDown, with errors provoked from pg', () => {
  const log = createLogger('silent');
  let hangUp: Awaited<ReturnType<typeof tcpServer>>;
  beforeAll(async () => {
    hangUp = await tcpServer((socket) => socket.destroy());
  });
  afterAll(() => new Promise((resolve) => hangUp.server.close(resolve)));

  it('down: nothing listening (ECONNREFUSED)', async () => {
    const pool = createPool(`postgres://argus@127.0.0.1:${await freePort()}/argus`, log, 1);
    const error = await rejection(pool.query('SELECT 1'));
    await pool.end();
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
    expect(isDependencyDown(error)).toBe(true);
  });

  it('down: the server hanging up', async () => {
    const pool = createPool(`postgres://argus@127.0.0.1:${hangUp.port}/argus`, log, 1);
    const error = await rejection(pool.query('SELECT 1'));
    await pool.end();
    expect(error).toMatchObject({ message: 'Connection terminated unexpectedly' });
    expect(isDependencyDown(error)).toBe(true);
  });

  it('down: the client ended under a running query', async () => {
    const client = createAdminClient(ADMIN_DATABASE_URL);
    await client.connect();
    const running = rejection(client.query('SELECT pg_sleep(5)'));
    await client.end();
    const error = await running;
    expect(error).toMatchObject({ message: 'Connection terminated' });
    expect(isDependencyDown(error)).toBe(true);
  });

  it('down: the server ending the session (57P01 admin_shutdown)', async () => {
    const client = createAdminClient(ADMIN_DATABASE_URL);
    client.on('error', () => undefined);
    await client.connect();
    const error = await rejection(client.query('SELECT pg_terminate_backend(pg_backend_pid())'));
    await client.end().catch(() => undefined);
    expect(error).toMatchObject({ code: '57P01' });
    expect(isDependencyDown(error)).toBe(true);
  });

  it('not down: Postgres answering with an error', async () => {
    const client = createAdminClient(ADMIN_DATABASE_URL);
    await client.connect();
    const error = await rejection(client.query('SELECT 1 / 0'));
    await client.end();
    expect(error).toMatchObject({ code: '22012' });
    expect(isDependencyDown(error)).toBe(false);
  });
});
