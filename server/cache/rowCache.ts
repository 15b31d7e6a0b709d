/**
 * A node-local cache for rows that are read on nearly every request and change rarely
 * (the session's user, the model a chat names). It is correct only while invalidations
 * arrive, so it is used only then: Postgres announces every UPDATE and DELETE of a cached
 * table from a trigger, in the changing transaction (sql/000009), and this node's listener
 * marks the cache live while its LISTEN connection is up. When the connection drops, the
 * cache empties and every read goes to Postgres until it is back. A short TTL bounds the
 * harm of an invalidation lost any other way.
 */
export class RowCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  /** Bumped by every invalidation: a read that began before one must not store what it read. */
  private epoch = 0;
  private live = false;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  async get(id: string, load: (id: string) => Promise<V | null>): Promise<V | null> {
    if (!this.live) return load(id);
    const hit = this.entries.get(id);
    if (hit && hit.expires > Date.now()) return hit.value;
    const epoch = this.epoch;
    const value = await load(id);
    if (value !== null && this.live && epoch === this.epoch) {
      this.entries.delete(id);
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(id, { value, expires: Date.now() + this.ttlMs });
    }
    return value;
  }

  invalidate(id: string): void {
    this.epoch++;
    this.entries.delete(id);
  }

  /** Live only while invalidations are being received; either way the cache starts empty. */
  setLive(live: boolean): void {
    this.live = live;
    this.epoch++;
    this.entries.clear();
  }

  get isLive(): boolean {
    return this.live;
  }

  get size(): number {
    return this.entries.size;
  }
}

/** The NOTIFY channel on which sql/000009's trigger announces '<table>:<id>' of each changed row. */
export const ROW_CHANGE_CHANNEL = 'argus_row_changed';
