import type { Config } from '../config.ts';
import { countOtherApprovers } from '../db/pendingChanges.ts';
import type { Queryable } from '../db/pool.ts';

/*
 * The two-person rule (threat model G9, issue #22). A recovery enrollment link for a user who
 * has active keys or is an admin, promoting a user to admin (by an admin, or by the groups of their
 * company sign-in: requestChange.ts gateGroupPromotion), and changing a model's base URL or
 * API-key variable are each one step from taking over an account or reading every prompt. While
 * another admin could approve, such a change waits as a pending change until a second admin
 * approves it (server/pendingChanges/decideChange.ts); otherwise it goes through at once and its
 * audit event says why the rule did not hold it.
 */

/**
 * What the audit event of a change the rule covers says about the rule, spread into its details:
 * - `off`: TWO_PERSON_RULE=off;
 * - `not_applicable_single_admin`: no other admin could approve (see countOtherApprovers);
 * - `approved`: a second admin approved pending change `pendingChangeId`, asked by `requestedBy`.
 */
export type TwoPersonRuleNote =
  | { twoPersonRule: 'off' | 'not_applicable_single_admin' }
  | { twoPersonRule: 'approved'; pendingChangeId: string; requestedBy: string };

/** Whether a change the rule covers must wait for a second admin, or goes through with a note. */
export type TwoPersonVerdict = { hold: true } | { hold: false; note: TwoPersonRuleNote };

/**
 * Whether the rule holds a change `requesterId` asks for: on, unless TWO_PERSON_RULE=off, when
 * at least one other admin could approve it (active, with an active key). Counting only admins
 * who could approve keeps a lone admin whose colleague lost every key from being stuck: that
 * colleague's recovery link would otherwise need the colleague's own approval.
 */
export async function twoPersonVerdict(db: Queryable, config: Pick<Config, 'twoPersonRule'>, requesterId: string): Promise<TwoPersonVerdict> {
  if (config.twoPersonRule === 'off') return { hold: false, note: { twoPersonRule: 'off' } };
  if ((await countOtherApprovers(db, requesterId)) === 0) return { hold: false, note: { twoPersonRule: 'not_applicable_single_admin' } };
  return { hold: true };
}
