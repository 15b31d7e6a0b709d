import type { HidDeviceInfo } from '../../shared/api.ts';

/** CTAPHID: FIDO authenticators expose their HID interface on the FIDO Alliance usage page. */
const FIDO_USAGE_PAGE = 0xf1d0;

/** The little of WebHID used here; lib.dom has no WebHID types. */
interface HidCollection {
  usagePage?: unknown;
}
interface HidDevice {
  vendorId?: unknown;
  productId?: unknown;
  productName?: unknown;
  collections?: unknown;
}
interface Hid {
  getDevices?: () => Promise<unknown>;
}

function isFidoDevice(device: HidDevice): boolean {
  return (
    Array.isArray(device.collections) &&
    device.collections.some((collection: HidCollection) => collection?.usagePage === FIDO_USAGE_PAGE)
  );
}

function deviceInfo(device: HidDevice): HidDeviceInfo | undefined {
  const { vendorId, productId, productName } = device;
  if (typeof vendorId !== 'number' || typeof productId !== 'number') return undefined;
  return { vendorId, productId, productName: typeof productName === 'string' ? productName : '' };
}

/**
 * What WebHID shows of the FIDO key this page was already granted, if exactly one is
 * visible. Metadata for the server to record and compare, never proof of anything. Stock
 * Chrome hides FIDO devices from WebHID, so usually this is undefined. Never throws.
 */
export async function grantedFidoDevice(): Promise<HidDeviceInfo | undefined> {
  try {
    const hid = (globalThis.navigator as { hid?: Hid } | undefined)?.hid;
    if (typeof hid?.getDevices !== 'function') return undefined;
    const devices = await hid.getDevices();
    if (!Array.isArray(devices)) return undefined;

    const seen = new Map<string, HidDeviceInfo>();
    for (const device of devices as HidDevice[]) {
      const info = device && isFidoDevice(device) ? deviceInfo(device) : undefined;
      // One key can appear once per HID interface; identical entries describe one model.
      if (info) seen.set(`${info.vendorId}:${info.productId}:${info.productName}`, info);
    }
    // With several keys granted there is no telling which one was touched.
    return seen.size === 1 ? [...seen.values()][0] : undefined;
  } catch {
    // A permissions policy can make WebHID throw; the metadata is optional.
    return undefined;
  }
}
