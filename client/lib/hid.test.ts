import { afterEach, describe, expect, it, vi } from 'vitest';
import { grantedFidoDevice } from './hid.ts';

const FIDO = [{ usagePage: 0xf1d0, usage: 1 }];
const KEYBOARD = [{ usagePage: 0x01, usage: 6 }];
const yubikey = { vendorId: 0x1050, productId: 0x0407, productName: 'YubiKey OTP+FIDO+CCID', collections: FIDO };

function withDevices(getDevices: () => Promise<unknown>) {
  vi.stubGlobal('navigator', { hid: { getDevices } });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('grantedFidoDevice', () => {
  it('describes the one granted FIDO device', async () => {
    withDevices(async () => [{ ...yubikey, collections: KEYBOARD }, yubikey]);
    expect(await grantedFidoDevice()).toEqual({
      vendorId: 0x1050,
      productId: 0x0407,
      productName: 'YubiKey OTP+FIDO+CCID',
    });
  });

  it('counts a key listed once per interface as one', async () => {
    withDevices(async () => [yubikey, { ...yubikey }]);
    expect(await grantedFidoDevice()).toMatchObject({ vendorId: 0x1050 });
  });

  it('says nothing when several different keys are granted', async () => {
    withDevices(async () => [yubikey, { ...yubikey, productId: 0x0120, productName: 'Security Key by Yubico' }]);
    expect(await grantedFidoDevice()).toBeUndefined();
  });

  it('says nothing without a FIDO device', async () => {
    withDevices(async () => [{ ...yubikey, collections: KEYBOARD }]);
    expect(await grantedFidoDevice()).toBeUndefined();
  });

  it('says nothing without WebHID', async () => {
    vi.stubGlobal('navigator', {});
    expect(await grantedFidoDevice()).toBeUndefined();
  });

  it('never throws', async () => {
    withDevices(async () => {
      throw new DOMException('blocked by permissions policy', 'SecurityError');
    });
    expect(await grantedFidoDevice()).toBeUndefined();
  });
});
