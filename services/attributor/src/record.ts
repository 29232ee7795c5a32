// The little the enrich path needs to know about one kernel record. Only the adapter
// (kernel-adapter.ts) depends on the binary layout; enrich, the cache and the tests of both work
// on this shape.
import type { Verdict } from '@sluice/contracts';
import type { ByteWriter } from './byte-writer.ts';

export interface AttributableRecord {
  /** u64 decimal, as in the documents. */
  cgroupId: string;
  /** Wall-clock ms: the kernel's boot-clock ns (bpf_ktime_get_boot_ns) plus the batch's wall offset. */
  wallMs: number;
  /** egress → sluice.events.<project>.<agent>.<verdict>; dns → sluice.dns.<project>.<agent>. */
  out: 'egress' | 'dns';
  verdict: Verdict | undefined;
  /** Byte offset of the record in its batch's body: render writes its fields from there (RecordCodec.writeFields). */
  at: number;
  /**
   * The event's own fields pre-rendered (everything but id/time/node/identity) as JSON members with
   * a leading comma, `,"kind":"escape",…`, for the rare kinds the codec renders as a string; render
   * writes this instead of calling writeFields.
   */
  fields?: string;
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
  /** Read the record at `offset` (what routing, attribution and naming need); throws RecordError for records that carry no event. */
  decode(view: DataView, bytes: Uint8Array, offset: number, wallOffsetNs: bigint): AttributableRecord;
  /** Most bytes writeFields writes for `r`. */
  fieldsBound(r: AttributableRecord): number;
  /** Write the event's own fields of a record `decode` returned without `fields`, as JSON members with a leading comma. */
  writeFields(w: ByteWriter, view: DataView, bytes: Uint8Array, r: AttributableRecord): void;
}
