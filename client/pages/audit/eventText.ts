import { plural } from '../../lib/plural.ts';
import type { AuditCount, AuditEventView, Outcome } from '../../../shared/audit.ts';

/**
 * A row's event. Events from the live feed are read with the same query as a search's
 * (server/db/audit.ts getAuditEvent), so they carry the target's name too; the feed's wire
 * type does not say so, hence optional.
 */
export type ShownAuditEvent = AuditEventView & { targetName?: string | null };

export const OUTCOME_LABELS: Record<Outcome, string> = { success: 'Success', failure: 'Failure', denied: 'Denied' };

/** Target types in words. */
const TARGET_TYPES: Partial<Record<string, string>> = { security_key: 'key', audit_export: 'export' };

export const targetTypeText = (type: string) => TARGET_TYPES[type] ?? type.replaceAll('_', ' ');

/** An id too long for a cell, cut to its first characters (a uuid's first group). */
export const shortId = (id: string) => (id.length > 12 ? `${id.slice(0, 8)}…` : id);

/** The target's name, else a short form of its id; null when the event has no target. */
export function targetText(event: ShownAuditEvent): string | null {
  if (event.targetName) return event.targetName;
  return event.targetId ? shortId(event.targetId) : null;
}

const numbers = new Intl.NumberFormat();

const events = (count: number) => plural(count, 'event');

/**
 * How many events the search shows: the server's count plus what arrived live; "10,000+
 * events" where it stopped counting; where it did not count in time, what is loaded, with a
 * "+" while more pages remain.
 */
export function countText({ total, loaded, morePages, live }: { total: AuditCount | null | undefined; loaded: number; morePages: boolean; live: number }): string {
  if (total?.more) return `${numbers.format(total.count)}+ events`;
  if (total) return events(total.count + live);
  return morePages ? `${numbers.format(loaded + live)}+ events` : events(loaded + live);
}
