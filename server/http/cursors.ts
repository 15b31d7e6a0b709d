import { z } from 'zod';

/**
 * The keyset cursor of lists ordered by (created_at, id): opaque to clients (base64url of
 * "<created_at>|<id>"), checked on the way back in, so a tampered cursor is a 400, not a 500.
 */
export const createdAtCursor = {
  encode: (row: { created_cursor: string; id: string }) => Buffer.from(`${row.created_cursor}|${row.id}`).toString('base64url'),
  schema: z
    .string()
    .max(200)
    .transform((value, ctx) => {
      const [createdAt, id] = Buffer.from(value, 'base64url').toString('utf8').split('|');
      if (!createdAt || !id || Number.isNaN(Date.parse(createdAt)) || !z.uuid().safeParse(id).success) {
        ctx.addIssue({ code: 'custom', message: 'not a cursor' });
        return z.NEVER;
      }
      return { createdAt, id };
    }),
};
