import type { DetectedKey } from '../../shared/detector.ts';
import { isFidoDevice, toDetectedKey, type HidSource } from './hidSource.ts';

export type KeyChange = { type: 'attach' | 'detach'; key: DetectedKey };

function identity(key: DetectedKey): string {
  return `${key.vendorId}:${key.productId}:${key.serialNumber ?? ''}`;
}

/**
 * Hot-plug by polling: enumerates every `intervalMs` (default 250 ms), one pass at a time,
 * and reports FIDO keys that appeared or went. Polling rather than USB attach/detach events
 * (see docs/detector.md): hidapi has no hot-plug API, and enumeration is cheap.
 */
export class KeyWatcher {
  private present = new Map<string, DetectedKey>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  /** Set after the first enumeration. */
  private scanned: Promise<void> | null = null;

  constructor(
    private readonly source: HidSource,
    private readonly onChange: (change: KeyChange) => void,
    private readonly intervalMs = 250,
    private readonly onError: (error: Error) => void = () => undefined,
  ) {}

  /** FIDO keys present now (one per physical key). */
  keys(): DetectedKey[] {
    return [...this.present.values()];
  }

  /** Starts polling; resolves after the first enumeration. */
  start(): Promise<void> {
    this.stopped = false;
    this.scanned = this.scan().then(() => this.schedule());
    return this.scanned;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.scan().then(() => this.schedule()), this.intervalMs);
  }

  /** One enumeration: compares what is plugged in with what was. */
  async scan(): Promise<void> {
    let devices;
    try {
      devices = await this.source.list();
    } catch (error) {
      // A failed enumeration tells nothing: keep what we knew rather than report every key gone.
      this.onError(error as Error);
      return;
    }
    const now = new Map<string, DetectedKey>();
    for (const device of devices) {
      if (!isFidoDevice(device)) continue;
      const key = toDetectedKey(device);
      if (!now.has(identity(key))) now.set(identity(key), key);
    }
    const before = this.present;
    this.present = now;
    for (const [id, key] of before) if (!now.has(id)) this.onChange({ type: 'detach', key });
    for (const [id, key] of now) if (!before.has(id)) this.onChange({ type: 'attach', key });
  }
}
