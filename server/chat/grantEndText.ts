import type { GrantEndReason } from '../../shared/api.ts';

/** Why an answer was cut off, in words for the stored message. */
export function grantEndText(reason: GrantEndReason | 'stopped'): string {
  switch (reason) {
    case 'stopped':
      return 'Stopped before the end.';
    case 'key_removed':
      return 'Cut off: the security key was removed.';
    case 'expired':
      return 'Cut off: access to restricted models expired.';
    default:
      return `Cut off: access to restricted models ended (${reason.replaceAll('_', ' ')}).`;
  }
}
