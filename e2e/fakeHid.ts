import type { Page } from '@playwright/test';

/**
 * A fake `navigator.hid` for browser tests (we cannot plug a USB key into CI): it behaves
 * like WebHID for a page that was granted one FIDO device — getDevices(), requestDevice()
 * from a gesture, and `connect`/`disconnect` events whose `.device` is the device.
 * Tests drive it with `plug()` and `unplug()`.
 */
export interface FakeHidDevice {
  vendorId: number;
  productId: number;
  productName: string;
}

export const YUBIKEY: FakeHidDevice = { vendorId: 0x1050, productId: 0x0407, productName: 'YubiKey OTP+FIDO+CCID' };

export async function installFakeHid(page: Page, device: FakeHidDevice = YUBIKEY, { granted = true, present = true } = {}): Promise<FakeHid> {
  await page.addInitScript(
    ({ device, granted, present }) => {
      const fido = { ...device, opened: false, collections: [{ usagePage: 0xf1d0, usage: 0x01 }], open: async () => undefined, close: async () => undefined };
      const state = { granted, present };
      const hid = new EventTarget() as EventTarget & Record<string, unknown>;
      hid.getDevices = async () => (state.granted && state.present ? [fido] : []);
      hid.requestDevice = async () => {
        if (!state.present) return [];
        state.granted = true;
        return [fido];
      };
      const fire = (type: 'connect' | 'disconnect') => {
        const event = new Event(type);
        Object.defineProperty(event, 'device', { value: fido });
        hid.dispatchEvent(event);
      };
      Object.defineProperty(navigator, 'hid', { value: hid, configurable: true });
      Object.defineProperty(window, '__fakeHid', {
        value: {
          unplug() {
            state.present = false;
            if (state.granted) fire('disconnect');
          },
          plug() {
            state.present = true;
            if (state.granted) fire('connect');
          },
        },
      });
    },
    { device, granted, present },
  );
  return new FakeHid(page);
}

export class FakeHid {
  constructor(private readonly page: Page) {}

  /** Pulls the key out; returns the page's clock at that moment (ms, performance.now()). */
  unplug(): Promise<number> {
    return this.page.evaluate(() => {
      (window as unknown as { __fakeHid: { unplug(): void } }).__fakeHid.unplug();
      return performance.now();
    });
  }

  plug(): Promise<void> {
    return this.page.evaluate(() => (window as unknown as { __fakeHid: { plug(): void } }).__fakeHid.plug());
  }
}
