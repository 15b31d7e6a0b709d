import { X509Certificate, createPublicKey, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { AuditSigner, persistedSigningKeyPem } from './audit/signingKey.ts';
import { AUDIT_SINK_ENV, auditSinksFromEnv, type AuditSinkConfig } from './audit/sinks/sinkConfig.ts';
import { modelHostAllowlistProblem, parseModelHostAllowlist, type ModelHostAllowlist } from './models/modelHosts.ts';
import { parseRecordMacKeys, persistedRecordMacKey, type RecordMacKey } from './crypto/recordMac.ts';
import { parseDataEncryptionKeys, persistedDataEncryptionKey, type DataEncryptionKey } from './crypto/dataKeys.ts';
import { OIDC_ENV, oidcFromEnv, type OidcConfig } from './oidc/oidcConfig.ts';

const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** What Express's `trust proxy` accepts (proxy-addr), checked here so a typo names its variable. */
function isTrustProxyValue(value: string): boolean {
  if (/^\d+$/.test(value)) return true;
  return value.split(',').every((part) => {
    const item = part.trim();
    if (PROXY_RANGE_NAMES.has(item)) return true;
    const [address = '', range, ...extra] = item.split('/');
    const family = isIP(address);
    if (extra.length > 0 || family === 0) return false;
    if (range === undefined) return true;
    if (/^\d{1,3}$/.test(range)) return Number(range) <= (family === 4 ? 32 : 128);
    return family === 4 && isIP(range) === 4; // a netmask: 10.0.0.0/255.0.0.0
  });
}

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
  /**
   * How many node:cluster workers `npm start` runs on this one port (server/cluster.ts): each a
   * full node of the multi-node design. 1: a single process, no cluster primary.
   */
  workers: number;
  /** Unset: an embedded PostgreSQL is started under dataDir. The server connects as this role (a member of argus_app). */
  databaseUrl: string | null;
  /**
   * The role that owns the schema, for migrations (sql/000015: the server's own role may not
   * apply them). Unset with DATABASE_URL set: the server checks that none are pending and
   * `npm run migrate` falls back to DATABASE_URL.
   */
  databaseOwnerUrl: string | null;
  /** Unset: a local redis-server is started as a child process. */
  redisUrl: string | null;
  redisKeyPrefix: string;
  /**
   * Redis Sentinel: the master is found through these sentinels by name; REDIS_URL then gives
   * only the credentials, database and TLS (its host and port are not used).
   */
  redisSentinel: { sentinels: Array<{ host: string; port: number }>; name: string; password: string | null } | null;
  /** Ports of the embedded PostgreSQL and child redis-server when the URLs are unset. */
  embeddedPorts: { postgres: number; redis: number };
  dataDir: string;
  /** The secret that signs new session cookies (the first of sessionSecrets). */
  sessionSecret: string;
  /** Every secret a session cookie may be signed with (rotation: new first, old ones after). */
  sessionSecrets: string[];
  secureCookies: boolean;
  /** Express `trust proxy`: false, a hop count, or addresses/subnets/names (`loopback`, `10.0.0.0/8`). */
  trustProxy: string | number | false;
  /** cacheSeconds: how long a node may keep a session it read while Redis reports changes to it (0: never). */
  session: { idleMinutes: number; maxHours: number; cacheSeconds: number };
  enrollmentTtlHours: number;
  /**
   * The key-encryption keys of restricted conversations (DATA_ENCRYPTION_KEY(S), issue #21): the
   * first wraps new data keys, the others only unwrap until `rotate-data-key` has re-wrapped them.
   */
  dataEncryptionKeys: DataEncryptionKey[];
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
    /**
     * HMAC keys of the grant and audit-outbox records in Redis (threat-model G4): the first
     * signs, every one verifies. The same list on every node.
     */
    signingKeys: RecordMacKey[];
  };
  /** Attestation against FIDO metadata (threat-model G16, docs/deploy.md "FIDO metadata"). */
  attestation: {
    /**
     * off: attestation is recorded, never required. restricted: only attested hardware keys
     * unlock restricted models (and the AAGUID allow-list counts attested AAGUIDs only).
     * all: restricted, and unattested keys cannot be registered.
     */
    policy: 'off' | 'restricted' | 'all';
    /** The FIDO MDS3 blob (a JWT) the operator downloaded; read at start and on SIGHUP. Null: no metadata. */
    mdsFile: string | null;
    /** PEM certificates the blob's x5c chain must end at (the shipped FIDO roots unless FIDO_MDS_ROOT_FILE). */
    mdsRootsPem: string[];
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
  /** Model servers inside Argus's own network that may be reached all the same (threat model G8). */
  modelHostAllowlist: ModelHostAllowlist;
  /**
   * The two-person rule (threat model G9): 'on', the riskiest admin changes wait for a second
   * admin's approval whenever another admin could give it; 'off', they go through at once.
   */
  twoPersonRule: 'on' | 'off';
  /** Company sign-in through OpenID Connect (issue #20; README "Company sign-in"); null when OIDC_ISSUER is unset. */
  oidc: OidcConfig | null;
  /** The password first factor (issue #20). The key step follows whatever the first factor. */
  passwordSignIn: {
    /** false: only the break-glass admins may sign in with a password; everyone else uses company sign-in. */
    enabled: boolean;
    /** Lower-cased usernames of admins who keep password sign-in while it is off. */
    breakGlassAdmins: string[];
  };
  chat: {
    /** Longest wait for a model server's first byte, and between two chunks. */
    modelTimeoutSeconds: number;
    requestsPerMinute: number;
    maxConcurrentStreams: number;
  };
  /** Ping interval on WebSockets; a peer that misses one pong is dropped (docs/architecture.md: 30 s). */
  wsHeartbeatSeconds: number;
  /** New browser WebSocket connections allowed a minute from one address (every user behind it). */
  wsConnectionsPerMinutePerIp: number;
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
    /** How often a detector sends its application heartbeat (docs/architecture.md: 60 s). */
    heartbeatSeconds: number;
  };
  audit: {
    /** PKCS#8 PEM of the Ed25519 key that signs export manifests and chain checkpoints. */
    signingKeyPem: string;
    /** SPKI PEMs of retired signing keys: their checkpoints still count as evidence after a rotation. */
    retiredPublicKeysPem: string[];
    /** How often one node signs the current chain head. */
    checkpointSeconds: number;
    /** SIEM sinks every event and checkpoint is streamed to (docs/deploy.md "Streaming the audit log to a SIEM"). */
    sinks: AuditSinkConfig[];
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
  // 'auto': one worker per core (os.availableParallelism()).
  ARGUS_WORKERS: z
    .string()
    .refine((v) => v === 'auto' || (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 64), "'auto' (one per core) or a whole number from 1 to 64")
    .default('auto'),
  HOST: z.string().min(1).default('127.0.0.1'),
  ARGUS_ORIGIN: z.url({ protocol: /^https?$/ }).optional(),
  ARGUS_RP_ID: z.string().min(1).optional(),
  ARGUS_RP_NAME: z.string().min(1).max(64).default('Argus'),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  DATABASE_OWNER_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
  REDIS_KEY_PREFIX: z.string().regex(/^[\w:.-]{1,64}$/, 'letters, digits, : . - _ only').default('argus:'),
  EMBEDDED_PG_PORT: intFrom(1, 65535).default(54329),
  EMBEDDED_REDIS_PORT: intFrom(1, 65535).default(63799),
  ARGUS_DATA_DIR: z.string().min(1).default('.argus'),
  // Several, comma-separated, while rotating: the first signs new cookies, every one verifies.
  SESSION_SECRET: z
    .string()
    .refine((v) => v.split(',').every((secret) => secret.trim().length >= 32), 'each comma-separated secret must be at least 32 characters')
    .optional(),
  TRUST_PROXY: z
    .string()
    .refine(isTrustProxyValue, 'a hop count, or comma-separated addresses, subnets (10.0.0.0/8) and loopback, linklocal or uniquelocal')
    .optional(),
  SESSION_IDLE_MINUTES: intFrom(1, 24 * 60).default(30),
  SESSION_MAX_HOURS: intFrom(1, 24 * 30).default(12),
  SESSION_CACHE_SECONDS: intFrom(0, 60).default(10),
  ENROLLMENT_TTL_HOURS: intFrom(1, 24 * 14).default(24),
  WEBAUTHN_USER_VERIFICATION: z.enum(['preferred', 'required']).default('preferred'),
  ALLOW_SYNCED_PASSKEYS: z.enum(['true', 'false']).default('false'),
  // A challenge lives at most two minutes (the Security keys issue).
  WEBAUTHN_CHALLENGE_TTL_SECONDS: intFrom(10, 120).default(120),
  KEY_STEP_MINUTES: intFrom(1, 30).default(5),
  STEP_UP_MINUTES: intFrom(1, 60).default(5),
  GRANT_WARN_SECONDS: intFrom(5, 600).default(30),
  // One key (GRANT_SIGNING_KEY) or, while rotating, `id:secret,id:secret` (the first signs); validated in loadConfig.
  GRANT_SIGNING_KEY: z.string().optional(),
  GRANT_SIGNING_KEYS: z.string().optional(),
  // Restricted conversations at rest (issue #21): one key, `id:base64,id:base64` while rotating, or a file; validated in loadConfig.
  DATA_ENCRYPTION_KEY: z.string().optional(),
  DATA_ENCRYPTION_KEYS: z.string().optional(),
  DATA_ENCRYPTION_KEY_FILE: z.string().min(1).optional(),
  GRANT_AAGUID_ALLOWLIST: z
    .string()
    .regex(/^[0-9a-fA-F-]{36}(,[0-9a-fA-F-]{36})*$/, 'comma-separated AAGUIDs')
    .optional(),
  FIDO_MDS_FILE: z.string().min(1).optional(),
  FIDO_MDS_ROOT_FILE: z.string().min(1).optional(),
  ATTESTATION_POLICY: z.enum(['off', 'restricted', 'all']).optional(),
  SIGNIN_RATE_PER_MINUTE: intFrom(1, 10_000).default(10),
  SIGNIN_FAILURES_PER_USERNAME: intFrom(1, 10_000).default(10),
  SIGNIN_FAILURE_WINDOW_MINUTES: intFrom(1, 24 * 60).default(15),
  // One core is left to the event loop (issue #24): a hash thread on every core makes a
  // sign-in flood's lag the loop's share of a core, not its own work.
  ARGON2_MAX_CONCURRENT: intFrom(1, 64).default(Math.max(1, Math.min(threadPoolSize, availableParallelism() - 1))),
  ARGON2_MAX_QUEUE: intFrom(0, 10_000).default(32),
  MODEL_TIMEOUT_SECONDS: intFrom(1, 600).default(60),
  MODEL_HOST_ALLOWLIST: z
    .string()
    .superRefine((value, ctx) => {
      const problem = modelHostAllowlistProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  CHAT_REQUESTS_PER_MINUTE: intFrom(1, 100_000).default(30),
  CHAT_MAX_CONCURRENT_STREAMS: intFrom(1, 10_000).default(3),
  WS_HEARTBEAT_SECONDS: intFrom(1, 300).default(30),
  WS_CONNECTIONS_PER_MINUTE_PER_IP: intFrom(1, 100_000).default(60),
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
  AUDIT_SIGNING_KEY: z.string().includes('-----BEGIN PRIVATE KEY-----', { message: 'must be a PKCS#8 PEM private key' }).optional(),
  AUDIT_SIGNING_KEY_FILE: z.string().min(1).optional(),
  AUDIT_RETIRED_PUBLIC_KEYS_FILE: z.string().min(1).optional(),
  AUDIT_CHECKPOINT_SECONDS: intFrom(5, 86_400).default(300),
  ...AUDIT_SINK_ENV,
  REDIS_SENTINELS: z
    .string()
    .regex(/^[\w.:[\]-]+:\d{1,5}(,[\w.:[\]-]+:\d{1,5})*$/, 'comma-separated host:port list')
    .optional(),
  REDIS_SENTINEL_NAME: z.string().regex(/^[\w.-]{1,64}$/, 'letters, digits, . - _ only').default('mymaster'),
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  ROUTE_RATE_LIMIT_FACTOR: intFrom(1, 10_000).default(1),
  TWO_PERSON_RULE: z.enum(['on', 'off']).default('on'),
  PASSWORD_SIGNIN: z.enum(['true', 'false']).default('true'),
  ...OIDC_ENV,
  BREAK_GLASS_ADMINS: z
    .string()
    .regex(/^\s*[A-Za-z0-9][A-Za-z0-9._-]{1,62}\s*(,\s*[A-Za-z0-9][A-Za-z0-9._-]{1,62}\s*)*$/, 'comma-separated usernames')
    .optional(),
});

export type Env = Record<string, string | undefined>;

/** Every environment variable Argus reads (docs/deploy.md must describe each one). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

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
  if (e.DATABASE_OWNER_URL && !e.DATABASE_URL) {
    // The embedded PostgreSQL has its own owner; an owner URL alone would be silently ignored.
    throw new ConfigError('Invalid configuration:\n  DATABASE_OWNER_URL: needs DATABASE_URL too (the role the server connects as)');
  }
  if (e.REDIS_SENTINELS && !e.REDIS_URL) {
    throw new ConfigError('Invalid configuration:\n  REDIS_SENTINELS: needs REDIS_URL too (for the password, database and TLS of the master)');
  }
  if (e.NODE_ENV === 'production' && !e.SESSION_SECRET) {
    throw new ConfigError('Invalid configuration:\n  SESSION_SECRET: required when NODE_ENV=production (32+ random characters)');
  }
  const dataDir = path.resolve(e.ARGUS_DATA_DIR);
  const auditSigningKeyPem = auditSigningKey(e, dataDir);
  const grantSigningKeys = recordMacKeys(e, dataDir);
  const dataEncryptionKeys = dataEncryptionKeysOf(e, dataDir);
  const sessionSecrets = e.SESSION_SECRET ? e.SESSION_SECRET.split(',').map((secret) => secret.trim()) : [persistedSecret(dataDir)];
  const workers = e.ARGUS_WORKERS === 'auto' ? Math.min(64, availableParallelism()) : Number(e.ARGUS_WORKERS);
  return {
    env: e.NODE_ENV,
    origin,
    rpId,
    rpName: e.ARGUS_RP_NAME,
    host: e.HOST,
    port: e.PORT,
    workers,
    databaseUrl: e.DATABASE_URL ?? null,
    databaseOwnerUrl: e.DATABASE_OWNER_URL ?? null,
    redisUrl: e.REDIS_URL ?? null,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    redisSentinel: e.REDIS_SENTINELS
      ? {
          sentinels: e.REDIS_SENTINELS.split(',').map((entry) => {
            const at = entry.lastIndexOf(':');
            return { host: entry.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(entry.slice(at + 1)) };
          }),
          name: e.REDIS_SENTINEL_NAME,
          password: e.REDIS_SENTINEL_PASSWORD ?? null,
        }
      : null,
    embeddedPorts: { postgres: e.EMBEDDED_PG_PORT, redis: e.EMBEDDED_REDIS_PORT },
    dataDir,
    sessionSecret: sessionSecrets[0]!,
    sessionSecrets,
    secureCookies: origin.startsWith('https:'),
    // A bare number is a hop count; as a string Express would read it as an address and trust nothing.
    trustProxy: e.TRUST_PROXY === undefined ? false : /^\d+$/.test(e.TRUST_PROXY) ? Number(e.TRUST_PROXY) : e.TRUST_PROXY,
    session: { idleMinutes: e.SESSION_IDLE_MINUTES, maxHours: e.SESSION_MAX_HOURS, cacheSeconds: e.SESSION_CACHE_SECONDS },
    enrollmentTtlHours: e.ENROLLMENT_TTL_HOURS,
    dataEncryptionKeys,
    grants: {
      warnSeconds: e.GRANT_WARN_SECONDS,
      aaguidAllowList: e.GRANT_AAGUID_ALLOWLIST ? e.GRANT_AAGUID_ALLOWLIST.toLowerCase().split(',') : null,
      signingKeys: grantSigningKeys,
    },
    attestation: attestationConfig(e),
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
    wsConnectionsPerMinutePerIp: e.WS_CONNECTIONS_PER_MINUTE_PER_IP,
    modelHostAllowlist: parseModelHostAllowlist(e.MODEL_HOST_ALLOWLIST),
    twoPersonRule: e.TWO_PERSON_RULE,
    oidc: oidcFromEnv(e, origin, (message) => new ConfigError(`Invalid configuration:\n  ${message}`)),
    passwordSignIn: passwordSignInConfig(e),
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
    audit: {
      signingKeyPem: auditSigningKeyPem,
      retiredPublicKeysPem: retiredAuditKeys(e.AUDIT_RETIRED_PUBLIC_KEYS_FILE),
      checkpointSeconds: e.AUDIT_CHECKPOINT_SECONDS,
      sinks: auditSinksFromEnv(e, (message) => new ConfigError(`Invalid configuration:\n  ${message}`)),
    },
  };
}

/**
 * FIDO metadata settings. With a blob file the policy defaults to `restricted`; without one,
 * `off`, and a stricter policy is refused: nothing could ever be attested.
 */
function attestationConfig(e: z.infer<typeof envSchema>): Config['attestation'] {
  const invalid = (message: string) => new ConfigError(`Invalid configuration:\n  ${message}`);
  const mdsFile = e.FIDO_MDS_FILE ?? null;
  const policy = e.ATTESTATION_POLICY ?? (mdsFile ? 'restricted' : 'off');
  if (policy !== 'off' && !mdsFile) throw invalid(`ATTESTATION_POLICY: ${policy} needs FIDO_MDS_FILE (a FIDO MDS3 blob; docs/deploy.md "FIDO metadata")`);
  const rootFile = e.FIDO_MDS_ROOT_FILE ?? SHIPPED_FIDO_MDS_ROOTS;
  let text: string;
  try {
    text = readFileSync(rootFile, 'utf8');
  } catch {
    throw invalid(`FIDO_MDS_ROOT_FILE: cannot read ${rootFile}`);
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw invalid(`FIDO_MDS_ROOT_FILE: ${rootFile} holds no PEM certificate`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch {
      throw invalid(`FIDO_MDS_ROOT_FILE: ${rootFile} holds a certificate that cannot be read`);
    }
  }
  return { policy, mdsFile, mdsRootsPem: blocks };
}

/**
 * PASSWORD_SIGNIN and BREAK_GLASS_ADMINS. Turning passwords off with no company sign-in and
 * no break-glass admin would leave nobody able to sign in: refused. Company sign-in counts as
 * configured when OIDC_ISSUER is set (its own variables are checked with it).
 */
function passwordSignInConfig(e: z.infer<typeof envSchema>): Config['passwordSignIn'] {
  const enabled = e.PASSWORD_SIGNIN === 'true';
  const breakGlassAdmins = e.BREAK_GLASS_ADMINS ? e.BREAK_GLASS_ADMINS.split(',').map((name) => name.trim().toLowerCase()) : [];
  if (!enabled && breakGlassAdmins.length === 0 && !e.OIDC_ISSUER) {
    throw new ConfigError(
      'Invalid configuration:\n  PASSWORD_SIGNIN: false leaves nobody a way to sign in: configure company sign-in (OIDC_ISSUER …) or name BREAK_GLASS_ADMINS',
    );
  }
  return { enabled, breakGlassAdmins };
}

/** The FIDO MDS3 roots Argus ships (their source is noted in the file). */
const SHIPPED_FIDO_MDS_ROOTS = fileURLToPath(new URL('./webauthn/fido-mds-roots.pem', import.meta.url));

/** The public halves of retired audit signing keys, from one PEM file (one or more `PUBLIC KEY` blocks). */
function retiredAuditKeys(file: string | undefined): string[] {
  if (file === undefined) return [];
  const invalid = (message: string) => new ConfigError(`Invalid configuration:\n  AUDIT_RETIRED_PUBLIC_KEYS_FILE: ${message}`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw invalid(`cannot read ${file}`);
  }
  const blocks = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? [];
  if (blocks.length === 0) throw invalid(`${file} holds no PEM public key`);
  for (const block of blocks) {
    let type: string | undefined;
    try {
      type = createPublicKey(block).asymmetricKeyType;
    } catch {
      throw invalid(`${file} holds a public key that cannot be read`);
    }
    if (type !== 'ed25519') throw invalid(`${file} holds a ${type ?? 'non-Ed25519'} key; audit keys are Ed25519`);
  }
  return blocks.map((block) => `${block}\n`);
}

/** The audit signing key: configured in production, generated once under the data directory otherwise. */
function auditSigningKey(e: z.infer<typeof envSchema>, dataDir: string): string {
  const invalid = (message: string) => new ConfigError(`Invalid configuration:\n  ${message}`);
  if (e.AUDIT_SIGNING_KEY && e.AUDIT_SIGNING_KEY_FILE) throw invalid('AUDIT_SIGNING_KEY: set it or AUDIT_SIGNING_KEY_FILE, not both');
  let pem: string;
  if (e.AUDIT_SIGNING_KEY) pem = e.AUDIT_SIGNING_KEY.replaceAll('\\n', '\n');
  else if (e.AUDIT_SIGNING_KEY_FILE) {
    try {
      pem = readFileSync(e.AUDIT_SIGNING_KEY_FILE, 'utf8');
    } catch {
      throw invalid(`AUDIT_SIGNING_KEY_FILE: cannot read ${e.AUDIT_SIGNING_KEY_FILE}`);
    }
  } else if (e.NODE_ENV === 'production') {
    // A key that changes on every start would make yesterday's signatures unverifiable.
    throw invalid('AUDIT_SIGNING_KEY_FILE: required when NODE_ENV=production (an Ed25519 PKCS#8 PEM, see docs/audit-chain.md)');
  } else pem = persistedSigningKeyPem(dataDir);
  try {
    AuditSigner.fromPem(pem);
  } catch {
    throw invalid(`${e.AUDIT_SIGNING_KEY ? 'AUDIT_SIGNING_KEY' : 'AUDIT_SIGNING_KEY_FILE'}: not an Ed25519 private key in PKCS#8 PEM`);
  }
  return pem;
}

/** The grant/outbox record MAC keys: configured in production, generated once under the data directory otherwise. */
function recordMacKeys(e: z.infer<typeof envSchema>, dataDir: string): RecordMacKey[] {
  const invalid = (message: string) => new ConfigError(`Invalid configuration:\n  ${message}`);
  if (e.GRANT_SIGNING_KEY && e.GRANT_SIGNING_KEYS) throw invalid('GRANT_SIGNING_KEY: set it or GRANT_SIGNING_KEYS, not both');
  const name = e.GRANT_SIGNING_KEY ? 'GRANT_SIGNING_KEY' : 'GRANT_SIGNING_KEYS';
  const value = e.GRANT_SIGNING_KEY ?? e.GRANT_SIGNING_KEYS;
  if (value === undefined) {
    // Every node must hold the same key, and a key made up on each start would refuse every live grant.
    if (e.NODE_ENV === 'production') throw invalid('GRANT_SIGNING_KEYS: required when NODE_ENV=production (id:secret, the secret from `openssl rand -base64 32`)');
    return [persistedRecordMacKey(dataDir)];
  }
  try {
    return parseRecordMacKeys(value, { single: name === 'GRANT_SIGNING_KEY' });
  } catch (error) {
    throw invalid(`${name}: ${(error as Error).message}`);
  }
}

/**
 * The key-encryption keys of restricted conversations: configured in production (a key made up
 * on each start would leave every stored conversation unreadable), generated once under the
 * data directory otherwise.
 */
function dataEncryptionKeysOf(e: z.infer<typeof envSchema>, dataDir: string): DataEncryptionKey[] {
  const invalid = (message: string) => new ConfigError(`Invalid configuration:\n  ${message}`);
  const set = (['DATA_ENCRYPTION_KEY', 'DATA_ENCRYPTION_KEYS', 'DATA_ENCRYPTION_KEY_FILE'] as const).filter((name) => e[name] !== undefined);
  if (set.length > 1) throw invalid(`${set[0]}: set only one of DATA_ENCRYPTION_KEY, DATA_ENCRYPTION_KEYS and DATA_ENCRYPTION_KEY_FILE`);
  const name = set[0];
  if (name === undefined) {
    if (e.NODE_ENV === 'production') {
      throw invalid('DATA_ENCRYPTION_KEYS: required when NODE_ENV=production (id:key, the key from `openssl rand -base64 32`; or DATA_ENCRYPTION_KEY_FILE)');
    }
    return [persistedDataEncryptionKey(dataDir)];
  }
  let value = e[name]!;
  if (name === 'DATA_ENCRYPTION_KEY_FILE') {
    try {
      value = readFileSync(value, 'utf8').trim();
    } catch {
      throw invalid(`DATA_ENCRYPTION_KEY_FILE: cannot read ${value}`);
    }
  }
  try {
    return parseDataEncryptionKeys(value, { single: name === 'DATA_ENCRYPTION_KEY' });
  } catch (error) {
    throw invalid(`${name}: ${(error as Error).message}`);
  }
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
