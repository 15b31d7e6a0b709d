/**
 * The grant's clock, without Solid: when the live grant ends by this browser's clock, how
 * long it has left, when to warn, and which grants may never show again. The provider
 * (client/modelAccess.tsx) ticks it and locks at zero; nothing here can extend a grant past
 * what the server said (docs/architecture.md invariant 2).
 */
import type { GrantView } from '../../shared/api.ts';

/** The warning (and "Renew") shows this long before the grant ends; the server's GRANT_EXPIRING default too. */
export const EXPIRY_WARNING_MS = 30_000;

export interface ClockedGrant<Device> {
  view: GrantView;
  /** When the grant ends by this browser's clock. */
  deadline: number;
  /** The key WebHID saw at the unlock, if it saw exactly one. */
  device: Device | undefined;
}

export interface AdoptOptions<Device> {
  /** The grant shown now, if any. */
  current: ClockedGrant<Device> | null;
  view: GrantView;
  /** Just issued (an unlock's answer, MODELS_UNLOCKED): its issue time tells the server's clock. */
  fresh: boolean;
  /** This browser's time when the answer arrived. */
  receivedAt: number;
  device?: Device;
}

export interface GrantClock {
  /**
   * The grant `view` as it should show, or null when it must not: it ended here already (a
   * late answer never brings one back) or its end is past. The same grant told of twice
   * never ends later than it did.
   */
  adopt: <Device>(options: AdoptOptions<Device>) => ClockedGrant<Device> | null;
  /** The grant `id` ended here: no answer shows it again, unless an unlock issues it afresh. */
  ended: (id: string) => void;
  /** Forgets everything (sign-out): nothing of one user's grants carries over to the next. */
  reset: () => void;
}

export function createGrantClock(): GrantClock {
  /** Grants this tab ended. */
  const endedIds = new Set<string>();
  /** Server clock minus ours, learned from a fresh grant's issue time. */
  let serverAhead: number | undefined;

  function deadlineOf(view: GrantView, receivedAt: number, fresh: boolean): number {
    const expires = Date.parse(view.expiresAt);
    const issued = Date.parse(view.issuedAt);
    if (fresh && Number.isFinite(issued)) serverAhead = issued - receivedAt;
    if (serverAhead !== undefined) return expires - serverAhead;
    // Not knowing the server's clock: never later than the grant's length from now.
    return Number.isFinite(issued) ? Math.min(expires, receivedAt + (expires - issued)) : expires;
  }

  return {
    adopt: ({ current, view, fresh, receivedAt, device }) => {
      if (fresh) endedIds.delete(view.id);
      if (endedIds.has(view.id)) return null;
      let deadline = deadlineOf(view, receivedAt, fresh);
      if (current?.view.id === view.id) {
        deadline = Math.min(deadline, current.deadline);
        device ??= current.device;
      }
      if (deadline <= receivedAt) return null;
      return { view, deadline, device };
    },
    ended: (id) => void endedIds.add(id),
    reset: () => {
      endedIds.clear();
      serverAhead = undefined;
    },
  };
}

/** Milliseconds `grant` has left at `now`; 0 when there is none. */
export function msLeft(grant: { deadline: number } | null, now: number): number {
  return grant ? Math.max(0, grant.deadline - now) : 0;
}

/** The grant has run out by this browser's clock: lock now, whether or not the server said so. */
export function hasRunOut(grant: { deadline: number } | null, now: number): boolean {
  return grant !== null && now >= grant.deadline;
}

/** Warn and offer to renew: close to the end, or the server said so (GRANT_EXPIRING) for this grant. */
export function isExpiring(grant: { view: { id: string }; deadline: number } | null, now: number, warnedFor: string | undefined): boolean {
  return grant !== null && (msLeft(grant, now) <= EXPIRY_WARNING_MS || warnedFor === grant.view.id);
}
