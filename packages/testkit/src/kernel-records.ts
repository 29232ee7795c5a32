// Builds kernel records in the bpf/record.h layout for tests and benchmarks, from the contracts'
// layout table (which a test keeps equal to the C): the one encoder behind the attributor's
// fixtures, the reader's framing tests and the benchmarks.
import {
  KERNEL_AF_INET,
  KERNEL_FLAG,
  KERNEL_KIND,
  KERNEL_PACKED_STREAM,
  KERNEL_RECORD_FIELDS as F,
  KERNEL_RECORD_SIZE,
  KERNEL_RECORD_VERSION,
  KIND_SUPPRESSED,
  type KernelKind,
} from '@sluice/contracts';

const KIND = { ...KERNEL_KIND, suppressed: KIND_SUPPRESSED } as const;

export interface RecordSpec {
  /** A kind's name, or any byte (framing tests write out-of-range kinds). Default connect. */
  kind?: KernelKind | 'suppressed' | number;
  cgroupId?: bigint;
  tsNs?: bigint;
  /** The verdict byte: 1 allowed, 2 denied (default; DNS records: 0), 3 bypassed. */
  verdict?: number;
  reason?: number;
  pid?: number;
  comm?: string;
  /** IPv4 dotted text. */
  dst?: string;
  dport?: number;
  qname?: string;
  /** 0n / absent: no name. DNS records: the question name's hash (normally nameHash(qname)). */
  domainHash?: bigint;
  /** Egress: the kernel's host_stale flag. */
  hostStale?: boolean;
  /** DNS: the resolver (IPv4 dotted text). */
  resolver?: string;
  /** tcp_close / tcp_interim / udp_flow body. */
  flow?: { bytesOut: bigint; bytesIn: bigint; durationNs: bigint };
  /**
   * Fills addresses, comm and body with deterministic noise derived from this value (real records
   * are not mostly zeros) and writes it as a u32 at the body's start, where `markOf` reads it:
   * distinct records a framing test can follow. Padding stays zero, as the kernel leaves it.
   */
  mark?: number;
}

const at0 = (name: keyof typeof F) => F[name][0];
const RESERVED1 = at0('src_port') + 2;

function ipv4(out: Uint8Array, at: number, text: string): void {
  text.split('.').forEach((x, i) => (out[at + i] = Number(x)));
}

function noise(out: Uint8Array, at: number, mark: number): void {
  let x = mark * 2654435761 + 1;
  for (let i = at0('dst_addr'); i < KERNEL_RECORD_SIZE; i++) {
    if (i >= RESERVED1 && i < RESERVED1 + 4) continue;
    x = (x * 1103515245 + 12345) >>> 0;
    out[at + i] = x >>> 24;
  }
}

/** Encodes one record into `out` at `at` (default: a fresh Buffer) and returns `out`. */
export function encodeRecord(r?: RecordSpec): Buffer;
export function encodeRecord<T extends Uint8Array>(r: RecordSpec, out: T, at?: number): T;
export function encodeRecord(r: RecordSpec = {}, out: Uint8Array = Buffer.alloc(KERNEL_RECORD_SIZE), at = 0): Uint8Array {
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const kind = typeof r.kind === 'number' ? r.kind : KIND[r.kind ?? 'connect'];
  const dns = kind === KERNEL_KIND.dns;
  if (r.mark !== undefined) noise(out, at, r.mark);
  out[at + at0('version')] = KERNEL_RECORD_VERSION;
  out[at + at0('kind')] = kind;
  out[at + at0('verdict')] = r.verdict ?? (dns ? 0 : 2);
  out[at + at0('reason')] = r.reason ?? 2;
  out[at + at0('family')] = KERNEL_AF_INET;
  out[at + at0('l4_proto')] = dns ? 17 : 6;
  v.setBigUint64(at + at0('ts_ns'), r.tsNs ?? 1_000_000n, true);
  v.setBigUint64(at + at0('cgroup_id'), r.cgroupId ?? 42n, true);
  v.setBigUint64(at + at0('socket_cookie'), 4242n, true);
  v.setUint32(at + at0('pid'), r.pid ?? 1234, true);
  v.setUint32(at + at0('tid'), r.pid ?? 1234, true);
  ipv4(out, at + at0('dst_addr'), r.dst ?? '93.184.216.34');
  v.setUint16(at + at0('dst_port'), r.dport ?? 443, true);
  out.fill(0, at + at0('comm'), at + at0('comm') + F.comm[1]);
  out.set(new TextEncoder().encode((r.comm ?? 'wget').slice(0, 15)), at + at0('comm'));
  if (r.domainHash) v.setBigUint64(at + at0('domain_hash'), r.domainHash, true);
  if (r.hostStale) v.setUint32(at + at0('flags'), v.getUint32(at + at0('flags'), true) | KERNEL_FLAG.host_stale, true);
  if (r.resolver) ipv4(out, at + at0('src_addr'), r.resolver);
  if (r.flow) {
    v.setBigUint64(at + at0('body.flow.bytes_out'), r.flow.bytesOut, true);
    v.setBigUint64(at + at0('body.flow.bytes_in'), r.flow.bytesIn, true);
    v.setBigUint64(at + at0('body.flow.duration_ns'), r.flow.durationNs, true);
  }
  if (dns) {
    v.setUint32(at + at0('body.dns.ttl'), 60, true);
    v.setUint16(at + at0('body.dns.qtype'), 1, true);
    const q = new TextEncoder().encode(r.qname ?? 'example.com');
    out.set(q.subarray(0, F['body.dns.qname'][1]), at + at0('body.dns.qname'));
    out[at + at0('body.dns.qname_len')] = Math.min(q.length, 255);
  }
  if (r.mark !== undefined) v.setUint32(at + at0('body'), r.mark, true);
  return out;
}

/** The `mark` a record was encoded with. */
export function markOf(rec: Uint8Array, off = 0): number {
  return new DataView(rec.buffer, rec.byteOffset, rec.byteLength).getUint32(off + at0('body'), true);
}

/**
 * A record as `sluice-bpf stream --packed` writes it (bpf/stream.c): u32 LE kept length, then the
 * record without its trailing zero words, never shorter than the header the reader checks.
 */
export function packedStreamEntry(rec: Uint8Array): Buffer {
  let kept = KERNEL_RECORD_SIZE;
  while (kept > KERNEL_PACKED_STREAM.minKeep && rec[kept - 1] === 0 && rec[kept - 2] === 0 && rec[kept - 3] === 0 && rec[kept - 4] === 0) kept -= 4;
  const out = Buffer.alloc(KERNEL_PACKED_STREAM.header + kept);
  out.writeUInt32LE(kept, 0);
  out.set(rec.subarray(0, kept), KERNEL_PACKED_STREAM.header);
  return out;
}
