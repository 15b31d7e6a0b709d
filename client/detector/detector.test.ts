import { describe, expect, it } from 'vitest';
import { FIDO_USAGE_PAGE } from '../../shared/detector.ts';
import { backoffBounds, backoffDelay } from '../lib/backoff.ts';
import { defaultConfigDir } from './credentials.ts';
import { DEFAULT_BACKOFF } from './detectorClient.ts';
import { FakeHidSource, fakeSecurityKey, isFidoDevice, toDetectedKey } from './hidSource.ts';
import { KeyWatcher, type KeyChange } from './keyWatcher.ts';

describe('backoff', () => {
  it('starts at 5 s, doubles, caps at 60 s, with ±30 % jitter', () => {
    expect([0, 1, 2, 3, 4, 5, 9].map((n) => backoffDelay(n, { ...DEFAULT_BACKOFF, random: () => 0.5 }))).toEqual([5_000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000]);
    expect(backoffDelay(0, { ...DEFAULT_BACKOFF, random: () => 0 })).toBe(3_500);
    expect(backoffDelay(0, { ...DEFAULT_BACKOFF, random: () => 0.999_999 })).toBe(6_500);
    expect(backoffDelay(4, { ...DEFAULT_BACKOFF, random: () => 0.999_999 })).toBe(60_000);
    expect(backoffDelay(4, { ...DEFAULT_BACKOFF, random: () => 0 })).toBe(42_000);
    for (let attempt = 0; attempt < 8; attempt += 1) {
      const { min, max } = backoffBounds(attempt, DEFAULT_BACKOFF);
      for (let i = 0; i < 50; i += 1) {
        const delay = backoffDelay(attempt, DEFAULT_BACKOFF);
        expect(delay).toBeGreaterThanOrEqual(min);
        expect(delay).toBeLessThanOrEqual(max);
      }
    }
  });
});

describe('FIDO device filter', () => {
  it('takes usage page 0xF1D0, and known security-key vendors only where the usage page is hidden', () => {
    expect(isFidoDevice({ vendorId: 0x1234, productId: 1, usagePage: FIDO_USAGE_PAGE })).toBe(true);
    // A YubiKey's OTP keyboard interface is not FIDO.
    expect(isFidoDevice({ vendorId: 0x1050, productId: 0x0407, usagePage: 0x01 })).toBe(false);
    expect(isFidoDevice({ vendorId: 0x1050, productId: 0x0407 })).toBe(true);
    expect(isFidoDevice({ vendorId: 0x20a0, productId: 0x42b1, usagePage: 0 })).toBe(true);
    expect(isFidoDevice({ vendorId: 0x046d, productId: 0xc52b })).toBe(false);
    expect(toDetectedKey({ vendorId: 1, productId: 2, serialNumber: ' 123\u0000', product: '' })).toEqual({
      vendorId: 1,
      productId: 2,
      product: null,
      manufacturer: null,
      serialNumber: '123',
    });
  });
});

describe('KeyWatcher', () => {
  it('reports each physical key once as it comes and goes, and keeps what it knew when enumeration fails', async () => {
    const source = new FakeHidSource([fakeSecurityKey('A'), fakeSecurityKey('A', { interface: 1, path: 'second' }), { vendorId: 0x046d, productId: 1, usagePage: 1 }]);
    const changes: KeyChange[] = [];
    const watcher = new KeyWatcher(source, (change) => changes.push(change), 1_000_000);
    await watcher.scan();
    expect(changes.map((c) => [c.type, c.key.serialNumber])).toEqual([['attach', 'A']]);
    source.plug(fakeSecurityKey('B'));
    source.unplug({ vendorId: 0x1050, productId: 0x0407, serialNumber: 'A' });
    await watcher.scan();
    expect(changes.slice(1).map((c) => [c.type, c.key.serialNumber])).toEqual([['detach', 'A'], ['attach', 'B']]);
    const failing = { name: 'broken', list: () => Promise.reject(new Error('hidapi failed')) };
    const errors: Error[] = [];
    const blind = new KeyWatcher(failing, (change) => changes.push(change), 1_000_000, (error) => errors.push(error));
    await blind.scan();
    expect(errors).toHaveLength(1);
    expect(watcher.keys().map((k) => k.serialNumber)).toEqual(['B']);
  });
});

describe('config directory', () => {
  it('follows XDG on Linux and the OS conventions elsewhere', () => {
    expect(defaultConfigDir({ XDG_CONFIG_HOME: '/x' }, 'linux', '/home/u')).toBe('/x/argus-detector');
    expect(defaultConfigDir({}, 'linux', '/home/u')).toBe('/home/u/.config/argus-detector');
    expect(defaultConfigDir({}, 'darwin', '/Users/u')).toBe('/Users/u/Library/Application Support/argus-detector');
    expect(defaultConfigDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32', 'C:\\Users\\u')).toContain('argus-detector');
  });
});
