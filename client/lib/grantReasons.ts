import type { GrantEndReason } from '../../shared/api.ts';

/** Why restricted access (or an answer streamed under it) ended, in a few plain words. */
export const GRANT_END_TEXT: Record<GrantEndReason | 'stopped', string> = {
  expired: 'access expired',
  key_removed: 'security key removed',
  locked_by_user: 'locked by you',
  signed_out: 'signed out',
  session_ended: 'session ended',
  key_deactivated: 'security key deactivated',
  key_suspended: 'security key suspended',
  key_reassigned: 'security key moved to another account',
  key_deleted: 'security key deleted',
  user_disabled: 'account disabled',
  admin_revoked: 'ended by an administrator',
  replaced: 'replaced by a newer unlock',
  model_changed: 'an administrator changed the model',
  stopped: 'stopped by you',
};

export const KEY_REMOVED_NOTICE = 'Your security key was removed — restricted models are locked.';
export const EXPIRED_NOTICE = 'Access to restricted models expired. Touch your key to renew.';

/** What to tell the person when their grant ended for `reason` (GRANT_REVOKED). */
export function grantEndedNotice(reason: GrantEndReason | undefined): string {
  switch (reason) {
    case 'key_removed':
      return KEY_REMOVED_NOTICE;
    case 'expired':
      return EXPIRED_NOTICE;
    case undefined:
      return 'Access to restricted models ended.';
    default:
      return `Access to restricted models ended (${GRANT_END_TEXT[reason] ?? reason}).`;
  }
}
