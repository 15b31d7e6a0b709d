/**
 * The company sign-in step (issue #20), after the provider's answer validated: find the
 * account by (iss, sub) — or link or create one as the provisioning rule allows — re-apply the
 * role the groups give, and say what the browser does next. Like the password step, it signs
 * nobody in: the user's own security key always follows (docs/architecture.md invariant 11).
 *
 * Linking, in one rule: an identity links to an account only (a) when the account is new,
 * created by this very sign-in (OIDC_PROVISIONING=jit), or (b) when an admin allowed it on
 * that account beforehand (oidc_link_allowance, usable for OIDC_LINK_ALLOWANCE_HOURS), and
 * the sign-in's username claim names it. An existing account is never linked by its username alone.
 *
 * Roles, in one rule: the groups' role is taken up at every sign-in, except a promotion to
 * admin, which waits for an admin's approval as an admin's promotion would, while an admin
 * could approve (threat model G20, server/pendingChanges/requestChange.ts gateGroupPromotion);
 * a sign-in whose groups no longer name an admin group withdraws one still waiting.
 */
import type { Role } from '../../shared/api.ts';
import { recordAuditEvent, type AuditContext, type AuditInput } from '../audit/record.ts';
import { getIdentity, insertIdentity, takeLinkAllowance, touchIdentity } from '../db/identities.ts';
import { getKeysForUser } from '../db/keys.ts';
import { PG_UNIQUE_VIOLATION, pgErrorCode, withTransaction } from '../db/pool.ts';
import { getUserById, getUserByUsername, insertUser, lockUser, type UserRow } from '../db/users.ts';
import type { Deps } from '../deps.ts';
import { withdrawGroupPromotion } from '../pendingChanges/decideChange.ts';
import { gateGroupPromotion, groupPromotionHeld } from '../pendingChanges/requestChange.ts';
import type { TwoPersonRuleNote } from '../pendingChanges/twoPersonRule.ts';
import { applyUserChange, endAccessAfterUserChange } from '../users/changeUser.ts';
import { displayNameFromClaims, groupsFromClaims, roleFromGroups, usernameFromClaims } from './claims.ts';
import type { OidcConfig } from './oidcConfig.ts';
import type { IdTokenClaims } from './relyingParty.ts';

export type ProviderSignInRefusal =
  | 'no_account'
  /** An admin allowed linking this account, longer ago than OIDC_LINK_ALLOWANCE_HOURS. */
  | 'link_allowance_expired'
  | 'username_missing'
  | 'username_invalid'
  | 'username_taken'
  | 'account_disabled'
  | 'no_active_key'
  | 'key_pending_approval';

export type ProviderSignInOutcome =
  /** The user has an active key: the sign-in key step follows. */
  | { result: 'needs_key'; user: UserRow }
  /** The user has no key at all: they register their first one now (OIDC_FIRST_KEY). */
  | { result: 'first_key'; user: UserRow }
  | { result: 'refused'; reason: ProviderSignInRefusal };

type SignInDeps = Pick<Deps, 'pool' | 'config' | 'sessions' | 'grants' | 'log'>;

/**
 * What became of a promotion to admin the groups asked for, in the sign-in's audit event:
 * `requested` (a pending change was written now), `already_waiting`, `rejected_before` (the
 * same groups were rejected lately, so it was not asked again), `withdrawn` (one waited, and
 * these groups no longer name an admin group).
 */
type GroupPromotion = 'requested' | 'already_waiting' | 'rejected_before' | 'withdrawn';

/** Thrown inside a linking transaction to roll it back with a refusal. */
class Refused extends Error {
  override name = 'Refused';
  constructor(readonly reason: ProviderSignInRefusal) {
    super(reason);
  }
}

export async function signInWithProvider(
  deps: SignInDeps,
  { config, claims, context }: { config: OidcConfig; claims: IdTokenClaims; context: AuditContext },
): Promise<ProviderSignInOutcome> {
  const identity = { issuer: claims.iss, subject: claims.sub };
  const refuse = async (reason: ProviderSignInRefusal, user: UserRow | null, details: Record<string, unknown> = {}): Promise<ProviderSignInOutcome> => {
    await recordAuditEvent(deps.pool, user ? { ...context, actor: { id: user.id, username: user.username } } : context, {
      action: 'auth.oidc_failed',
      outcome: 'denied',
      target: user ? { type: 'user', id: user.id } : null,
      details: { reason, ...identity, ...details },
    });
    return { result: 'refused', reason };
  };

  let user = await findOrLinkAccount(deps, { config, claims, context, identity }).catch((error: unknown) => {
    if (error instanceof Refused) return error;
    throw error;
  });
  if (user instanceof Refused) {
    const claimed = usernameFromClaims(claims, config.usernameClaims);
    return refuse(user.reason, null, claimed.ok ? { username: claimed.username } : {});
  }
  const actor: AuditContext = { ...context, actor: { id: user.id, username: user.username } };
  if (user.status !== 'active') return refuse('account_disabled', user);

  const groupRole = await applyGroupRole(deps, { config, claims, user, context: actor });
  user = groupRole.user;
  await touchIdentity(deps.pool, identity.issuer, identity.subject);

  // The same rule as the password step: an active key signs in; none at all may register a first one.
  const keys = await getKeysForUser(deps.pool, user.id);
  if (!keys.some((key) => key.status === 'active')) {
    if (keys.some((key) => key.status === 'pending_approval')) return refuse('key_pending_approval', user);
    // A user whose keys were deactivated or suspended gets no new one this way: an admin decides.
    if (keys.length > 0) return refuse('no_active_key', user);
  }
  const next = keys.length === 0 ? 'first_key' : 'needs_key';
  await recordAuditEvent(deps.pool, actor, {
    action: 'auth.oidc_verified',
    outcome: 'success',
    target: { type: 'user', id: user.id },
    details: { ...identity, next, ...(groupRole.promotion ? { groupPromotion: groupRole.promotion } : {}) },
  });
  return next === 'first_key' ? { result: 'first_key', user } : { result: 'needs_key', user };
}

/**
 * The account of this identity: linked before, or linked now (an admin's allowance), or
 * created now (jit). Throws Refused when there is none and may be none.
 */
async function findOrLinkAccount(
  deps: SignInDeps,
  { config, claims, context, identity }: { config: OidcConfig; claims: IdTokenClaims; context: AuditContext; identity: { issuer: string; subject: string } },
): Promise<UserRow> {
  const { pool } = deps;
  const linked = await getIdentity(pool, identity.issuer, identity.subject);
  if (linked) {
    const user = await getUserById(pool, linked.user_id);
    if (user) return user;
  }
  const claimed = usernameFromClaims(claims, config.usernameClaims);
  if (!claimed.ok) throw new Refused(claimed.reason);
  const existing = await getUserByUsername(pool, claimed.username);
  const desiredRole = roleFromGroups(groupsFromClaims(claims, config.groupsClaim), config);
  // A new account the groups make an admin starts as a user while an admin could approve the
  // promotion; applyGroupRole then asks for it. Only the first admin is created an admin at once.
  const adminNow = !existing && desiredRole === 'admin' ? await groupPromotionHeld(deps, null) : null;
  try {
    return await withTransaction(pool, async (client) => {
      let user: UserRow;
      const events: AuditInput[] = [];
      if (existing) {
        // Under the user's row lock, and used up: two sign-ins cannot both take one allowance.
        const locked = await lockUser(client, existing.id);
        const allowance = locked ? await takeLinkAllowance(client, existing.id, config.linkAllowanceHours) : 'none';
        // Past its hours, an allowance is a standing offer to whoever the provider names so: refused.
        if (allowance === 'expired') throw new Refused('link_allowance_expired');
        if (!locked || allowance !== 'taken') throw new Refused(config.provisioning === 'jit' ? 'username_taken' : 'no_account');
        user = locked;
        await insertIdentity(client, { userId: user.id, ...identity });
      } else {
        if (config.provisioning !== 'jit') throw new Refused('no_account');
        const role: Role = desiredRole === 'admin' && adminNow?.hold !== false ? 'user' : (desiredRole ?? 'user');
        user = await insertUser(client, { username: claimed.username, displayName: displayNameFromClaims(claims, claimed.username), role });
        await insertIdentity(client, { userId: user.id, ...identity });
        events.push({
          action: role === 'admin' ? 'user.admin_created' : 'user.created',
          outcome: 'success',
          target: { type: 'user', id: user.id },
          details: { username: user.username, role, source: 'company_sign_in', ...(role === 'admin' && adminNow?.hold === false ? adminNow.note : {}) },
        });
      }
      events.push({
        action: 'user.identity_linked',
        outcome: 'success',
        target: { type: 'user', id: user.id },
        details: { username: user.username, ...identity, usernameClaim: claimed.claim, via: existing ? 'admin_allowance' : 'jit' },
      });
      // Every row first, the audit events last: the chain lock is the last lock taken (docs/locking.md).
      const actor: AuditContext = { ...context, actor: { id: user.id, username: user.username } };
      for (const event of events) await recordAuditEvent(client, actor, event);
      return user;
    });
  } catch (error) {
    // 23505: the username was taken, or this identity linked, by a sign-in racing this one.
    if (pgErrorCode(error) === PG_UNIQUE_VIOLATION) throw new Refused('username_taken');
    throw error;
  }
}

/**
 * Re-applies the role the groups give, as an admin's role change would be: audited, and the
 * user's grants and sessions end (the new role is taken up by the sign-in under way). A
 * promotion to admin is held under the two-person rule: the sign-in goes on with the user's
 * current role, and withdrawn by a later sign-in whose groups no longer ask for it. Taking a
 * role away needs no second person, but the last active admin is never demoted this way: the
 * role stays, and the refusal is audited.
 */
async function applyGroupRole(
  deps: SignInDeps,
  { config, claims, user, context }: { config: OidcConfig; claims: IdTokenClaims; user: UserRow; context: AuditContext },
): Promise<{ user: UserRow; promotion?: GroupPromotion }> {
  const groups = groupsFromClaims(claims, config.groupsClaim);
  const role = roleFromGroups(groups, config);
  // Before any role change: a promotion left waiting could otherwise still be approved.
  const withdrawn = role !== 'admin' && (await withdrawGroupPromotion(deps, { user, groups, context }));
  if (role === null) return withdrawn ? { user, promotion: 'withdrawn' } : { user };
  // Read again once nothing can be approved any more: an approval that landed after this
  // sign-in first read the account (so the withdrawal found it decided) made it an admin.
  if (role !== 'admin') user = (await getUserById(deps.pool, user.id)) ?? user;
  if (role === user.role) return withdrawn ? { user, promotion: 'withdrawn' } : { user };
  let note: TwoPersonRuleNote | undefined;
  if (role === 'admin') {
    const gate = await gateGroupPromotion(deps, { user, groups, context });
    if (gate.held === true) return { user, promotion: 'requested' };
    if (gate.held !== false) return { user, promotion: gate.held };
    note = gate.note;
  }
  const applied = await withTransaction(deps.pool, async (client) => {
    const change = await applyUserChange(client, { userId: user.id, role, twoPersonRule: note });
    if (!change.changed) {
      if (change.reason === 'last_admin') {
        await recordAuditEvent(client, context, {
          action: 'user.role_change_refused',
          outcome: 'denied',
          target: { type: 'user', id: user.id },
          details: { username: user.username, before: user.role, wanted: role, reason: 'last_admin', source: 'company_groups' },
        });
      }
      return change;
    }
    for (const event of change.auditEvents) {
      await recordAuditEvent(client, context, { ...event, details: { ...event.details, source: 'company_groups', groups: groups.slice(0, 50) } });
    }
    return change;
  });
  const promotion = withdrawn ? ({ promotion: 'withdrawn' } as const) : {};
  if (!applied.changed) return { user, ...promotion };
  // After the commit: grants first, then every session of the user, on every node.
  await endAccessAfterUserChange(deps, { userId: user.id, applied, context });
  return { user: applied.user, ...promotion };
}
