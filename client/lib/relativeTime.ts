import { createSignal, onCleanup, type Accessor } from 'solid-js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' });
const sameYear = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const otherYear = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
const exact = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'long' });

/**
 * An instant as a console row says it: "just now", "5 min. ago", "3 hr. ago", "yesterday",
 * "4 days ago", then the date ("Nov 12"; "Nov 12, 2025" in another year). Short on purpose:
 * the exact time is one hover (or the drawer) away.
 */
export function relativeTime(iso: string, now: number): string {
  const time = Date.parse(iso);
  const ago = now - time;
  if (ago < 45_000) return 'just now';
  if (ago < HOUR) return relative.format(-Math.round(ago / MINUTE), 'minute');
  if (ago < DAY) return relative.format(-Math.round(ago / HOUR), 'hour');
  if (ago < 7 * DAY) return relative.format(-Math.round(ago / DAY), 'day');
  return (new Date(time).getFullYear() === new Date(now).getFullYear() ? sameYear : otherYear).format(time);
}

/** The exact instant with its time zone, in the reader's locale: what the hover and the drawer show. */
export function exactTime(iso: string): string {
  return exact.format(new Date(iso));
}

/** The current time, moving on every `everyMs` while the owner lives (relative times stay true). */
export function createNow(everyMs = 30_000): Accessor<number> {
  const [now, setNow] = createSignal(Date.now());
  const timer = setInterval(() => setNow(Date.now()), everyMs);
  onCleanup(() => clearInterval(timer));
  return now;
}
