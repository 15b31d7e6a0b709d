/**
 * The unlock, as a small state machine without Solid: idle → touching → unlocked, or
 * refused with the reason a person can act on. The touch itself (the WebAuthn ceremony and
 * the grant it brings) is passed in; this module only says where things stand, and runs
 * "unlock, then send" so a message typed for a locked model goes out after one touch.
 */

/** Why a touch did not unlock: the words shown come from the error itself (describeError). */
export type UnlockRefusal =
  /** A key registered to another account answered (KEY_MISMATCH). */
  | 'key_mismatch'
  /** The prompt was closed or timed out, or the browser stopped it. */
  | 'cancelled'
  /** Argus could not be reached, or could not answer. */
  | 'unreachable'
  /** Anything else the server refused. */
  | 'refused';

/** What the touch was for: only unlocking, or unlocking to send the message in the box. */
export type UnlockIntent = 'unlock' | 'send';

export type UnlockState =
  | { phase: 'idle' }
  | { phase: 'touching'; intent: UnlockIntent }
  | { phase: 'unlocked' }
  | { phase: 'refused'; reason: UnlockRefusal; error: unknown };

/** How long after this tab's own KEY_MISMATCH the server's KEY_MISMATCH_ERROR push counts as its echo. */
export const OWN_MISMATCH_ECHO_MS = 5_000;

function field(error: unknown, name: 'code' | 'status' | 'name'): unknown {
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[name] : undefined;
}

/** Reads an ApiError or a SecurityKeyError by its fields, so this module needs neither. */
export function refusalReason(error: unknown): UnlockRefusal {
  const code = field(error, 'code');
  if (code === 'KEY_MISMATCH') return 'key_mismatch';
  if (field(error, 'name') === 'SecurityKeyError') return code === 'CANCELLED' || code === 'INTERRUPTED' ? 'cancelled' : 'refused';
  const status = field(error, 'status');
  if (typeof status === 'number' && (status === 0 || status >= 500)) return 'unreachable';
  return 'refused';
}

export interface UnlockMachine {
  state: () => UnlockState;
  touching: () => boolean;
  /**
   * Runs one `touch` (which resolves once a grant is adopted, or throws why not). Resolves
   * to true when it unlocked; false when refused, or ignored because a touch is under way.
   */
  run: (touch: () => Promise<void>, intent?: UnlockIntent) => Promise<boolean>;
  /** Back to idle: a refusal is answered, or the person signed out. */
  reset: () => void;
}

/** `onChange` hears every new state (the provider puts it in a signal). */
export function createUnlockMachine(onChange: (state: UnlockState) => void = () => undefined): UnlockMachine {
  let state: UnlockState = { phase: 'idle' };
  /** Bumped by reset, so a touch that outlived its user says nothing afterwards. */
  let generation = 0;
  const set = (next: UnlockState) => {
    state = next;
    onChange(next);
  };

  return {
    state: () => state,
    touching: () => state.phase === 'touching',
    run: async (touch, intent = 'unlock') => {
      if (state.phase === 'touching') return false;
      const mine = generation;
      set({ phase: 'touching', intent });
      try {
        await touch();
        if (mine !== generation) return false;
        set({ phase: 'unlocked' });
        return true;
      } catch (error) {
        if (mine === generation) set({ phase: 'refused', reason: refusalReason(error), error });
        return false;
      }
    },
    reset: () => {
      generation += 1;
      set({ phase: 'idle' });
    },
  };
}

export type SendOutcome = 'sent' | 'refused' | 'locked';

/**
 * Sends the message, touching the key first when the model is locked: one touch, then the
 * message. A refused touch sends nothing and keeps the words where they are.
 */
export async function unlockThenSend(options: {
  locked: () => boolean;
  unlock: () => Promise<boolean>;
  send: () => Promise<boolean>;
}): Promise<SendOutcome> {
  const { locked, unlock, send } = options;
  if (locked() && !(await unlock())) return 'refused';
  // The grant may cover other models than the one picked: still locked, nothing goes out.
  if (locked()) return 'locked';
  return (await send()) ? 'sent' : 'refused';
}

/** The server's KEY_MISMATCH_ERROR push is the twin of this tab's own refusal: not news. */
export function isOwnMismatchEcho(options: { now: number; ownMismatchAt: number; touching: boolean }): boolean {
  return options.touching || options.now - options.ownMismatchAt < OWN_MISMATCH_ECHO_MS;
}
