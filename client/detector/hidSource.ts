/**
 * Where the detector learns which HID devices are plugged in. The real source is node-hid
 * (a native module: hidapi, which exposes serial numbers); tests and benchmarks plug and
 * unplug keys in a FakeHidSource instead.
 */
import { FIDO_USAGE_PAGE, type DetectedKey } from '../../shared/detector.ts';

/** One HID interface as node-hid's devices() lists it (a key may list several). */
export interface HidDevice {
  vendorId: number;
  productId: number;
  path?: string | undefined;
  serialNumber?: string | undefined;
  manufacturer?: string | undefined;
  product?: string | undefined;
  usagePage?: number | undefined;
  usage?: number | undefined;
  interface?: number | undefined;
}

export interface HidSource {
  /** Every HID interface present now. */
  list(): Promise<HidDevice[]>;
  /** Which source this is, for logs and the benchmark ("node-hid (hidraw)", "fake"). */
  readonly name: string;
}

/**
 * Security-key vendors, for platforms that hide usage pages (hidapi's libusb backend, some
 * macOS versions). Where the usage page is known, only 0xF1D0 counts: a YubiKey's OTP
 * keyboard interface is not a FIDO device.
 */
export const SECURITY_KEY_VENDORS: ReadonlyMap<number, string> = new Map([
  [0x1050, 'Yubico'],
  [0x096e, 'Feitian'],
  [0x0483, 'SoloKeys (STMicroelectronics)'],
  [0x1209, 'SoloKeys (pid.codes)'],
  [0x18d1, 'Google Titan'],
  [0x20a0, 'Nitrokey'],
  [0x2581, 'Plug-up / Ledger'],
  [0x311f, 'Token2'],
  [0x32a3, 'Thetis'],
  [0x1ea8, 'Excelsecu'],
]);

export function isFidoDevice(device: HidDevice): boolean {
  if (device.usagePage !== undefined && device.usagePage !== 0) return device.usagePage === FIDO_USAGE_PAGE;
  return SECURITY_KEY_VENDORS.has(device.vendorId);
}

function text(value: string | undefined): string | null {
  const trimmed = value?.replaceAll('\u0000', '').trim().slice(0, 128);
  return trimmed ? trimmed : null;
}

export function toDetectedKey(device: HidDevice): DetectedKey {
  return {
    vendorId: device.vendorId,
    productId: device.productId,
    product: text(device.product),
    manufacturer: text(device.manufacturer),
    serialNumber: text(device.serialNumber),
  };
}

export class HidUnavailableError extends Error {
  override name = 'HidUnavailableError';
}

/** node-hid, loaded on first use so a machine without it still runs the rest (and says why). */
export async function nodeHidSource(): Promise<HidSource> {
  let hid: { devicesAsync: () => Promise<HidDevice[]>; getHidapiVersion?: () => string };
  try {
    const loaded = (await import('node-hid')) as unknown as { default?: typeof hid } & typeof hid;
    hid = loaded.default ?? loaded;
  } catch (error) {
    throw new HidUnavailableError(
      `node-hid could not be loaded on this machine (${(error as Error).message}). ` +
        'Reinstall with `npm ci` (node-hid ships prebuilt binaries for Linux, macOS and Windows on x64 and arm64) ' +
        'or build it from source with a C++ toolchain and libudev headers.',
    );
  }
  const version = (() => {
    try {
      return hid.getHidapiVersion?.() ?? 'unknown';
    } catch {
      return 'unknown';
    }
  })();
  return { name: `node-hid (hidapi ${version})`, list: () => hid.devicesAsync() };
}

/** A source whose keys a test plugs in and pulls out. */
export class FakeHidSource implements HidSource {
  readonly name = 'fake';
  private devices: HidDevice[];
  /** performance.now() of the first list() after the last change: when the change was "seen". */
  changeSeenAt: number | null = null;
  private changed = false;

  constructor(devices: HidDevice[] = []) {
    this.devices = [...devices];
  }

  plug(device: HidDevice): void {
    this.devices.push(device);
    this.changed = true;
  }

  /** Removes every interface of the device with this serial (or vendor/product when it has none). */
  unplug(match: Pick<HidDevice, 'vendorId' | 'productId'> & { serialNumber?: string | undefined }): void {
    this.devices = this.devices.filter(
      (d) => !(d.vendorId === match.vendorId && d.productId === match.productId && (match.serialNumber === undefined || d.serialNumber === match.serialNumber)),
    );
    this.changed = true;
  }

  async list(): Promise<HidDevice[]> {
    if (this.changed) {
      this.changed = false;
      this.changeSeenAt = performance.now();
    }
    return [...this.devices];
  }
}

/** A FIDO HID interface of a key, as the fake source lists it. */
export function fakeSecurityKey(serialNumber: string, overrides: Partial<HidDevice> = {}): HidDevice {
  return {
    vendorId: 0x1050,
    productId: 0x0407,
    product: 'YubiKey OTP+FIDO+CCID',
    manufacturer: 'Yubico',
    serialNumber,
    usagePage: FIDO_USAGE_PAGE,
    usage: 1,
    path: `/dev/hidraw-fake-${serialNumber}`,
    ...overrides,
  };
}
