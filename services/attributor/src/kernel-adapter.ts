// The one file that knows the kernel record layout: it turns a 256-byte record (bpf/record.h,
// offsets and enums from @sluice/contracts' kernel-record.ts, which a test keeps equal to the C)
// into the AttributableRecord enrich works on. It reads only the fields an event carries straight
// from the DataView and renders them as JSON members, because this runs for every record
// (≥ 300k/s goal) and the generic decoder's object-per-record costs twice as much.
import { TextDecoder } from 'node:util';
import {
  decodeSuppressed,
  formatKernelAddr,
  KERNEL_AF_INET,
  KERNEL_AF_INET6,
  KERNEL_FLAG,
  KERNEL_KIND,
  KERNEL_RECORD_FIELDS as F,
  KERNEL_RECORD_SIZE,
  KERNEL_RECORD_VERSION,
  KIND_SUPPRESSED,
  type Verdict,
} from '@sluice/contracts';
import { RecordError, type AttributableRecord, type RecordCodec } from './record.ts';

export const RECORD_VERSION = KERNEL_RECORD_VERSION;
export const RECORD_SIZE = KERNEL_RECORD_SIZE;

/** Byte offsets in struct sluice_record. */
export const OFF = {
  version: F.version[0],
  kind: F.kind[0],
  verdict: F.verdict[0],
  reason: F.reason[0],
  family: F.family[0],
  l4proto: F.l4_proto[0],
  mode: F.mode[0],
  flags: F.flags[0],
  policyId: F.policy_id[0],
  ts: F.ts_ns[0],
  cgroup: F.cgroup_id[0],
  cookie: F.socket_cookie[0],
  pid: F.pid[0],
  tid: F.tid[0],
  ruleId: F.rule_id[0],
  domainHash: F.domain_hash[0],
  dst: F.dst_addr[0],
  src: F.src_addr[0],
  dport: F.dst_port[0],
  sport: F.src_port[0],
  comm: F.comm[0],
  bytesOut: F['body.flow.bytes_out'][0],
  bytesIn: F['body.flow.bytes_in'][0],
  durationNs: F['body.flow.duration_ns'][0],
  dnsTtl: F['body.dns.ttl'][0],
  dnsQtype: F['body.dns.qtype'][0],
  dnsRcode: F['body.dns.rcode'][0],
  dnsQnameLen: F['body.dns.qname_len'][0],
  dnsQname: F['body.dns.qname'][0],
  dnsRejected: F['body.dns.rejected'][0],
  sockType: F['body.sock.sock_type'][0],
  sockProtocol: F['body.sock.sock_protocol'][0],
  escapeTo: F['body.escape.to_cgroup_id'][0],
  bpfCmd: F['body.bpf.cmd'][0],
} as const;

export const KIND = { ...KERNEL_KIND, suppressed: KIND_SUPPRESSED } as const;
const KIND_NAMES = ['', 'connect', 'sendmsg', 'tcp_close', 'tcp_interim', 'udp_flow', 'dns', 'sock_create', 'counters', 'bind', 'sockopt', 'packet', 'escape', 'bpf'] as const;
const VERDICT_NAMES: ReadonlyArray<Verdict | undefined> = [undefined, 'ALLOWED', 'DENIED', 'BYPASSED'];
// Indexed by the kernel's reason byte (KERNEL_REASON): the words are the same as MatchReason's.
const REASONS = ['none', 'rule', 'default', 'resolver', 'loopback', 'bypass', 'raw_socket', 'host', 'rule_port', 'dns_bind', 'source_route_opt', 'source_route', 'bpf_syscall'] as const;
const SOCK_TYPES: Record<number, string> = { 1: 'stream', 2: 'dgram', 3: 'raw', 5: 'seqpacket' };
const DNS_REJECTED = ['ok', 'unsolicited', 'mismatch', 'wrong_socket', 'untrusted'];
const F_AUDIT = KERNEL_FLAG.audit;
const F_V4MAPPED = KERNEL_FLAG.v4mapped;
const F_HOST_STALE = KERNEL_FLAG.host_stale;
const AF_INET = KERNEL_AF_INET;
const AF_INET6 = KERNEL_AF_INET6;
const PROTOS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 255: 'raw' };
const QTYPES: Record<number, string> = { 1: 'A', 5: 'CNAME', 28: 'AAAA', 65: 'HTTPS' };
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

const latin1 = new TextDecoder('latin1');
// Render writes ASCII fields byte for byte; anything else (an agent picks its comm, a qname may
// carry UTF-8) is measured and encoded there.
const NON_ASCII = /[^\x00-\x7f]/;
const utf8 = new TextDecoder('utf-8');

function cstring(bytes: Uint8Array, start: number, max: number, dec: TextDecoder): string {
  let end = start;
  let ascii = true;
  const limit = start + max;
  // The index moves on every byte whatever ascii already is: `ascii && bytes[end++]` would stop
  // advancing at the first byte ≥ 0x80 and spin forever (an agent picks its own comm).
  while (end < limit && bytes[end] !== 0) {
    if (bytes[end]! >= 0x80) ascii = false;
    end++;
  }
  // TextDecoder costs more than the whole rest of a short comm; plain ASCII needs none of it.
  if (!ascii) return dec.decode(bytes.subarray(start, end));
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

// cgroup id → its decimal string. A batch holds a few cgroups many times over: one string per
// cgroup instead of a BigInt and a string per record, and the same string object every time, so
// the label cache's and the name table's Map lookups reuse its hash instead of hashing a new copy.
const cgroupIds = new Map<number, string>();
const CGROUP_IDS_MAX = 4096;

function cgroupIdAt(v: DataView, at: number): string {
  const hi = v.getUint32(at + 4, true);
  // Past 2^53 a double no longer keys it exactly (kernel cgroup ids are inode numbers: never in practice).
  if (hi >= 0x200000) return v.getBigUint64(at, true).toString();
  const key = hi * 0x1_0000_0000 + v.getUint32(at, true);
  let s = cgroupIds.get(key);
  if (s === undefined) {
    if (cgroupIds.size >= CGROUP_IDS_MAX) cgroupIds.clear();
    cgroupIds.set(key, (s = String(key)));
  }
  return s;
}

function isZero(b: Uint8Array, o: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (b[o + i] !== 0) return false;
  return true;
}

/** ::ffff:a.b.c.d → a.b.c.d: the kernel maps an IPv4 answer or resolver when the resolver spoke IPv6. */
function dnsAddr(b: Uint8Array, o: number, family: number): string {
  if (family === AF_INET6 && isZero(b, o, 10) && b[o + 10] === 0xff && b[o + 11] === 0xff) return formatKernelAddr(b, o + 12, AF_INET);
  return formatKernelAddr(b, o, family);
}

export const kernelCodec: RecordCodec = {
  size: RECORD_SIZE,
  decode(v: DataView, b: Uint8Array, o: number, wallOffsetNs: bigint): AttributableRecord {
    const version = b[o + OFF.version]!;
    if (version !== RECORD_VERSION) throw new RecordError('bad_version', `record version ${version}, expected ${RECORD_VERSION}`);
    const kind = b[o + OFF.kind]!;
    const family = b[o + OFF.family]!;
    const suppressed = kind === KIND.suppressed;
    if (kind === KIND.counters) throw new RecordError('counters_record', 'counters records carry no event');
    if (!suppressed && (kind < 1 || kind > KIND_NAMES.length - 1 || kind === KIND.counters)) throw new RecordError('bad_kind', `record kind ${kind} is unknown`);
    if (family !== AF_INET && family !== AF_INET6) throw new RecordError('bad_family', `record family ${family} is not AF_INET/AF_INET6`);
    const flags = v.getUint32(o + OFF.flags, true);
    const mapped = (flags & F_V4MAPPED) !== 0;
    const cgroupId = cgroupIdAt(v, o + OFF.cgroup);
    const tsNs = v.getBigUint64(o + OFF.ts, true);
    const pid = v.getUint32(o + OFF.pid, true);
    const comm = cstring(b, o + OFF.comm, 16, latin1);
    const ascii = !NON_ASCII.test(comm);
    const cg = `,"cgroup_id":"${cgroupId}","pid":${pid},"comm":${JSON.stringify(comm)}`;
    const domainHash = v.getBigUint64(o + OFF.domainHash, true);

    if (kind === KIND.dns) return dnsRecord(v, b, o, family, cgroupId, tsNs, cg, domainHash, flags, ascii);
    if (kind === KIND.escape) return escapeRecord(v, o, cgroupId, tsNs, cg, ascii);

    const dstIp = formatKernelAddr(b, o + OFF.dst, family);
    if (suppressed) return suppressedRecord(b, o, cgroupId, tsNs, cg, dstIp, wallOffsetNs, ascii);
    const verdict = VERDICT_NAMES[b[o + OFF.verdict]!];
    if (!verdict) throw new RecordError('bad_verdict', `record verdict ${b[o + OFF.verdict]} on a ${KIND_NAMES[kind]} record`);
    const l4 = b[o + OFF.l4proto]!;
    let fields =
      `,"kind":"${KIND_NAMES[kind]}","verdict":"${verdict}","audit":${(flags & F_AUDIT) !== 0}` +
      `,"reason":"${REASONS[b[o + OFF.reason]!] ?? 'none'}","rule_id":${v.getUint32(o + OFF.ruleId, true)}` +
      `,"policy_id":${v.getUint32(o + OFF.policyId, true)}${cg},"tid":${v.getUint32(o + OFF.tid, true)}` +
      `,"socket_cookie":"${v.getBigUint64(o + OFF.cookie, true)}","family":"${family === AF_INET ? 'ipv4' : 'ipv6'}"` +
      `,"l4_proto":"${PROTOS[l4] ?? String(l4)}","dst_ip":"${dstIp}","dst_port":${v.getUint16(o + OFF.dport, true)}`;
    if (mapped) fields += ',"ipv4_mapped":true';
    if (!isZero(b, o + OFF.src, 16)) {
      fields += `,"src_ip":"${formatKernelAddr(b, o + OFF.src, family)}","src_port":${v.getUint16(o + OFF.sport, true)}`;
    }
    // dst_host and dst_host_stale are added at render, from the names the cgroup's DNS records taught.
    if (domainHash !== 0n) fields += `,"domain_hash":"${domainHash}"`;
    if (kind === KIND.tcp_close || kind === KIND.tcp_interim || kind === KIND.udp_flow) {
      fields +=
        `,"bytes_out":${v.getBigUint64(o + OFF.bytesOut, true)},"bytes_in":${v.getBigUint64(o + OFF.bytesIn, true)}` +
        `,"duration_ms":${Number(v.getBigUint64(o + OFF.durationNs, true)) / 1e6}`;
    } else if (kind === KIND.sock_create) {
      const t = v.getUint32(o + OFF.sockType, true);
      fields += `,"sock_type":"${SOCK_TYPES[t] ?? `type${t}`}","sock_protocol":${v.getUint32(o + OFF.sockProtocol, true)}`;
    } else if (kind === KIND.bpf) {
      fields += `,"bpf_cmd":${v.getUint32(o + OFF.bpfCmd, true)}`;
    }
    return { cgroupId, tsNs, out: 'egress', verdict, fields, fieldsAscii: ascii, domainHash, hostStale: (flags & F_HOST_STALE) !== 0 };
  },
};

/**
 * One DNS record = one A/AAAA answer of a response (dst = the answer, src = the resolver), or one
 * record without an address (all zero) for a response that has none: NXDOMAIN, CNAME only, … The
 * event keeps that shape: `answers` holds this record's address, or nothing.
 */
function dnsRecord(
  v: DataView,
  b: Uint8Array,
  o: number,
  family: number,
  cgroupId: string,
  tsNs: bigint,
  cg: string,
  domainHash: bigint,
  flags: number,
  commAscii: boolean,
): AttributableRecord {
  const qtype = v.getUint16(o + OFF.dnsQtype, true);
  const rcode = b[o + OFF.dnsRcode]!;
  const qname = cstring(b, o + OFF.dnsQname, 120, utf8);
  const answers = isZero(b, o + OFF.dst, 16) ? '[]' : `["${dnsAddr(b, o + OFF.dst, family)}"]`;
  let fields =
    `${cg},"qname":${JSON.stringify(qname)},"qtype":"${QTYPES[qtype] ?? `TYPE${qtype}`}"` +
    `,"rcode":"${RCODES[rcode] ?? `RCODE${rcode}`}","answers":${answers},"ttl":${v.getUint32(o + OFF.dnsTtl, true)}`;
  if (!isZero(b, o + OFF.src, 16)) fields += `,"resolver_ip":"${dnsAddr(b, o + OFF.src, family)}"`;
  const rejected = b[o + OFF.dnsRejected]!;
  if (rejected) fields += `,"forged":${(flags & KERNEL_FLAG.dns_forged) !== 0},"rejected":"${DNS_REJECTED[rejected] ?? 'untrusted'}"`;
  // A forged answer teaches no name: its qname must not label the cgroup's connects.
  const fieldsAscii = commAscii && !NON_ASCII.test(qname);
  return { cgroupId, tsNs, out: 'dns', verdict: undefined, fields, fieldsAscii, domainHash, hostStale: false, qname: rejected ? undefined : qname };
}

/** A task left the managed scope: BYPASSED (outside enforcement from then on), reason escape. */
function escapeRecord(v: DataView, o: number, cgroupId: string, tsNs: bigint, cg: string, fieldsAscii: boolean): AttributableRecord {
  const fields =
    `,"kind":"escape","verdict":"BYPASSED","audit":false,"reason":"escape","rule_id":0${cg}` +
    `,"tid":${v.getUint32(o + OFF.tid, true)},"family":"ipv4","l4_proto":"none","dst_ip":"0.0.0.0","dst_port":0` +
    `,"to_cgroup_id":"${v.getBigUint64(o + OFF.escapeTo, true)}"`;
  return { cgroupId, tsNs, out: 'egress', verdict: 'BYPASSED', fields, fieldsAscii, domainHash: 0n, hostStale: false };
}

const iso = (tsNs: bigint, wallOffsetNs: bigint) => new Date(Number((tsNs + wallOffsetNs) / 1_000_000n)).toISOString();

/**
 * A rate-limit summary from the reader (P14): one `suppressed` event standing for `count` records
 * of this cgroup. Its verdict is the representative attempt's, or the most frequent one when the
 * representative was a DNS record (no verdict).
 */
function suppressedRecord(
  b: Uint8Array,
  o: number,
  cgroupId: string,
  tsNs: bigint,
  cg: string,
  dstIp: string,
  wallOffsetNs: bigint,
  fieldsAscii: boolean,
): AttributableRecord {
  const s = decodeSuppressed(b.subarray(o, o + RECORD_SIZE));
  let verdict = VERDICT_NAMES[b[o + OFF.verdict]!];
  if (!verdict) {
    const best = [1, 2, 3].reduce((x, y) => (s.byVerdict[y]! > s.byVerdict[x]! ? y : x));
    verdict = VERDICT_NAMES[best]!;
  }
  const l4 = b[o + OFF.l4proto]!;
  const fields =
    `,"kind":"suppressed","verdict":"${verdict}","audit":false,"reason":"none","rule_id":0${cg}` +
    `,"family":"${b[o + OFF.family] === AF_INET ? 'ipv4' : 'ipv6'}","l4_proto":"${PROTOS[l4] ?? String(l4)}"` +
    `,"dst_ip":"${dstIp}","dst_port":${b[o + OFF.dport]! | (b[o + OFF.dport + 1]! << 8)}` +
    `,"suppressed_count":${s.count},"first_time":"${iso(s.firstTsNs, wallOffsetNs)}","last_time":"${iso(s.lastTsNs, wallOffsetNs)}"`;
  return { cgroupId, tsNs, out: 'egress', verdict, fields, fieldsAscii, domainHash: 0n, hostStale: false };
}
