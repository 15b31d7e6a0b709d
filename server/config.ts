import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/**
 * Configuration is read from the environment once, at start-up, into this one typed
 * object. A bad value stops start-up with a message naming the variable.
 */
export interface Config {
  env: 'development' | 'production' | 'test';
  /** The browser-facing origin, e.g. https://argus.example.com. */
  origin: string;
  /** WebAuthn relying-party id: the origin's host name or a registrable suffix of it. */
  rpId: string;
  rpName: string;
  host: string;
  port: number;
  /** Unset: an embedded PostgreSQL is started under dataDir. */
  databaseUrl: string | null;
  /** Unset: a local redis-server is started as a child process. */
  redisUrl: string | null;
  redisKeyPrefix: string;
  /** Ports of the embedded PostgreSQL and child redis-server when the URLs are unset. */
  embeddedPorts: { postgres: number; redis: number };
  dataDir: string;
  sessionSecret: string;
  secureCookies: boolean;
  trustProxy: string | false;
  session: { idleMinutes: number; maxHours: number };
  enrollmentTtlHours: number;
  webauthn: {
    /** WebAuthn userVerification: 'preferred' (default) or 'required' (a PIN or fingerprint every time). */
    userVerification: 'preferred' | 'required';
    /** Synced/backed-up passkeys may sign in (never unlock restricted models). */
    allowSyncedPasskeys: boolean;
    challengeTtlSeconds: number;
    /** How long after the password step the key step may be finished. */
    keyStepMinutes: number;
    /** How long a fresh assertion allows sensitive account and admin changes. */
    stepUpMinutes: number;
  };
  grants: {
    /** Seconds before expiry that GRANT_EXPIRING is sent. */
    warnSeconds: number;
    /** If set, only keys of these models (AAGUIDs) unlock restricted models. */
    aaguidAllowList: string[] | null;
  };
  rateLimits: {
    signinPerMinutePerIp: number;
    signinFailuresPerUsername: number;
    signinFailureWindowMinutes: number;
    /** Multiplies every route's own request limit (RouteSpec.rateLimit); benchmarks raise it. */
    routeLimitFactor: number;
  };
  argon2: { maxConcurrent: number; maxQueue: number };
  bodyLimitBytes: number;
  chat: {
    /** Longest wait for a model server's first byte, and between two chunks. */
    modelTimeoutSeconds: number;
    requestsPerMinute: number;
    maxConcurrentStreams: number;
  };
  /** Ping interval on WebSockets; a peer that misses one pong is dropped (DESIGN.md: 30 s). */
  wsHeartbeatSeconds: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * Prometheus /metrics: on the main port behind a bearer token, and/or on a port of its own
   * bound to an internal address. Neither set: not served at all.
   */
  metrics: { token: string | null; port: number | null; host: string };
  /** Paired local detectors (issue #8). */
  detector: {
    pairingsPerHourPerIp: number;
    connectionsPerMinutePerIp: number;
    connectionsPerMinutePerDetector: number;
    /** How often a detector sends its application heartbeat (DESIGN.md: 60 s). */
    heartbeatSeconds: number;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const intFrom = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** libuv runs Argon2 on its thread pool; more concurrent hashes than threads only queue there. */
const threadPoolSize = Number(process.env.UV_THREADPOOL_SIZE ?? 4) || 4;

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: intFrom(0, 65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  ARGUS_ORIGIN: z.url({ protocol: /^https?$/ }).optional(),
  ARGUS_RP_ID: z.string().min(1).optional(),
  ARGUS_RP_NAME: z.string().min(1).max(64).default('Argus'),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
  REDIS_KEY_PREFIX: z.string().regex(/^[\w:.-]{1,64}$/, 'letters, digits, : . - _ only').default('argus:'),
  EMBEDDED_PG_PORT: intFrom(1, 65535).default(54329),
  EMBEDDED_REDIS_PORT: intFrom(1, 65535).default(63799),
  ARGUS_DATA_DIR: z.string().min(1).default('.argus'),
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  TRUST_PROXY: z.string().optional(),
  SESSION_IDLE_MINUTES: intFrom(1, 24 * 60).default(30),
  SESSION_MAX_HOURS: intFrom(1, 24 * 30).default(12),
  ENROLLMENT_TTL_HOURS: intFrom(1, 24 * 14).default(24),
  WEBAUTHN_USER_VERIFICATION: z.enum(['preferred', 'required']).default('preferred'),
  ALLOW_SYNCED_PASSKEYS: z.enum(['true', 'false']).default('false'),
  // A challenge lives at most two minutes (the Security keys issue).
  WEBAUTHN_CHALLENGE_TTL_SECONDS: intFrom(10, 120).default(120),
  KEY_STEP_MINUTES: intFrom(1, 30).default(5),
  STEP_UP_MINUTES: intFrom(1, 60).default(5),
  GRANT_WARN_SECONDS: intFrom(5, 600).default(30),
  GRANT_AAGUID_ALLOWLIST: z
    .string()
    .regex(/^[0-9a-fA-F-]{36}(,[0-9a-fA-F-]{36})*$/, 'comma-separated AAGUIDs')
    .optional(),
  SIGNIN_RATE_PER_MINUTE: intFrom(1, 10_000).default(10),
  SIGNIN_FAILURES_PER_USERNAME: intFrom(1, 10_000).default(10),
  SIGNIN_FAILURE_WINDOW_MINUTES: intFrom(1, 24 * 60).default(15),
  ARGON2_MAX_CONCURRENT: intFrom(1, 64).default(Math.min(threadPoolSize, availableParallelism())),
  ARGON2_MAX_QUEUE: intFrom(0, 10_000).default(32),
  MODEL_TIMEOUT_SECONDS: intFrom(1, 600).default(60),
  CHAT_REQUESTS_PER_MINUTE: intFrom(1, 100_000).default(30),
  CHAT_MAX_CONCURRENT_STREAMS: intFrom(1, 10_000).default(3),
  WS_HEARTBEAT_SECONDS: intFrom(1, 300).default(30),
  BODY_LIMIT_BYTES: intFrom(1024, 10 * 1024 * 1024).default(64 * 1024),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  METRICS_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  METRICS_PORT: intFrom(1, 65535).optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  // Seed design (Unhidra): device registration 10/h per IP; WebSocket connections 60/min per IP.
  DETECTOR_PAIRINGS_PER_HOUR: intFrom(1, 100_000).default(10),
  DETECTOR_CONNECTIONS_PER_MINUTE_PER_IP: intFrom(1, 100_000).default(60),
  DETECTOR_CONNECTIONS_PER_MINUTE: intFrom(1, 100_000).default(10),
  DETECTOR_HEARTBEAT_SECONDS: intFrom(1, 3600).default(60),
  ROUTE_RATE_LIMIT_FACTOR: intFrom(1, 10_000).default(1),
});

export type Env = Record<string, string | undefined>;

/** Reads and validates configuration; throws ConfigError naming every bad variable. */
export function loadConfig(env: Env = process.env): Config {
  // Empty strings count as unset, so `FOO= npm start` behaves like not setting FOO.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const origin = new URL(e.ARGUS_ORIGIN ?? `http://localhost:${e.PORT}`).origin;
  const originHost = new URL(origin).hostname;
  const rpId = e.ARGUS_RP_ID ?? originHost;
  // WebAuthn: the RP ID must equal the origin's host or be a registrable suffix of it.
  if (originHost !== rpId && !originHost.endsWith(`.${rpId}`)) {
    throw new ConfigError(`Invalid configuration:\n  ARGUS_RP_ID: "${rpId}" is not ${originHost} or a parent domain of it`);
  }
  if (e.NODE_ENV === 'production' && !e.SESSION_SECRET) {
    throw new ConfigError('Invalid configuration:\n  SESSION_SECRET: required when NODE_ENV=production (32+ random characters)');
  }
  const dataDir = path.resolve(e.ARGUS_DATA_DIR);
  return {
    env: e.NODE_ENV,
    origin,
    rpId,
    rpName: e.ARGUS_RP_NAME,
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL ?? null,
    redisUrl: e.REDIS_URL ?? null,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    embeddedPorts: { postgres: e.EMBEDDED_PG_PORT, redis: e.EMBEDDED_REDIS_PORT },
    dataDir,
    sessionSecret: e.SESSION_SECRET ?? persistedSecret(dataDir),
    secureCookies: origin.startsWith('https:'),
    trustProxy: e.TRUST_PROXY ?? false,
    session: { idleMinutes: e.SESSION_IDLE_MINUTES, maxHours: e.SESSION_MAX_HOURS },
    enrollmentTtlHours: e.ENROLLMENT_TTL_HOURS,
    grants: {
      warnSeconds: e.GRANT_WARN_SECONDS,
      aaguidAllowList: e.GRANT_AAGUID_ALLOWLIST ? e.GRANT_AAGUID_ALLOWLIST.toLowerCase().split(',') : null,
    },
    webauthn: {
      userVerification: e.WEBAUTHN_USER_VERIFICATION,
      allowSyncedPasskeys: e.ALLOW_SYNCED_PASSKEYS === 'true',
      challengeTtlSeconds: e.WEBAUTHN_CHALLENGE_TTL_SECONDS,
      keyStepMinutes: e.KEY_STEP_MINUTES,
      stepUpMinutes: e.STEP_UP_MINUTES,
    },
    rateLimits: {
      signinPerMinutePerIp: e.SIGNIN_RATE_PER_MINUTE,
      signinFailuresPerUsername: e.SIGNIN_FAILURES_PER_USERNAME,
      signinFailureWindowMinutes: e.SIGNIN_FAILURE_WINDOW_MINUTES,
      routeLimitFactor: e.ROUTE_RATE_LIMIT_FACTOR,
    },
    argon2: { maxConcurrent: e.ARGON2_MAX_CONCURRENT, maxQueue: e.ARGON2_MAX_QUEUE },
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    wsHeartbeatSeconds: e.WS_HEARTBEAT_SECONDS,
    chat: {
      modelTimeoutSeconds: e.MODEL_TIMEOUT_SECONDS,
      requestsPerMinute: e.CHAT_REQUESTS_PER_MINUTE,
      maxConcurrentStreams: e.CHAT_MAX_CONCURRENT_STREAMS,
    },
    logLevel: e.LOG_LEVEL,
    metrics: { token: e.METRICS_TOKEN ?? null, port: e.METRICS_PORT ?? null, host: e.METRICS_HOST },
    detector: {
      pairingsPerHourPerIp: e.DETECTOR_PAIRINGS_PER_HOUR,
      connectionsPerMinutePerIp: e.DETECTOR_CONNECTIONS_PER_MINUTE_PER_IP,
      connectionsPerMinutePerDetector: e.DETECTOR_CONNECTIONS_PER_MINUTE,
      heartbeatSeconds: e.DETECTOR_HEARTBEAT_SECONDS,
    },
  };
}

/** Development only: a session secret generated once and kept under the data directory. */
function persistedSecret(dataDir: string): string {
  const file = path.join(dataDir, 'session-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
  return secret;
}
