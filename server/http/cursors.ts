import { z } from 'zod';
import { isStorableTimestamp } from './timestamps.ts';

/**
 * Keyset cursors are opaque to clients (base64url) and checked strictly on the way back in:
 * whatever a client sends, a tampered cursor is a 400 VALIDATION_FAILED, never a value
 * Postgres refuses (a NUL byte, a date out of its range) and so never a 500.
 */

/** Base64url text as the server writes it; longer than any cursor it writes. */
const Encoded = z.string().max(200).regex(/^[A-Za-z0-9_-]*$/, 'not a cursor');

/** Named in the OpenAPI document (and so known to the fuzz suite, which sends hostile cursors). */
const CURSOR_META = { format: 'keyset-cursor', description: 'Opaque: the nextCursor of the previous page.' };

/** A row's place in a list ordered by (a timestamp, id). */
export interface TimeIdPosition {
  at: string;
  id: string;
}

const UUID = z.uuid();

/**
 * The cursor of lists ordered by (created_at or updated_at, id): base64url of "<time>|<id>",
 * the time as `to_char(… AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')` writes it.
 */
export const timeIdCursor = {
  encode: (at: string, id: string) => Buffer.from(`${at}|${id}`, 'utf8').toString('base64url'),
  schema: Encoded.transform((value, ctx): TimeIdPosition => {
    const parts = Buffer.from(value, 'base64url').toString('utf8').split('|');
    const [at, id] = parts;
    if (parts.length !== 2 || !at || !id || !isStorableTimestamp(at) || !UUID.safeParse(id).success) {
      ctx.addIssue({ code: 'custom', message: 'not a cursor' });
      return z.NEVER;
    }
    return { at, id };
  }).meta(CURSOR_META),
};

/**
 * One page of a keyset list read with `limit + 1` rows: the extra row only tells that there is
 * a next page, which starts after the last row kept.
 */
export function pageOf<Row>(rows: Row[], limit: number, cursorOf: (last: Row) => string): { page: Row[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { page, nextCursor: rows.length > limit && last ? cursorOf(last) : null };
}

/** What a lowercased username can be (sql/000001's CHECK on app_user.username). */
const LOWERCASE_USERNAME = /^[a-z0-9][a-z0-9._-]{1,62}$/;

/** The cursor of the user list, ordered by lower(username): base64url of that name. */
export const usernameCursor = {
  encode: (username: string) => Buffer.from(username.toLowerCase(), 'utf8').toString('base64url'),
  schema: Encoded.transform((value, ctx) => {
    const username = Buffer.from(value, 'base64url').toString('utf8');
    if (!LOWERCASE_USERNAME.test(username)) {
      ctx.addIssue({ code: 'custom', message: 'not a cursor' });
      return z.NEVER;
    }
    return username;
  }).meta(CURSOR_META),
};
