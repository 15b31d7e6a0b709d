/**
 * Access to restricted models in this tab: the live grant and its countdown, the WebHID
 * presence monitor, and what the server pushes about both. App-wide, so unplugging the key
 * locks restricted models whichever page is open.
 *
 * Everything here may only take access away (docs/architecture.md invariant 2): the UI locks at the
 * grant's end, on a key removal or a revocation, before the server confirms; only the answer
 * to a fresh assertion (or the server's own word) shows models unlocked.
 */
import { revalidate } from '@solidjs/router';
import {
  createContext,
  createEffect,
  createSignal,
  on,
  onCleanup,
  useContext,
  type Component,
  type JSX,
} from 'solid-js';
import type {
  GrantEndReason,
  GrantView,
  HidDeviceInfo,
  ModelView,
  PresenceMode,
  RevokeGrantRequest,
} from '../shared/api.ts';
import { ApiError } from './api/http.ts';
import { fetchCurrentGrant, listModels, revokeGrant, verifyKeyOwnership, type PresenceClaim } from './api/models.ts';
import { useEvents } from './events.tsx';
import { grantEndedNotice, KEY_REMOVED_NOTICE } from './lib/grantReasons.ts';
import { createGrantClock, hasRunOut, isExpiring, msLeft as msLeftOf, type ClockedGrant } from './lib/grantClock.ts';
import { createUnlockMachine, isOwnMismatchEcho, type UnlockIntent, type UnlockState } from './lib/unlock.ts';
import { sameDevice, webHid } from './lib/hid.ts';
import { startPresenceMonitor, type PresenceMonitor } from './lib/presence.ts';
import { createDetectorPresence, type DetectorPresence } from './lib/detectorPresence.ts';
import { useSession } from './session.tsx';

export { EXPIRY_WARNING_MS } from './lib/grantClock.ts';
const TICK_MS = 250;

export interface AccessNotice {
  /** 'alert' for access taken away; 'status' for what the person did themselves. */
  tone: 'alert' | 'status';
  text: string;
}

/** The live grant: its view, its deadline by this browser's clock, and the key WebHID saw at the unlock. */
export type LiveGrant = ClockedGrant<HidDeviceInfo>;

export interface KeyPresence {
  /** This browser has WebHID. */
  supported: () => boolean;
  /** What the panel says: 'webhid' once this page can watch a key, 'detector' while a paired detector is online, else 'assertion'. */
  mode: () => PresenceMode;
  /** A FIDO key is visible right now. */
  keyVisible: () => boolean;
  /** The browser's device chooser; call it straight from a click. */
  watchKey: () => Promise<HidDeviceInfo[]>;
  /** The user's paired detectors that are online, and the keys they see. */
  detectors: DetectorPresence;
}

export interface ModelAccess {
  /** The live grant, or null when restricted models are locked. */
  grant: () => LiveGrant | null;
  /**
   * The server has said whether this session holds a grant since sign-in (or a touch made one):
   * until then `grant()` null means "not known yet", not "locked".
   */
  grantKnown: () => boolean;
  /** Milliseconds the grant has left; 0 when locked. */
  msLeft: () => number;
  /** The grant ends soon: warn and offer to renew. */
  expiring: () => boolean;
  isUnlocked: (model: ModelView) => boolean;
  presence: KeyPresence;
  /** Why access was taken away, or what the server says about keys. */
  notice: () => AccessNotice | undefined;
  /** The key was plugged back in while locked. */
  keyBack: () => boolean;
  /** Where the latest touch stands: idle, touching, unlocked, or refused and why. */
  unlockState: () => UnlockState;
  unlocking: () => boolean;
  unlockError: () => unknown;
  /** Forgets a refused touch: the person answered it (picked another model, typed on). */
  clearUnlockError: () => void;
  /**
   * Unlocks, or renews a live grant: one touch of the user's own key. Resolves to true once
   * a grant is live. `intent` 'send': the touch is for the message in the box.
   */
  unlock: (intent?: UnlockIntent) => Promise<boolean>;
  lock: () => Promise<void>;
  /** The server refused a restricted request for want of a grant: lock now, then ask it. */
  refused: () => void;
}

const ModelAccessContext = createContext<ModelAccess>();

function isRetryable(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 0 || error.status >= 500);
}

export const ModelAccessProvider: Component<{ children: JSX.Element }> = (props) => {
  const session = useSession();
  const events = useEvents();

  const [live, setLive] = createSignal<LiveGrant | null>(null);
  const [grantKnown, setGrantKnown] = createSignal(false);
  const [now, setNow] = createSignal(Date.now());
  const [expiringFor, setExpiringFor] = createSignal<string>();
  const [notice, setNotice] = createSignal<AccessNotice>();
  const [keyBack, setKeyBack] = createSignal(false);
  const [unlockState, setUnlockState] = createSignal<UnlockState>({ phase: 'idle' });
  const unlocker = createUnlockMachine(setUnlockState);
  const unlocking = () => unlockState().phase === 'touching';
  const unlockError = () => {
    const state = unlockState();
    return state.phase === 'refused' ? state.error : undefined;
  };
  const [monitor, setMonitor] = createSignal<PresenceMonitor>();
  const detectors = createDetectorPresence(events, () => session.user()?.id);

  /** The deadline, the server's clock, and the grants this tab ended (a late answer never brings one back). */
  const clock = createGrantClock();
  /** Grants this tab's person locked: the server's GRANT_REVOKED for them needs no alert. */
  const lockedHere = new Set<string>();
  /** Bumped on every change, so an answer to an older question does not overwrite a newer state. */
  let version = 0;
  /** A revocation the server has not confirmed yet (it was unreachable); sent again on reconnect. */
  let pendingRevocation: RevokeGrantRequest['reason'] | undefined;
  /** When this tab's own unlock was last refused as KEY_MISMATCH: the pushed twin of that refusal is not news. */
  let ownMismatchAt = Number.NEGATIVE_INFINITY;

  /** Shows `view` as the live grant. `fresh`: just issued (the unlock's answer, MODELS_UNLOCKED). */
  function adopt(view: GrantView, fresh: boolean, device?: HidDeviceInfo) {
    const receivedAt = Date.now();
    const next = clock.adopt({ current: live(), view, fresh, receivedAt, device });
    if (!next) return;
    version += 1;
    setNow(receivedAt);
    setLive(next);
    setGrantKnown(true);
    setKeyBack(false);
    // An earlier failed attempt says nothing once a fresh grant is here (another tab's, say).
    if (fresh && unlockState().phase === 'refused') unlocker.reset();
  }

  /** Locks restricted models here and now, saying why unless `quiet`. */
  function end(reason: GrantEndReason | undefined, options: { quiet?: boolean } = {}) {
    const current = live();
    if (!current) return;
    version += 1;
    clock.ended(current.view.id);
    setLive(null);
    setExpiringFor(undefined);
    if (!options.quiet) setNotice({ tone: 'alert', text: grantEndedNotice(reason) });
  }

  async function revokeOnServer(reason: RevokeGrantRequest['reason']) {
    pendingRevocation = reason;
    try {
      await revokeGrant(reason);
      if (pendingRevocation === reason) pendingRevocation = undefined;
    } catch (error) {
      // Unreachable: try again on reconnect, before asking what the grant is. Anything else
      // (no grant left, signed out) means there is nothing more to end.
      if (!isRetryable(error) && pendingRevocation === reason) pendingRevocation = undefined;
      throw error;
    }
  }

  /** Catches up after a (re)connect or a refusal: the grant, then the model list. */
  async function resync(options: { quiet?: boolean } = {}) {
    // Signed out: nothing of the grant is ours to ask about (a 401 would only say so).
    if (!session.user()) return;
    if (pendingRevocation) await revokeOnServer(pendingRevocation).catch(() => undefined);
    void revalidate(listModels.key);
    const asked = version;
    let answer: GrantView | null;
    try {
      answer = (await fetchCurrentGrant()).grant;
    } catch {
      // Keep what we know; the countdown still locks at the end, and the next reconnect asks again.
      return;
    }
    if (!session.user()) return;
    // A newer change (a touch, a push) already says where the grant stands.
    if (asked === version) {
      if (answer) adopt(answer, false);
      else end(undefined, options);
    }
    setGrantKnown(true);
  }

  // ── The countdown ──────────────────────────────────────────────────────────────────
  createEffect(
    on(
      () => live() !== null,
      (unlocked) => {
        if (!unlocked) return;
        const timer = setInterval(() => setNow(Date.now()), TICK_MS);
        onCleanup(() => clearInterval(timer));
      },
    ),
  );
  // At zero the UI locks, whether or not the server has said so yet.
  createEffect(() => {
    if (hasRunOut(live(), now())) end('expired');
  });

  const msLeft = () => msLeftOf(live(), now());

  // ── Presence ──────────────────────────────────────────────────────────────────────
  function onKeyRemoved(device: HidDeviceInfo) {
    setKeyBack(false);
    const current = live();
    if (!current) return;
    // Another key than the one WebHID saw at the unlock: this grant's key is still there.
    if (current.device && !sameDevice(current.device, device)) return;
    end('key_removed', { quiet: true });
    setNotice({ tone: 'alert', text: KEY_REMOVED_NOTICE });
    void revokeOnServer('key_removed').catch(() => undefined);
  }

  function onKeyConnected() {
    if (!live()) setKeyBack(true);
  }

  // ── Server events ─────────────────────────────────────────────────────────────────
  onCleanup(
    events.subscribe('MODELS_UNLOCKED', (event) => {
      if (!session.user()) return;
      adopt(event.grant, true);
      setNotice(undefined);
    }),
  );
  onCleanup(
    events.subscribe('GRANT_EXPIRING', (event) => {
      const current = live();
      if (current?.view.id !== event.grantId) return;
      setExpiringFor(event.grantId);
      // The server's word can bring the end closer, never push it back.
      adopt({ ...current.view, expiresAt: event.expiresAt }, false);
    }),
  );
  onCleanup(
    events.subscribe('GRANT_REVOKED', (event) => {
      const current = live();
      if (current?.view.id !== event.grantId) return;
      // A renewal replaced it: the new grant is on its way (MODELS_UNLOCKED, or ask).
      if (event.reason === 'replaced') {
        void resync({ quiet: true });
        return;
      }
      if (lockedHere.has(event.grantId)) end(event.reason, { quiet: true });
      else end(event.reason);
    }),
  );
  onCleanup(
    events.subscribe('KEY_MISMATCH_ERROR', (event) => {
      // This tab's own unlock already says so, in its own words.
      if (isOwnMismatchEcho({ now: Date.now(), ownMismatchAt, touching: unlocking() })) return;
      setNotice({ tone: 'alert', text: event.message });
    }),
  );
  onCleanup(
    events.subscribe('KEY_SUSPENDED', (event) => {
      const current = live();
      if (current?.view.keyId === event.keyId) {
        end('key_suspended', { quiet: true });
        setNotice({
          tone: 'alert',
          text: `Your security key “${current.view.keyNickname}” was suspended after a possible clone was detected. Restricted models are locked.`,
        });
        return;
      }
      setNotice({ tone: 'alert', text: 'One of your security keys was suspended after a possible clone was detected.' });
    }),
  );
  onCleanup(events.onConnect(() => void resync()));

  // ── Sign-in and sign-out ──────────────────────────────────────────────────────────
  createEffect(
    on(
      () => session.user()?.id,
      (userId) => {
        if (!userId) return;
        const started = startPresenceMonitor({ onKeyRemoved, onKeyConnected });
        setMonitor(started);
        void resync({ quiet: true });
        onCleanup(() => {
          started.stop();
          setMonitor(undefined);
          // Nothing of this user's access may show to the next one.
          version += 1;
          clock.reset();
          lockedHere.clear();
          pendingRevocation = undefined;
          setLive(null);
          setGrantKnown(false);
          setExpiringFor(undefined);
          setNotice(undefined);
          setKeyBack(false);
          unlocker.reset();
        });
      },
    ),
  );

  const presence: KeyPresence = {
    supported: () => monitor()?.supported ?? webHid() !== undefined,
    mode: () => (monitor()?.watching() ? 'webhid' : detectors.online().length > 0 ? 'detector' : 'assertion'),
    keyVisible: () => (monitor()?.keys().length ?? 0) > 0,
    watchKey: () => monitor()?.requestKey() ?? Promise.resolve([]),
    detectors,
  };

  const access: ModelAccess = {
    grant: live,
    grantKnown,
    msLeft,
    expiring: () => isExpiring(live(), now(), expiringFor()),
    isUnlocked: (model) => {
      if (model.tier === 'standard') return true;
      const current = live();
      return current !== null && current.view.models.includes(model.id);
    },
    presence,
    notice,
    keyBack,
    unlockState,
    unlocking,
    unlockError,
    clearUnlockError: () => {
      if (unlockState().phase === 'refused') unlocker.reset();
    },
    unlock: (intent = 'unlock') => {
      // An older notice is answered by this attempt; its outcome speaks for itself.
      if (!unlocking()) setNotice(undefined);
      return unlocker.run(async () => {
        let claim: PresenceClaim = { presenceMode: 'assertion' };
        try {
          const { grant } = await verifyKeyOwnership(async () => {
            claim = (await monitor()?.report()) ?? claim;
            // Without a key in WebHID's view, a paired detector watching is how presence is kept.
            if (claim.presenceMode === 'assertion' && detectors.online().length > 0) claim = { presenceMode: 'detector' };
            return claim;
          });
          if (!grant) {
            throw new ApiError({ code: 'INTERNAL', status: 200, message: 'Argus did not unlock restricted models. Try again.' });
          }
          // The new grant replaced whatever an unconfirmed revocation was meant to end.
          pendingRevocation = undefined;
          adopt(grant, true, claim.presenceMode === 'webhid' ? claim.device : undefined);
          setNotice(undefined);
        } catch (error) {
          if (error instanceof ApiError && error.code === 'KEY_MISMATCH') ownMismatchAt = Date.now();
          throw error;
        }
      }, intent);
    },
    lock: async () => {
      const current = live();
      if (!current) return;
      lockedHere.add(current.view.id);
      end('locked_by_user', { quiet: true });
      setNotice({ tone: 'status', text: 'Restricted models are locked.' });
      try {
        await revokeOnServer('locked_by_user');
      } catch (error) {
        if (isRetryable(error)) {
          setNotice({
            tone: 'alert',
            text: 'Restricted models are locked here, but Argus could not be reached to end access on the server. It will be ended as soon as the connection is back.',
          });
        }
      }
    },
    refused: () => {
      end(undefined, { quiet: true });
      void resync({ quiet: true });
    },
  };

  return <ModelAccessContext.Provider value={access}>{props.children}</ModelAccessContext.Provider>;
};

export function useModelAccess(): ModelAccess {
  const access = useContext(ModelAccessContext);
  if (!access) throw new Error('useModelAccess() needs a <ModelAccessProvider> above it');
  return access;
}

