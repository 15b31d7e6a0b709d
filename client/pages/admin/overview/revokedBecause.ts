import type { GrantEndReason } from '../../../../shared/api.ts';

/**
 * Why grants ended, in the admin's words: about the people whose access it was, never "you"
 * (client/lib/grantReasons.ts speaks to the person in the chat).
 */
export const REVOKED_BECAUSE: Record<GrantEndReason, string> = {
  expired: 'access expired',
  key_removed: 'security key removed',
  locked_by_user: 'locked by the user',
  signed_out: 'user signed out',
  session_ended: 'session ended',
  key_deactivated: 'security key deactivated',
  key_suspended: 'security key suspended',
  key_reassigned: 'security key moved to another account',
  key_deleted: 'security key deleted',
  user_disabled: 'account disabled',
  admin_revoked: 'ended by an admin',
  replaced: 'replaced by a newer unlock',
  model_changed: 'an admin changed the model',
};
