// Who sent a request, by source IP: the attributor's identity API (`lookup` by ip, answered from
// its P13 IP index) behind a short cache, so a sender's stream of requests costs one lookup per
// TTL, and concurrent requests from one address share one lookup. The TTL is short because a
// bridge IP passes to the next container when one dies; the attributor's own generations guard the
// rest. A failed lookup (no attributor answered) yields `null` (unknown), is reported, and is
// remembered for the same TTL, so a missing attributor costs one request per sender per TTL.
import type { WorkloadIdentity } from '@sluice/contracts';

export type LookupFn = (ip: string) => Promise<WorkloadIdentity | null>;

export interface SenderLookupOptions {
  ttlMs: number;
  maxEntries: number;
  now?: () => number;
}

interface Cached {
  value: Promise<WorkloadIdentity | null>;
  until: number;
}

export class SenderLookup {
  private readonly cache = new Map<string, Cached>();
  private readonly now: () => number;

  constructor(
    private readonly lookup: LookupFn,
    private readonly o: SenderLookupOptions,
    private readonly onFailure: (ip: string, err: Error) => void,
  ) {
    this.now = o.now ?? Date.now;
  }

  resolve(ip: string): Promise<WorkloadIdentity | null> {
    const t = this.now();
    const hit = this.cache.get(ip);
    if (hit && hit.until > t) return hit.value;
    if (this.cache.size >= this.o.maxEntries) this.cache.clear();
    const value = this.lookup(ip).catch((err: unknown) => {
      this.onFailure(ip, err as Error);
      return null;
    });
    this.cache.set(ip, { value, until: t + this.o.ttlMs });
    return value;
  }
}

/** `::ffff:172.17.0.2` (an IPv4 peer on a dual-stack socket) → `172.17.0.2`, as Docker lists it. */
export function normalizeIp(addr: string | undefined): string {
  if (!addr) return 'unknown';
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  return m ? m[1]! : addr;
}
