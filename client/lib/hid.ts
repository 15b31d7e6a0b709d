import type { HidDeviceInfo } from '../../shared/api.ts';

/** CTAPHID: FIDO authenticators expose their HID interface on the FIDO Alliance usage page. */
export const FIDO_USAGE_PAGE = 0xf1d0;

/** The little of WebHID used here; lib.dom has no WebHID types. Everything is checked before use. */
export interface HidDeviceLike {
  vendorId?: unknown;
  productId?: unknown;
  productName?: unknown;
  collections?: unknown;
}
export interface HidConnectionEventLike {
  device?: unknown;
}
export type HidListener = (event: HidConnectionEventLike) => void;
export interface HidLike {
  getDevices?: () => Promise<unknown>;
  requestDevice?: (options: { filters: Array<{ usagePage: number }> }) => Promise<unknown>;
  addEventListener?: (type: 'connect' | 'disconnect', listener: HidListener) => void;
  removeEventListener?: (type: 'connect' | 'disconnect', listener: HidListener) => void;
}

/**
 * `navigator.hid` as it is now. Read on every call, never kept from module load: a test (or a
 * polyfill) may install it after this module was imported.
 */
export function webHid(): HidLike | undefined {
  const hid = (globalThis.navigator as { hid?: unknown } | undefined)?.hid;
  return typeof hid === 'object' && hid !== null ? (hid as HidLike) : undefined;
}

/** A device with a top-level collection on the FIDO usage page. */
export function isFidoDevice(device: unknown): device is HidDeviceLike {
  if (typeof device !== 'object' || device === null) return false;
  const { collections } = device as HidDeviceLike;
  return (
    Array.isArray(collections) &&
    collections.some(
      (collection: unknown) =>
        typeof collection === 'object' &&
        collection !== null &&
        (collection as { usagePage?: unknown }).usagePage === FIDO_USAGE_PAGE,
    )
  );
}

/** What may be said of a device: vendor, product and its name. WebHID never shows serials. */
export function deviceInfo(device: HidDeviceLike): HidDeviceInfo | undefined {
  const { vendorId, productId, productName } = device;
  if (typeof vendorId !== 'number' || typeof productId !== 'number') return undefined;
  return { vendorId, productId, productName: typeof productName === 'string' ? productName : '' };
}

/** Same key model as far as WebHID can tell; two keys of one model look the same. */
export function sameDevice(a: HidDeviceInfo, b: HidDeviceInfo): boolean {
  return a.vendorId === b.vendorId && a.productId === b.productId && a.productName === b.productName;
}

/** The FIDO devices among `devices`, one entry per key model (a key shows once per HID interface). */
export function distinctFidoDevices(devices: readonly unknown[]): HidDeviceInfo[] {
  const seen: HidDeviceInfo[] = [];
  for (const device of devices) {
    const info = isFidoDevice(device) ? deviceInfo(device) : undefined;
    if (info && !seen.some((other) => sameDevice(other, info))) seen.push(info);
  }
  return seen;
}

/**
 * What WebHID shows of the FIDO key this page was already granted, if exactly one is
 * visible. Metadata for the server to record and compare, never proof of anything. Stock
 * Chrome hides FIDO devices from WebHID, so usually this is undefined. Never throws.
 */
export async function grantedFidoDevice(): Promise<HidDeviceInfo | undefined> {
  try {
    const hid = webHid();
    if (typeof hid?.getDevices !== 'function') return undefined;
    const devices = await hid.getDevices();
    if (!Array.isArray(devices)) return undefined;
    const seen = distinctFidoDevices(devices);
    // With several keys granted there is no telling which one was touched.
    return seen.length === 1 ? seen[0] : undefined;
  } catch {
    // A permissions policy can make WebHID throw; the metadata is optional.
    return undefined;
  }
}
