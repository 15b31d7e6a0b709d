import { OUTCOMES, SEVERITIES, type AuditEventView, type AuditSearch } from '../../../shared/audit.ts';

export const FILTER_NAMES = ['from', 'to', 'actor', 'action', 'target', 'outcome', 'severity', 'model'] as const;

/** The search a URL's query names; unknown or empty values are left out. */
export function searchFrom(params: Partial<Record<string, string | string[] | undefined>>): AuditSearch {
  const search: AuditSearch = {};
  const text = (name: string) => {
    const value = params[name];
    const first = Array.isArray(value) ? value[0] : value;
    return first?.trim() ? first.trim() : undefined;
  };
  for (const name of ['from', 'to'] as const) {
    const value = text(name);
    if (value && !Number.isNaN(Date.parse(value))) search[name] = new Date(value).toISOString();
  }
  for (const name of ['actor', 'action', 'target', 'model'] as const) {
    const value = text(name);
    if (value) search[name] = value;
  }
  search.outcome = OUTCOMES.find((o) => o === text('outcome'));
  search.severity = SEVERITIES.find((s) => s === text('severity'));
  for (const name of FILTER_NAMES) if (search[name] === undefined) delete search[name];
  return search;
}

export function sameSearch(a: AuditSearch, b: AuditSearch): boolean {
  return FILTER_NAMES.every((name) => a[name] === b[name]);
}

/** Whether a live event belongs in the list the search shows (the server's rules, in the browser). */
export function matchesSearch(event: AuditEventView, search: AuditSearch): boolean {
  if (search.from && event.time < search.from) return false;
  if (search.to && event.time >= search.to) return false;
  if (search.actor) {
    const actor = search.actor.toLowerCase();
    if (event.actorId?.toLowerCase() !== actor && event.actorUsername?.toLowerCase() !== actor) return false;
  }
  if (search.action && event.action !== search.action) return false;
  if (search.target && event.targetId !== search.target) return false;
  if (search.outcome && event.outcome !== search.outcome) return false;
  if (search.severity && event.severity !== search.severity) return false;
  if (search.model && event.model !== search.model) return false;
  return true;
}

/** An ISO instant as a datetime-local input value, in the reader's time zone. */
export function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 19);
}

/** A datetime-local input value (the reader's time zone) as an ISO instant. */
export function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** High and critical events stand out in the list and the live tail. */
export const isAlert = (event: AuditEventView) => event.severity === 'high' || event.severity === 'critical';
