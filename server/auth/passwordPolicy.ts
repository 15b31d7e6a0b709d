import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../shared/api.ts';
import { COMMON_PASSWORDS } from './commonPasswords.ts';

export type PasswordVerdict = { ok: true } | { ok: false; message: string };

/**
 * NIST SP 800-63B §5.1.1.2: a minimum length and a check against commonly used or
 * compromised values; no composition rules.
 */
export function checkPassword({ password, username }: { password: string; username: string }): PasswordVerdict {
  // Length counts code points, so an emoji is one character as a person would count it.
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) {
    return { ok: false, message: `Use at least ${PASSWORD_MIN_LENGTH} characters (this one has ${length}).` };
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return { ok: false, message: `Use at most ${PASSWORD_MAX_LENGTH} characters.` };
  }
  const folded = password.toLowerCase();
  if (COMMON_PASSWORDS.has(folded)) {
    return { ok: false, message: 'That password is on a list of commonly used passwords. Choose another.' };
  }
  if (folded.includes(username.toLowerCase())) {
    return { ok: false, message: 'The password must not contain your username.' };
  }
  if (new Set(folded).size <= 2) {
    return { ok: false, message: 'That password repeats too few characters. Choose another.' };
  }
  return { ok: true };
}
