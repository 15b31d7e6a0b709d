import { z } from 'zod';

/**
 * ISO-8601 timestamps as the API takes them: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`,
 * a real calendar date in years 0001–9999, an offset Postgres accepts. JavaScript's
 * `Date.parse` and zod's datetime pattern are more lenient than Postgres (year 0000, six-digit
 * years, offsets like -23:59, 30 February): such a value must be a 400 at the boundary, not a
 * failed query and a 500.
 */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** Postgres refuses a UTC offset beyond ±15:59 (src/include/datatype/timestamp.h: MAX_TZDISP_HOUR 15). */
const MAX_OFFSET_HOURS = 15;

function daysIn(year: number, month: number): number {
  // Day 0 of the next month is the last day of this one; Date.UTC maps years 0–99 to 1900+, so set the year itself.
  const date = new Date(Date.UTC(2000, month, 0));
  date.setUTCFullYear(year, month, 0);
  return date.getUTCDate();
}

/** Whether `text` is a timestamp in the form above that Postgres stores as given. */
export function isStorableTimestamp(text: string): boolean {
  const match = TIMESTAMP.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return false;
  if (hour > 23 || minute > 59 || second > 59) return false;
  if (match[7] !== undefined && (Number(match[7]) > MAX_OFFSET_HOURS || Number(match[8]) > 59)) return false;
  return true;
}

const MESSAGE = 'an ISO-8601 date and time (e.g. 2024-05-01T09:30:00Z), years 0001–9999, offset within ±15:59';

/** The one schema for a timestamp in a query or body (audit search and export filters). */
export const IsoTimestamp = z.iso.datetime({ offset: true, message: MESSAGE }).max(64).refine(isStorableTimestamp, MESSAGE);
