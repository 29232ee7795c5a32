// The one file that knows the kernel record layout (bpf/record.h, version 1): it turns a
// 256-byte record into the AttributableRecord enrich works on. Reads only the fields an event
// carries, straight from the DataView, because this runs for every record (≥ 300k/s goal).
// TODO(kernel-record.ts): when packages/contracts' decoder lands, take offsets/enums from it.
import { TextDecoder } from 'node:util';
import type { Verdict } from '@sluice/contracts';
import { RecordError, type AttributableRecord, type RecordCodec } from './record.ts';

export const RECORD_VERSION = 1;
export const RECORD_SIZE = 256;

/** Byte offsets in struct sluice_record. */
export const OFF = {
  version: 0,
  kind: 1,
  verdict: 2,
  reason: 3,
  family: 4,
  l4proto: 5,
  mode: 6,
  flags: 8,
  policyId: 12,
  ts: 16,
  cgroup: 24,
  cookie: 32,
  pid: 40,
  tid: 44,
  ruleId: 48,
  domainHash: 56,
  dst: 64,
  src: 80,
  dport: 96,
  sport: 98,
  comm: 104,
  body: 120,
  // flow body
  bytesOut: 120,
  bytesIn: 128,
  durationNs: 136,
  // dns body
  dnsTtl: 120,
  dnsQtype: 124,
  dnsRcode: 126,
  dnsQnameLen: 129,
  dnsQname: 136,
} as const;

export const KIND = { connect: 1, sendmsg: 2, tcp_close: 3, tcp_interim: 4, udp_flow: 5, dns: 6, sock_create: 7, counters: 8 } as const;
const KIND_NAMES = ['', 'connect', 'sendmsg', 'tcp_close', 'tcp_interim', 'udp_flow', 'dns', 'sock_create'] as const;
const VERDICT_NAMES: ReadonlyArray<Verdict | undefined> = [undefined, 'ALLOWED', 'DENIED', 'BYPASSED'];
// host rules are rules; a port/proto mismatch on a CIDR rule ends in the default deny.
const REASONS = ['none', 'rule', 'default', 'resolver', 'loopback', 'bypass', 'raw_socket', 'rule', 'default'] as const;
const F_AUDIT = 1;
const F_V4MAPPED = 2;
const F_HOST_STALE = 8;
const AF_INET = 2;
const AF_INET6 = 10;
const PROTOS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 255: 'raw' };
const QTYPES: Record<number, string> = { 1: 'A', 5: 'CNAME', 28: 'AAAA', 65: 'HTTPS' };
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

function cstring(bytes: Uint8Array, start: number, max: number, dec: TextDecoder): string {
  let end = start;
  let ascii = true;
  const limit = start + max;
  while (end < limit && bytes[end] !== 0) ascii = ascii && bytes[end++]! < 0x80;
  // TextDecoder costs more than the whole rest of a short comm; plain ASCII needs none of it.
  if (!ascii) return dec.decode(bytes.subarray(start, end));
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

function ipv4(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** RFC 5952 text: lower-case hex, longest run (≥ 2) of zero groups compressed. */
export function ipv6(b: Uint8Array, o: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (from: number, to: number) => g.slice(from, to).map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

function isZero(b: Uint8Array, o: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (b[o + i] !== 0) return false;
  return true;
}

function address(b: Uint8Array, o: number, family: number, mapped: boolean): string {
  if (family === AF_INET) return ipv4(b, o);
  return mapped ? ipv4(b, o + 12) : ipv6(b, o);
}

export const kernelCodec: RecordCodec = {
  size: RECORD_SIZE,
  decode(v: DataView, b: Uint8Array, o: number): AttributableRecord {
    const version = b[o + OFF.version]!;
    if (version !== RECORD_VERSION) throw new RecordError('bad_version', `record version ${version}, expected ${RECORD_VERSION}`);
    const kind = b[o + OFF.kind]!;
    const family = b[o + OFF.family]!;
    if (kind === KIND.counters) throw new RecordError('counters_record', 'counters records carry no event');
    if (kind < 1 || kind > KIND.sock_create) throw new RecordError('bad_kind', `record kind ${kind} is unknown`);
    if (family !== AF_INET && family !== AF_INET6) throw new RecordError('bad_family', `record family ${family} is not AF_INET/AF_INET6`);
    const flags = v.getUint32(o + OFF.flags, true);
    const mapped = (flags & F_V4MAPPED) !== 0;
    const cgroupId = v.getBigUint64(o + OFF.cgroup, true).toString();
    const tsNs = v.getBigUint64(o + OFF.ts, true);
    const pid = v.getUint32(o + OFF.pid, true);
    const comm = cstring(b, o + OFF.comm, 16, latin1);
    const dstIp = address(b, o + OFF.dst, family, mapped);

    const cg = `,"cgroup_id":"${cgroupId}","pid":${pid},"comm":${JSON.stringify(comm)}`;

    if (kind === KIND.dns) {
      const qtype = v.getUint16(o + OFF.dnsQtype, true);
      const rcode = b[o + OFF.dnsRcode]!;
      const qname = cstring(b, o + OFF.dnsQname, 120, utf8);
      return {
        cgroupId,
        tsNs,
        out: 'dns',
        verdict: undefined,
        fields:
          `${cg},"qname":${JSON.stringify(qname)},"qtype":"${QTYPES[qtype] ?? `TYPE${qtype}`}"` +
          `,"rcode":"${RCODES[rcode] ?? `RCODE${rcode}`}","answers":["${dstIp}"],"ttl":${v.getUint32(o + OFF.dnsTtl, true)}`,
      };
    }

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
      fields += `,"src_ip":"${address(b, o + OFF.src, family, mapped)}","src_port":${v.getUint16(o + OFF.sport, true)}`;
    }
    const domainHash = v.getBigUint64(o + OFF.domainHash, true);
    if (domainHash !== 0n) fields += `,"domain_hash":"${domainHash}"`;
    if ((flags & F_HOST_STALE) !== 0) fields += ',"dst_host_stale":true';
    if (kind === KIND.tcp_close || kind === KIND.tcp_interim || kind === KIND.udp_flow) {
      fields +=
        `,"bytes_out":${v.getBigUint64(o + OFF.bytesOut, true)},"bytes_in":${v.getBigUint64(o + OFF.bytesIn, true)}` +
        `,"duration_ms":${Number(v.getBigUint64(o + OFF.durationNs, true)) / 1e6}`;
    }
    return { cgroupId, tsNs, out: 'egress', verdict, fields };
  },
};
