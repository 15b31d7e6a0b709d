import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import type { Pool } from './db/pool.ts';
import type { Logger } from './log.ts';
import type { PasswordHasher } from './auth/password.ts';
import type { RedisSessionStore } from './auth/sessionStore.ts';
import type { SignInThrottle } from './auth/signInThrottle.ts';
import type { ChallengeStore } from './webauthn/challenges.ts';
import type { EventBus } from './realtime/bus.ts';
import type { GrantService } from './grants/grants.ts';
import type { AuditOutbox } from './outbox/auditOutbox.ts';
import type { RowCache } from './cache/rowCache.ts';
import type { KeyRow } from './db/keys.ts';
import type { UserRow } from './db/users.ts';
import type { ModelRow } from './db/models.ts';
import type { AuditSigner } from './audit/signingKey.ts';
import type { FidoMetadata } from './webauthn/fidoMetadata.ts';
import type { OidcRelyingParty } from './oidc/relyingParty.ts';

/** Everything a route or domain function may need, built once at start-up. */
export interface Deps {
  config: Config;
  pool: Pool;
  redis: Redis;
  log: Logger;
  hasher: PasswordHasher;
  sessions: RedisSessionStore;
  signInThrottle: SignInThrottle;
  challenges: ChallengeStore;
  bus: EventBus;
  grants: GrantService;
  /** Audit records of changes made in Redis, queued with the change until Postgres takes them. */
  auditOutbox: AuditOutbox;
  /** Hot rows, cached per node while Postgres's change notifications are being received. */
  rows: { users: RowCache<UserRow>; models: RowCache<ModelRow>; keys: RowCache<KeyRow> };
  /** Signs audit export manifests and chain checkpoints. */
  auditSigner: AuditSigner;
  /** The FIDO metadata this node loaded from FIDO_MDS_FILE, to judge attestations (threat-model G16). */
  fidoMetadata: FidoMetadata;
  /** Company sign-in (OIDC_ISSUER, issue #20): the provider as a relying party sees it; null when not configured. */
  oidc: OidcRelyingParty | null;
}
