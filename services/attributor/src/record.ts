// The little the enrich path needs to know about one kernel record. Only the adapter
// (kernel-adapter.ts) depends on the binary layout; enrich, the cache and the tests of both work
// on this shape.
import type { Verdict } from '@sluice/contracts';

export interface AttributableRecord {
  /** u64 decimal, as in the documents. */
  cgroupId: string;
  /** Kernel boot-clock ns (bpf_ktime_get_boot_ns); the batch's wall offset turns it into wall time. */
  tsNs: bigint;
  /** egress → sluice.events.<project>.<agent>.<verdict>; dns → sluice.dns.<project>.<agent>. */
  out: 'egress' | 'dns';
  verdict: Verdict | undefined;
  /**
   * The event's own fields in document shape (everything but id/time/node/identity), rendered as
   * JSON members with a leading comma: `,"kind":"connect",…`. Pre-rendered by the adapter because
   * building and stringifying an object per record was half the cost of the enrich path.
   */
  fields: string;
  /** `fields` is pure ASCII (one byte per character in UTF-8); absent or false: render measures it. */
  fieldsAscii?: boolean;
  /**
   * The kernel's hash of the name (bpf/name_hash.h), 0n when none. On an egress record it is the
   * name this cgroup resolved for the destination; on a DNS record, the question name's.
   */
  domainHash: bigint;
  /** Egress: the kernel flagged the name past its TTL (kept attached, P7 / DESIGN). */
  hostStale: boolean;
  /** DNS records: the question name (lower-cased, maybe truncated at 120 bytes). */
  qname?: string;
}

/** A record the adapter cannot turn into an event; `reason` is the drop-counter label. */
export class RecordError extends Error {
  override name = 'RecordError';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RecordCodec {
  /** Bytes per record: a batch body is a whole number of these. */
  readonly size: number;
  /** Decode the record at `offset`; throws RecordError for records that carry no event. */
  decode(view: DataView, bytes: Uint8Array, offset: number, wallOffsetNs: bigint): AttributableRecord;
}
