/**
 * The WebHID presence monitor: which FIDO keys this page can see, and when one is unplugged
 * or plugged back in. What it sees is a hint, never proof: it may only take access away
 * (docs/architecture.md invariant 2). Stock Chrome hides FIDO keys from WebHID (Chromium's HID
 * blocklist), so in most browsers it sees nothing and the grant simply runs out.
 */
import { createSignal } from 'solid-js';
import type { HidDeviceInfo, PresenceMode } from '../../shared/api.ts';
import {
  deviceInfo,
  distinctFidoDevices,
  FIDO_USAGE_PAGE,
  isFidoDevice,
  sameDevice,
  webHid,
  type HidConnectionEventLike,
  type HidListener,
} from './hid.ts';

export interface PresenceHandlers {
  /** A FIDO key this page was granted was unplugged. */
  onKeyRemoved: (device: HidDeviceInfo) => void;
  /** A FIDO key this page was granted was plugged in. */
  onKeyConnected: (device: HidDeviceInfo) => void;
}

/** How an unlock describes the key's presence to the server. */
export interface PresenceReport {
  presenceMode: PresenceMode;
  /** Only when exactly one key model is visible: with several there is no telling which was touched. */
  device?: HidDeviceInfo;
}

export interface PresenceMonitor {
  /** Whether this browser has WebHID at all (Firefox and Safari do not). */
  readonly supported: boolean;
  /** FIDO keys visible now, one entry per key model. */
  keys: () => HidDeviceInfo[];
  /** A FIDO key has been visible since the monitor started: this browser can watch keys. */
  watching: () => boolean;
  /** Looks again and says how to report presence with an unlock. Never throws. */
  report: () => Promise<PresenceReport>;
  /**
   * Opens the browser's chooser for FIDO devices. Call it straight from a click: WebHID
   * allows it only during a user gesture. Resolves to the keys the person picked.
   */
  requestKey: () => Promise<HidDeviceInfo[]>;
  stop: () => void;
}

/** Starts watching. Reads `navigator.hid` now, not at import, so a test's fake is seen. */
export function startPresenceMonitor(handlers: PresenceHandlers): PresenceMonitor {
  const hid = webHid();
  // The device objects themselves: a disconnect names the very object that connected.
  const [present, setPresent] = createSignal<readonly unknown[]>([], { equals: false });
  const [everSeen, setEverSeen] = createSignal(false);
  let stopped = false;

  const keys = () => distinctFidoDevices(present());

  function replaceAll(devices: unknown) {
    if (stopped || !Array.isArray(devices)) return;
    const fido = devices.filter(isFidoDevice);
    setPresent(fido);
    if (fido.length > 0) setEverSeen(true);
  }

  function add(device: unknown) {
    if (present().includes(device)) return;
    setPresent([...present(), device]);
    setEverSeen(true);
  }

  function remove(device: unknown) {
    const current = present();
    let index = current.indexOf(device);
    // A fake or a re-created object: fall back to the first entry that looks the same.
    if (index < 0) {
      const info = isFidoDevice(device) ? deviceInfo(device) : undefined;
      index = current.findIndex((candidate) => {
        const other = isFidoDevice(candidate) ? deviceInfo(candidate) : undefined;
        return info !== undefined && other !== undefined && sameDevice(info, other);
      });
    }
    if (index >= 0) setPresent(current.filter((_, position) => position !== index));
  }

  async function rescan(): Promise<void> {
    if (typeof hid?.getDevices !== 'function') return;
    try {
      replaceAll(await hid.getDevices());
    } catch {
      // A permissions policy can make WebHID throw; keep what the events told us.
    }
  }

  /** A connect or disconnect listener that heeds FIDO keys only: it updates the list, then tells. */
  function fidoListener(update: (device: unknown) => void, tell: (info: HidDeviceInfo) => void): HidListener {
    return (event: HidConnectionEventLike) => {
      const device = event?.device;
      if (stopped || !isFidoDevice(device)) return;
      update(device);
      const info = deviceInfo(device);
      if (info) tell(info);
    };
  }

  const onConnect = fidoListener(add, (info) => handlers.onKeyConnected(info));
  const onDisconnect = fidoListener(remove, (info) => handlers.onKeyRemoved(info));

  if (hid) {
    try {
      hid.addEventListener?.('connect', onConnect);
      hid.addEventListener?.('disconnect', onDisconnect);
    } catch {
      // Without events the monitor still tells what it can see.
    }
    void rescan();
  }

  return {
    supported: hid !== undefined,
    keys,
    watching: everSeen,
    report: async () => {
      await rescan();
      const visible = keys();
      if (visible.length === 0) return { presenceMode: 'assertion' };
      return visible.length === 1 ? { presenceMode: 'webhid', device: visible[0] } : { presenceMode: 'webhid' };
    },
    requestKey: async () => {
      if (typeof hid?.requestDevice !== 'function') return [];
      // No await before this call: the click's user activation must still be there.
      const chosen = await hid.requestDevice({ filters: [{ usagePage: FIDO_USAGE_PAGE }] });
      if (!Array.isArray(chosen)) return [];
      const fido = chosen.filter(isFidoDevice);
      for (const device of fido) add(device);
      return distinctFidoDevices(fido);
    },
    stop: () => {
      stopped = true;
      try {
        hid?.removeEventListener?.('connect', onConnect);
        hid?.removeEventListener?.('disconnect', onDisconnect);
      } catch {
        // Nothing to undo.
      }
    },
  };
}
