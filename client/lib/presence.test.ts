import { afterEach, describe, expect, it, vi } from 'vitest';
import { startPresenceMonitor, type PresenceHandlers } from './presence.ts';

const FIDO = [{ usagePage: 0xf1d0, usage: 1 }];
const yubikey = () => ({ vendorId: 0x1050, productId: 0x0407, productName: 'YubiKey OTP+FIDO+CCID', collections: FIDO });
const keyboard = { vendorId: 0x046d, productId: 0xc31c, productName: 'Keyboard', collections: [{ usagePage: 1, usage: 6 }] };
const info = { vendorId: 0x1050, productId: 0x0407, productName: 'YubiKey OTP+FIDO+CCID' };

/** A fake navigator.hid, as the browser tests install it. */
function fakeHid(initial: object[]) {
  let devices = [...initial];
  const listeners = { connect: new Set<(event: { device: object }) => void>(), disconnect: new Set<(event: { device: object }) => void>() };
  const hid = {
    getDevices: vi.fn(async () => [...devices]),
    requestDevice: vi.fn(async (_options: unknown) => [] as object[]),
    addEventListener: (type: 'connect' | 'disconnect', fn: (event: { device: object }) => void) => listeners[type].add(fn),
    removeEventListener: (type: 'connect' | 'disconnect', fn: (event: { device: object }) => void) => listeners[type].delete(fn),
    plug(device: object) {
      devices.push(device);
      for (const fn of listeners.connect) fn({ device });
    },
    unplug(device: object) {
      devices = devices.filter((other) => other !== device);
      for (const fn of listeners.disconnect) fn({ device });
    },
  };
  vi.stubGlobal('navigator', { hid });
  return hid;
}

function handlers(): PresenceHandlers & { removed: unknown[]; connected: unknown[] } {
  const removed: unknown[] = [];
  const connected: unknown[] = [];
  return { removed, connected, onKeyRemoved: (d) => removed.push(d), onKeyConnected: (d) => connected.push(d) };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A monitor started over a fake navigator.hid that holds `devices`, once it has read them. */
async function startWith(devices: object[]) {
  const hid = fakeHid(devices);
  const seen = handlers();
  const monitor = startPresenceMonitor(seen);
  await settle();
  return { hid, seen, monitor };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('startPresenceMonitor', () => {
  it('reads navigator.hid when it starts, not when it was imported', async () => {
    const { monitor } = await startWith([yubikey(), keyboard]);
    expect(monitor.supported).toBe(true);
    expect(monitor.keys()).toEqual([info]);
    expect(monitor.watching()).toBe(true);
    expect(await monitor.report()).toEqual({ presenceMode: 'webhid', device: info });
    monitor.stop();
  });

  it('tells when the key is unplugged and plugged back in', async () => {
    const key = yubikey();
    const { hid, seen, monitor } = await startWith([key]);
    hid.unplug(key);
    expect(seen.removed).toEqual([info]);
    expect(monitor.keys()).toEqual([]);
    // The browser can still watch the key: it was granted and comes back with a connect.
    expect(monitor.watching()).toBe(true);
    expect(await monitor.report()).toEqual({ presenceMode: 'assertion' });
    hid.plug(key);
    expect(seen.connected).toEqual([info]);
    expect(monitor.keys()).toEqual([info]);
    monitor.stop();
  });

  it('removes a device described by an equal object', async () => {
    const { hid, seen, monitor } = await startWith([yubikey()]);
    hid.unplug(yubikey());
    expect(monitor.keys()).toEqual([]);
    expect(seen.removed).toEqual([info]);
    monitor.stop();
  });

  it('ignores devices that are not FIDO keys', async () => {
    const { hid, seen, monitor } = await startWith([]);
    hid.plug(keyboard);
    hid.unplug(keyboard);
    expect(seen.connected).toEqual([]);
    expect(seen.removed).toEqual([]);
    expect(monitor.watching()).toBe(false);
    monitor.stop();
  });

  it('asks for FIDO devices only and watches the key the person picks', async () => {
    const { hid, monitor } = await startWith([]);
    hid.requestDevice.mockResolvedValueOnce([yubikey()]);
    expect(await monitor.requestKey()).toEqual([info]);
    expect(hid.requestDevice).toHaveBeenCalledWith({ filters: [{ usagePage: 0xf1d0 }] });
    expect(monitor.keys()).toEqual([info]);
    monitor.stop();
  });

  it('stops listening when stopped', async () => {
    const key = yubikey();
    const { hid, seen, monitor } = await startWith([key]);
    monitor.stop();
    hid.unplug(key);
    expect(seen.removed).toEqual([]);
  });

  it('says assertion only without WebHID', async () => {
    vi.stubGlobal('navigator', {});
    const monitor = startPresenceMonitor(handlers());
    expect(monitor.supported).toBe(false);
    expect(await monitor.report()).toEqual({ presenceMode: 'assertion' });
    expect(await monitor.requestKey()).toEqual([]);
    monitor.stop();
  });
});
