import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { countActiveKeysForUser, deleteKey, getKeyById, reassignKey, renameKey, setKeyStatus, suspendKeyForReport, type KeyRow } from '../db/keys.ts';
import { withTransaction, type PoolClient } from '../db/pool.ts';
import { lockUser } from '../db/users.ts';
import type { GrantEndReason } from '../../shared/api.ts';
import type { Deps } from '../deps.ts';
import type { KeyModelStatement } from '../webauthn/fidoMetadata.ts';

export type KeyChangeFailure = 'not_found' | 'last_key' | 'reason_required' | 'no_change' | 'target_not_found' | 'owner_moved';
export type KeyChangeResult = { changed: true; key: KeyRow | null; sessionsEnded: number } | { changed: false; reason: KeyChangeFailure };

interface KeyChange {
  keyId: string;
  context: AuditContext;
  /** Only keys of this user (a user managing their own keys); admins pass null. */
  ownerId: string | null;
  /**
   * Makes the change and records it, inside the transaction, with the key and its owner
   * locked. Returns a refusal, or whether sessions signed in with the key must end: false,
   * or why the key's grants end with them.
   */
  apply: (client: PoolClient, key: KeyRow) => Promise<KeyChangeFailure | { endSessions: GrantEndReason | false }>;
  /** A session to spare when ending the key's sessions (the one making the change). */
  exceptSessionId?: string | null;
  /** Another user the change touches (a reassignment's new owner), locked with the owner. */
  otherUserId?: string;
}

/** Would this change leave the owner with no active key? Checked under the owner's row lock. */
async function wouldRemoveLastActiveKey(client: PoolClient, key: KeyRow): Promise<boolean> {
  return key.status === 'active' && (await countActiveKeysForUser(client, key.user_id)) <= 1;
}

/**
 * The one path every key change takes: lock, check, change and audit in one transaction,
 * then end the sessions that signed in with the key once the change has committed.
 */
type KeyDeps = Pick<Deps, 'pool' | 'sessions' | 'grants'>;

/** How often a change starts again when the key changed owner between its first read and its lock. */
const OWNER_MOVED_ATTEMPTS = 3;

async function changeKey({ pool, sessions, grants }: KeyDeps, change: KeyChange): Promise<KeyChangeResult> {
  const attempt = () =>
    withTransaction(pool, async (client) => {
      const found = await getKeyById(client, change.keyId);
      if (!found || (change.ownerId !== null && found.user_id !== change.ownerId)) return 'not_found' as const;
      // Users first (in id order, when the change touches two), then the key: the same order
      // everywhere, so concurrent changes cannot deadlock (docs/locking.md).
      const users = [...new Set([found.user_id, change.otherUserId ?? found.user_id])].sort();
      for (const userId of users) await lockUser(client, userId);
      const key = await getKeyById(client, change.keyId, true);
      if (!key || (change.ownerId !== null && key.user_id !== change.ownerId)) return 'not_found' as const;
      // Reassigned between the first read and the lock: its new owner is not locked, so start again.
      if (!users.includes(key.user_id)) return 'owner_moved' as const;
      const applied = await change.apply(client, key);
      if (typeof applied === 'string') return applied;
      // The key as this change left it, read before commit: a delete racing in after the
      // commit cannot take it from under the answer (null only when the change deleted it).
      return { ...applied, key: await getKeyById(client, change.keyId) };
    });
  let outcome = await attempt();
  // Still moving after a few tries (another admin keeps reassigning it): 'owner_moved', a 409.
  for (let tries = 1; outcome === 'owner_moved' && tries < OWNER_MOVED_ATTEMPTS; tries += 1) outcome = await attempt();
  if (typeof outcome === 'string') return { changed: false, reason: outcome };
  // Grants first: access ends before anything else (docs/architecture.md invariant 2).
  if (outcome.endSessions) await grants.endForKey(change.keyId, outcome.endSessions, change.context);
  const sessionsEnded = outcome.endSessions ? await sessions.destroyAllForKey(change.keyId, change.exceptSessionId ?? null) : 0;
  return { changed: true, key: outcome.key, sessionsEnded };
}

const target = (key: KeyRow) => ({ type: 'security_key', id: key.id });

/** The credential id as registration and assertion events name it (docs/presence-proofs.md). */
const credentialId = (key: KeyRow) => key.credential_id.toString('base64url');

export function renameOwnKey(deps: KeyDeps, { userId, keyId, nickname, context }: { userId: string; keyId: string; nickname: string; context: AuditContext }) {
  return changeKey(deps, {
    keyId,
    context,
    ownerId: userId,
    async apply(client, key) {
      await renameKey(client, key.id, nickname);
      await recordAuditEvent(client, context, { action: 'key.renamed', outcome: 'success', target: target(key), details: { before: key.nickname, after: nickname } });
      return { endSessions: false };
    },
  });
}

/** A user removes one of their keys: never the last active one. Other sessions made with it end. */
export function removeOwnKey(
  deps: KeyDeps,
  { userId, keyId, context, currentSessionId }: { userId: string; keyId: string; context: AuditContext; currentSessionId: string },
) {
  return removeKey(deps, {
    keyId,
    context,
    ownerId: userId,
    lastKeyOf: userId,
    exceptSessionId: currentSessionId,
    action: 'key.removed',
    details: (key) => ({ ownerId: key.user_id, nickname: key.nickname, modelName: key.model_name, status: key.status }),
  });
}

/**
 * An admin deactivates or reactivates a key. Reactivating a key suspended by clone
 * detection needs a reason. An admin cannot deactivate their own last active key.
 */
export function setKeyStatusAsAdmin(
  deps: KeyDeps,
  { keyId, status, reason, context }: { keyId: string; status: 'active' | 'deactivated'; reason: string | undefined; context: AuditContext },
) {
  return changeKey(deps, {
    keyId,
    context,
    ownerId: null,
    async apply(client, key) {
      if (key.status === status) return 'no_change';
      if (key.status === 'suspended' && status === 'active' && !reason) return 'reason_required';
      if (status === 'deactivated' && key.user_id === context.actor?.id && (await wouldRemoveLastActiveKey(client, key))) return 'last_key';
      await setKeyStatus(client, key.id, status, reason ?? null);
      await recordAuditEvent(client, context, {
        // Activating a key registered after company sign-in (OIDC_FIRST_KEY=approval) is its approval.
        action: status === 'deactivated' ? 'key.deactivated' : key.status === 'pending_approval' ? 'key.approved' : 'key.reactivated',
        outcome: 'success',
        target: target(key),
        details: { ownerId: key.user_id, ownerUsername: key.owner_username, before: key.status, after: status, reason: reason ?? null },
      });
      return { endSessions: status === 'deactivated' ? 'key_deactivated' : false };
    },
  });
}

/**
 * FIDO metadata reports the key's model compromised (its latest status report): the key is
 * suspended, like a clone, with a critical audit event, and its grants and sessions end. An
 * admin may reactivate it with a reason, which accepts that report: later loads leave the key
 * be until a newer report comes. Already suspended: no change (each node loading the blob tries).
 */
export function suspendKeyOfCompromisedModel(
  deps: KeyDeps,
  { keyId, statement, blobNo, context }: { keyId: string; statement: Pick<KeyModelStatement, 'latestStatus' | 'latestReport' | 'description'>; blobNo: number; context: AuditContext },
) {
  return changeKey(deps, {
    keyId,
    context,
    ownerId: null,
    async apply(client, key) {
      // Suspended already, or reactivated by an admin who accepted this very report.
      if (key.status === 'suspended' || key.compromise_report === statement.latestReport) return 'no_change';
      const model = statement.description.slice(0, 200);
      await suspendKeyForReport(client, key.id, `FIDO metadata (blob no. ${blobNo}) reports ${statement.latestStatus} for ${model}`, statement.latestReport ?? '');
      await recordAuditEvent(client, context, {
        action: 'key.model_compromised',
        outcome: 'success',
        target: target(key),
        details: { ownerId: key.user_id, ownerUsername: key.owner_username, aaguid: key.aaguid, attested: key.attested, status: statement.latestStatus, report: statement.latestReport, model, blobNo, before: key.status },
      });
      return { endSessions: 'key_suspended' };
    },
  });
}

/** An admin moves a key to another user: both owners are recorded; its sessions end. */
export function reassignKeyAsAdmin(
  deps: KeyDeps,
  { keyId, userId, context }: { keyId: string; userId: string; context: AuditContext },
) {
  return changeKey(deps, {
    keyId,
    context,
    ownerId: null,
    otherUserId: userId,
    async apply(client, key) {
      if (key.user_id === userId) return 'no_change';
      const newOwner = await lockUser(client, userId);
      if (!newOwner) return 'target_not_found';
      if (key.user_id === context.actor?.id && (await wouldRemoveLastActiveKey(client, key))) return 'last_key';
      await reassignKey(client, key.id, userId);
      await recordAuditEvent(client, context, {
        action: 'key.reassigned',
        outcome: 'success',
        target: target(key),
        details: {
          fromUserId: key.user_id,
          fromUsername: key.owner_username,
          toUserId: newOwner.id,
          toUsername: newOwner.username,
          // The owner history a presence proof follows: from now on this credential signs for toUserId.
          credential: { id: credentialId(key), fromUserId: key.user_id, toUserId: newOwner.id },
        },
      });
      return { endSessions: 'key_reassigned' };
    },
  });
}

/** An admin deletes any key, but not their own last active one; all its sessions end. */
export function deleteKeyAsAdmin(deps: KeyDeps, { keyId, context }: { keyId: string; context: AuditContext }) {
  return removeKey(deps, {
    keyId,
    context,
    ownerId: null,
    lastKeyOf: context.actor?.id,
    action: 'key.deleted',
    details: (key) => ({ ownerId: key.user_id, ownerUsername: key.owner_username, nickname: key.nickname, status: key.status }),
  });
}

interface KeyRemoval extends Pick<KeyChange, 'keyId' | 'context' | 'ownerId' | 'exceptSessionId'> {
  /** The user whose last active key must stay: the owner themself, or the admin deleting. */
  lastKeyOf: string | undefined;
  action: 'key.removed' | 'key.deleted';
  details: (key: KeyRow) => Record<string, unknown>;
}

/** The one delete path: refuses to take the protected user's last active key, deletes, audits; the key's sessions end. */
function removeKey(deps: KeyDeps, { lastKeyOf, action, details, ...change }: KeyRemoval) {
  return changeKey(deps, {
    ...change,
    async apply(client, key) {
      if (key.user_id === lastKeyOf && (await wouldRemoveLastActiveKey(client, key))) return 'last_key';
      await deleteKey(client, key.id);
      // The owner history a presence proof follows: this credential signs for nobody from now on.
      const credential = { id: credentialId(key), userId: key.user_id };
      await recordAuditEvent(client, change.context, { action, outcome: 'success', target: target(key), details: { ...details(key), credential } });
      return { endSessions: 'key_deleted' };
    },
  });
}
