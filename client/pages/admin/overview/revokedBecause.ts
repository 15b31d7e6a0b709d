import type { GrantEndReason } from '../../../../shared/api.ts';
import { GRANT_END_TEXT } from '../../../lib/grantReasons.ts';

/**
 * Why grants ended, in the admin's words: about the people whose access it was, never "you"
 * (client/lib/grantReasons.ts speaks to the person in the chat; the reasons that say "you" differ).
 */
export const REVOKED_BECAUSE: Record<GrantEndReason, string> = {
  ...GRANT_END_TEXT,
  locked_by_user: 'locked by the user',
  signed_out: 'user signed out',
  admin_revoked: 'ended by an admin',
};
