// Which sessions are live, as the hot path sees them. Most batches on SLUICE_EVENTS belong to no
// learn session; checking a local set lets the learner ack those without parsing a line. The set is
// refreshed from Redis on a short period, at once when a replica announces a change, and on a miss
// when it is older than `maxAgeMs` — so a session started on another replica is seen within
// `maxAgeMs` even if the announcement was lost.
export class SessionCache {
  private ids = new Set<string>();
  private loadedAt = -Infinity;
  private inflight: Promise<void> | undefined;

  constructor(
    private readonly load: () => Promise<Set<string>>,
    private readonly maxAgeMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The live session ids among `candidates`. */
  async match(candidates: readonly string[]): Promise<string[]> {
    let hit = candidates.filter((c) => this.ids.has(c));
    if (hit.length < candidates.length && this.now() - this.loadedAt > this.maxAgeMs) {
      await this.refresh();
      hit = candidates.filter((c) => this.ids.has(c));
    }
    return hit;
  }

  /** Drop every session id the cache holds and reload (one load at a time). */
  refresh(): Promise<void> {
    this.inflight ??= this.load()
      .then((ids) => {
        this.ids = ids;
        this.loadedAt = this.now();
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  /** Mark stale so the next miss reloads (a replica announced a change). */
  invalidate(): void {
    this.loadedAt = -Infinity;
  }
}
