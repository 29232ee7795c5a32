// Builds kernel records in the bpf/record.h layout, for tests and the benchmark: they feed
// SLUICE_RAW with batches naming real container cgroup ids until the kernel side produces them.
import { randomUUID } from 'node:crypto';
import { HEADERS, KERNEL_FLAG, rawBatchHeaders, type RawBatchMeta } from '@sluice/contracts';
import { KIND, OFF, RECORD_SIZE, RECORD_VERSION } from './kernel-adapter.ts';

export interface FixtureRecord {
  kind?: keyof typeof KIND;
  cgroupId: bigint;
  tsNs: bigint;
  verdict?: 1 | 2 | 3;
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
}

export function encodeRecord(r: FixtureRecord, out = new Uint8Array(RECORD_SIZE), at = 0): Uint8Array {
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[at + OFF.version] = RECORD_VERSION;
  out[at + OFF.kind] = KIND[r.kind ?? 'connect'];
  out[at + OFF.verdict] = r.kind === 'dns' ? 0 : (r.verdict ?? 2);
  out[at + OFF.reason] = r.reason ?? 2;
  out[at + OFF.family] = 2;
  out[at + OFF.l4proto] = r.kind === 'dns' ? 17 : 6;
  v.setBigUint64(at + OFF.ts, r.tsNs, true);
  v.setBigUint64(at + OFF.cgroup, r.cgroupId, true);
  v.setBigUint64(at + OFF.cookie, 4242n, true);
  v.setUint32(at + OFF.pid, r.pid ?? 1234, true);
  v.setUint32(at + OFF.tid, r.pid ?? 1234, true);
  (r.dst ?? '93.184.216.34').split('.').forEach((x, i) => (out[at + OFF.dst + i] = Number(x)));
  v.setUint16(at + OFF.dport, r.dport ?? 443, true);
  out.set(new TextEncoder().encode((r.comm ?? 'wget').slice(0, 15)), at + OFF.comm);
  if (r.domainHash) v.setBigUint64(at + OFF.domainHash, r.domainHash, true);
  if (r.hostStale) v.setUint32(at + OFF.flags, v.getUint32(at + OFF.flags, true) | KERNEL_FLAG.host_stale, true);
  if (r.resolver) r.resolver.split('.').forEach((x, i) => (out[at + OFF.src + i] = Number(x)));
  if (r.flow) {
    v.setBigUint64(at + OFF.bytesOut, r.flow.bytesOut, true);
    v.setBigUint64(at + OFF.bytesIn, r.flow.bytesIn, true);
    v.setBigUint64(at + OFF.durationNs, r.flow.durationNs, true);
  }
  if (r.kind === 'dns') {
    v.setUint32(at + OFF.dnsTtl, 60, true);
    v.setUint16(at + OFF.dnsQtype, 1, true);
    const q = new TextEncoder().encode(r.qname ?? 'example.com');
    out.set(q.subarray(0, 120), at + OFF.dnsQname);
    out[at + OFF.dnsQnameLen] = Math.min(q.length, 255);
  }
  return out;
}

export interface FixtureBatch {
  meta: RawBatchMeta;
  body: Uint8Array;
  headers: Array<[string, string]>;
}

export function encodeBatch(
  records: FixtureRecord[],
  meta: Partial<RawBatchMeta> & { node: string; firstSeq: number },
): FixtureBatch {
  const full: RawBatchMeta = {
    bootId: meta.bootId ?? randomUUID(),
    wallOffsetNs: meta.wallOffsetNs ?? 0n,
    ...meta,
    count: records.length,
  };
  const body = new Uint8Array(records.length * RECORD_SIZE);
  records.forEach((r, i) => encodeRecord(r, body, i * RECORD_SIZE));
  return { meta: full, body, headers: rawBatchHeaders(full) };
}

/** Header getter over fixture headers, shaped like nats.js `msg.headers.get`. */
export function headerGetter(headers: Array<[string, string]>): (name: string) => string | undefined {
  const m = new Map(headers);
  return (name) => m.get(name);
}

export { HEADERS };
