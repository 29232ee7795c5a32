// Per-cgroup token bucket (P14): one agent in a tight connect loop cannot crowd every other
// cgroup out of the pipeline. Time is the records' own kernel timestamps, not arrival time, so a
// backlog drained in one burst is judged by when the attempts happened.
//
// What a bucket refuses is not lost: it is tallied per cgroup (count, first/last time, by verdict,
// the last record as a representative) and handed out by `takeSummaries()`, which the reader
// turns into SUPPRESSED records on SLUICE_RAW.
import type { SuppressedSummary } from '@sluice/contracts';
import { OFF, RECORD_SIZE } from './layout.ts';

const TWO32 = 4294967296;

interface Bucket {
  tokens: number;
  lastNs: number;
  suppressed: number;
  firstNs: bigint;
  lastSuppressedNs: bigint;
  byVerdict: [number, number, number, number];
  /** Where the last suppressed record lives; copied only when summarised. */
  tplBuf: Buffer | undefined;
  tplOff: number;
  /** Its bytes there (a packed stream's record stops at its kept length; zeros follow). */
  tplLen: number;
}

export interface Summary extends SuppressedSummary {
  cgroupId: bigint;
  /** Copy of the last suppressed record (RECORD_SIZE bytes). */
  template: Buffer;
}

export interface RateLimitOptions {
  /** Records per second per cgroup; 0 disables limiting. */
  ratePerS: number;
  burst: number;
  /** Bound on tracked cgroups; beyond it, idle full buckets are evicted first. */
  maxCgroups: number;
}

export class CgroupRateLimiter {
  private readonly buckets = new Map<number | string, Bucket>();
  private readonly perNs: number;
  /** Cache for runs of records from one cgroup (the common flood shape). */
  private lastKey: number | string | undefined;
  private lastBucket: Bucket | undefined;
  /** Records admitted unlimited because the table was full of busy cgroups. */
  overflowed = 0;

  constructor(private readonly opts: RateLimitOptions) {
    if (opts.ratePerS < 0 || opts.burst < 1) throw new Error(`rate limit: rate ${opts.ratePerS}/s burst ${opts.burst} invalid`);
    this.perNs = opts.ratePerS / 1e9;
  }

  get enabled(): boolean {
    return this.opts.ratePerS > 0;
  }

  get tracked(): number {
    return this.buckets.size;
  }

  /**
   * True if the record at buf[off] may pass; false means it was suppressed and tallied. `kept`:
   * its bytes in buf (fewer than a record's in the packed stream: the rest are zeros).
   */
  admit(buf: Buffer, off: number, kept = RECORD_SIZE): boolean {
    if (this.perNs === 0) return true;
    const lo = buf.readUInt32LE(off + OFF.cgroupId);
    const hi = buf.readUInt32LE(off + OFF.cgroupId + 4);
    // Exact as a number while hi < 2^21 (cgroup ids are inode numbers: always, in practice).
    const key = hi < 0x200000 ? hi * TWO32 + lo : `${hi}:${lo}`;
    const ts = buf.readUInt32LE(off + OFF.tsNs + 4) * TWO32 + buf.readUInt32LE(off + OFF.tsNs);
    let b = key === this.lastKey ? this.lastBucket : this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.opts.maxCgroups && !this.evictIdle(ts)) {
        this.overflowed++;
        return true;
      }
      b = { tokens: this.opts.burst, lastNs: ts, suppressed: 0, firstNs: 0n, lastSuppressedNs: 0n, byVerdict: [0, 0, 0, 0], tplBuf: undefined, tplOff: 0, tplLen: 0 };
      this.buckets.set(key, b);
    }
    this.lastKey = key;
    this.lastBucket = b;
    const elapsed = ts - b.lastNs;
    // Records from different CPUs arrive slightly out of order: never refill backwards.
    if (elapsed > 0) {
      b.tokens = Math.min(this.opts.burst, b.tokens + elapsed * this.perNs);
      b.lastNs = ts;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return true;
    }
    const tsBig = buf.readBigUInt64LE(off + OFF.tsNs);
    if (b.suppressed === 0 || tsBig < b.firstNs) b.firstNs = tsBig;
    if (tsBig > b.lastSuppressedNs || b.suppressed === 0) b.lastSuppressedNs = tsBig;
    b.suppressed++;
    const v = buf[off + OFF.verdict]!;
    b.byVerdict[v <= 3 ? v : 0]!++;
    b.tplBuf = buf;
    b.tplOff = off;
    b.tplLen = kept;
    return false;
  }

  /** Summaries of everything suppressed since the last call; tallies reset. */
  takeSummaries(): Summary[] {
    const out: Summary[] = [];
    for (const b of this.buckets.values()) {
      if (b.suppressed === 0 || b.tplBuf === undefined) continue;
      const template = Buffer.alloc(RECORD_SIZE);
      b.tplBuf.copy(template, 0, b.tplOff, b.tplOff + b.tplLen);
      out.push({
        cgroupId: template.readBigUInt64LE(OFF.cgroupId),
        count: b.suppressed,
        firstTsNs: b.firstNs,
        lastTsNs: b.lastSuppressedNs,
        byVerdict: [...b.byVerdict],
        template,
      });
      b.suppressed = 0;
      b.byVerdict = [0, 0, 0, 0];
      b.tplBuf = undefined;
    }
    return out;
  }

  /** Forget buckets that have refilled completely by `nowNs` and hold no tally. */
  evictIdle(nowNs: number): boolean {
    const full = this.opts.burst / this.perNs;
    let evicted = false;
    for (const [k, b] of this.buckets) {
      if (b.suppressed === 0 && nowNs - b.lastNs >= full) {
        this.buckets.delete(k);
        evicted = true;
      }
    }
    this.lastKey = undefined;
    this.lastBucket = undefined;
    return evicted;
  }
}
