import type { Redis } from 'ioredis';
import type { DetectedKey } from '../../shared/detector.ts';
import type { Deps } from '../deps.ts';

/** What every node knows about a connected detector, in Redis under detector-online:<id>. */
export interface DetectorPresenceRecord {
  connectionId: string;
  nodeId: string;
  connectedAt: number;
  keys: DetectedKey[];
}

/**
 * Detector connection tracking shared by every node: a record per connected detector,
 * kept alive by ping/pong and heartbeats and expiring by itself if its node dies.
 * Online means the record exists.
 */
export class DetectorPresence {
  constructor(
    private readonly redis: Redis,
    private readonly ttlMs: number,
  ) {}

  private key(detectorId: string): string {
    return `detector-online:${detectorId}`;
  }

  /** Records a new connection; returns the keys the previous one last reported (for the first diff). */
  async connect(detectorId: string, record: Omit<DetectorPresenceRecord, 'keys'>): Promise<DetectedKey[]> {
    const previous = await this.get(detectorId);
    await this.redis.set(this.key(detectorId), JSON.stringify({ ...record, keys: previous?.keys ?? [] }), 'PX', this.ttlMs);
    return previous?.keys ?? [];
  }

  /** Replaces the keys a connection reports, if it is still the detector's current connection. */
  async setKeys(detectorId: string, connectionId: string, keys: DetectedKey[]): Promise<void> {
    const current = await this.get(detectorId);
    if (!current || current.connectionId !== connectionId) return;
    await this.redis.set(this.key(detectorId), JSON.stringify({ ...current, keys }), 'PX', this.ttlMs);
  }

  async refresh(detectorId: string): Promise<void> {
    await this.redis.pexpire(this.key(detectorId), this.ttlMs);
  }

  /** Removes the record if it is still this connection's. True when it was. */
  async disconnect(detectorId: string, connectionId: string): Promise<boolean> {
    const current = await this.get(detectorId);
    if (!current || current.connectionId !== connectionId) return false;
    await this.redis.del(this.key(detectorId));
    return true;
  }

  async remove(detectorId: string): Promise<void> {
    await this.redis.del(this.key(detectorId));
  }

  async get(detectorId: string): Promise<DetectorPresenceRecord | null> {
    const json = await this.redis.get(this.key(detectorId));
    return json ? (JSON.parse(json) as DetectorPresenceRecord) : null;
  }

  async getMany(detectorIds: readonly string[]): Promise<Map<string, DetectorPresenceRecord>> {
    if (detectorIds.length === 0) return new Map();
    const values = await this.redis.mget(detectorIds.map((id) => this.key(id)));
    const found = new Map<string, DetectorPresenceRecord>();
    values.forEach((json, index) => {
      if (json) found.set(detectorIds[index]!, JSON.parse(json) as DetectorPresenceRecord);
    });
    return found;
  }
}

/** A record outlives three missed pings, then the detector counts as offline. */
export function detectorPresence({ redis, config }: Pick<Deps, 'redis' | 'config'>): DetectorPresence {
  return new DetectorPresence(redis, config.wsHeartbeatSeconds * 3_000);
}
