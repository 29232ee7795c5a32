// The kernel record (bpf/record.h), decoded. One fixed 256-byte layout for every kind so a
// stream of records is walked in fixed strides; byte 0 is the layout version, byte 1 the kind.
// Integers little-endian, addresses in network order in a 16-byte field, ports in host order.
// kernel-record.layout.kernel.test.ts compiles bpf/test/layout.c and compares every offset,
// size and enum value below with what the C compiler says, so C and TS cannot drift.

export const KERNEL_RECORD_VERSION = 1;
export const KERNEL_RECORD_SIZE = 256;
export const KERNEL_COMM_LEN = 16;
export const KERNEL_QNAME_LEN = 120;
export const KERNEL_COUNTER_SLOTS = 16;

/** [offset, size] of every field of struct sluice_record (names as in C). */
export const KERNEL_RECORD_FIELDS = {
  version: [0, 1],
  kind: [1, 1],
  verdict: [2, 1],
  reason: [3, 1],
  family: [4, 1],
  l4_proto: [5, 1],
  mode: [6, 1],
  flags: [8, 4],
  policy_id: [12, 4],
  ts_ns: [16, 8],
  cgroup_id: [24, 8],
  socket_cookie: [32, 8],
  pid: [40, 4],
  tid: [44, 4],
  rule_id: [48, 4],
  domain_hash: [56, 8],
  dst_addr: [64, 16],
  src_addr: [80, 16],
  dst_port: [96, 2],
  src_port: [98, 2],
  comm: [104, 16],
  body: [120, 136],
  'body.flow.bytes_out': [120, 8],
  'body.flow.bytes_in': [128, 8],
  'body.flow.duration_ns': [136, 8],
  'body.flow.packets_out': [144, 4],
  'body.flow.packets_in': [148, 4],
  'body.sock.sock_type': [120, 4],
  'body.sock.sock_protocol': [124, 4],
  'body.dns.ttl': [120, 4],
  'body.dns.qtype': [124, 2],
  'body.dns.rcode': [126, 1],
  'body.dns.answer_index': [127, 1],
  'body.dns.answer_count': [128, 1],
  'body.dns.qname_len': [129, 1],
  'body.dns.rejected': [130, 1],
  'body.dns.qname': [136, 120],
  'body.counters.value': [120, 128],
  'body.sockopt.level': [120, 4],
  'body.sockopt.optname': [124, 4],
  'body.escape.to_cgroup_id': [120, 8],
  'body.bpf.cmd': [120, 4],
} as const satisfies Record<string, readonly [number, number]>;

const F = KERNEL_RECORD_FIELDS;

/** COUNTERS records carry slots 16..19 here, in the address bytes that kind leaves unused: [offset, size]. */
export const KERNEL_COUNTERS_EXT = [64, 32] as const;

/**
 * `sluice-bpf stream --packed` (bpf/record.h): each record as a u32 LE kept length L, then its
 * first L bytes, L a multiple of 4 in [minKeep, record size]: the SLUICE_RAW packed body form,
 * with at least the header (everything before comm) kept so that it can be checked.
 */
export const KERNEL_PACKED_STREAM = { header: 4, minKeep: 104 } as const;

export const KERNEL_KIND = {
  connect: 1,
  sendmsg: 2,
  tcp_close: 3,
  tcp_interim: 4,
  udp_flow: 5,
  dns: 6,
  sock_create: 7,
  /** Written by `sluice-bpf stream` (a snapshot of the kernel counters), never by the kernel. */
  counters: 8,
  /** bind() to port 53 or a resolver address, refused. */
  bind: 9,
  /** A source-routing socket option, refused. */
  sockopt: 10,
  /** An egress packet carrying a source route, dropped. */
  packet: 11,
  /** A task left the managed scope (detected, not prevented; no verdict). */
  escape: 12,
  /** bpf() from inside the managed scope, refused by the tamper guard (bpf/tamper.bpf.c). */
  bpf: 13,
} as const;
export type KernelKind = keyof typeof KERNEL_KIND;

export const KERNEL_VERDICT = { none: 0, allowed: 1, denied: 2, bypassed: 3 } as const;
export type KernelVerdict = 'ALLOWED' | 'DENIED' | 'BYPASSED';

export const KERNEL_REASON = {
  none: 0,
  rule: 1,
  default: 2,
  resolver: 3,
  loopback: 4,
  bypass: 5,
  raw_socket: 6,
  host: 7,
  /** Denied: a rule's CIDR matched but not its ports/protocol (rule_id names that rule). */
  rule_port: 8,
  dns_bind: 9,
  source_route_opt: 10,
  source_route: 11,
  /** bpf() from the managed scope: it could detach or rewrite enforcement. Refused in every mode. */
  bpf_syscall: 12,
} as const;
export type KernelReason = keyof typeof KERNEL_REASON;

export const KERNEL_FLAG = { audit: 1, v4mapped: 2, default_policy: 4, host_stale: 8, qname_trunc: 16, dns_forged: 32, clone_into: 64 } as const;
/** Why a DNS answer was not cached (body dns.rejected); 1..3 also set the dns_forged flag. */
export const KERNEL_DNS_REJECTED = { ok: 0, unsolicited: 1, mismatch: 2, wrong_socket: 3, untrusted: 4 } as const;
export type KernelDnsRejected = keyof typeof KERNEL_DNS_REJECTED;
export const KERNEL_MODE = { enforce: 0, learn: 1 } as const;
export type KernelMode = keyof typeof KERNEL_MODE;

/** Slots of the kernel `counters` map (bpf/map_types.h enum sluice_counter). */
export const KERNEL_COUNTER = {
  generated: 0,
  drop_ringbuf_full: 1,
  allowed: 2,
  denied: 3,
  bypassed: 4,
  audit: 5,
  /** DNS responses parsed (one record per A/AAAA answer). */
  dns_answers: 6,
  /** DNS responses the kernel parser rejected: nothing attributed. */
  dns_malformed: 7,
  /** Answers from a server that is no resolver of the cgroup's policy: recorded, not cached. */
  dns_untrusted: 8,
  /** Responses longer than the kernel's parse window (answers beyond it unread). */
  dns_partial: 9,
  /** Flow state could not be kept: the attempt got its own record instead. */
  flow_no_storage: 10,
  /** UDP aggregation table full: the attempt got its own record instead. */
  udp_table_full: 11,
  host_allowed: 12,
  /** DNS answers the receiving socket never asked that server: flagged forged, not cached. */
  dns_unsolicited: 13,
  /** DNS answers whose id or question matches no query of the socket (or one already answered). */
  dns_mismatch: 14,
  /** DNS answers to a question another socket asked. */
  dns_wrong_socket: 15,
  bind_denied: 16,
  sockopt_denied: 17,
  srcroute_dropped: 18,
  escapes: 19,
} as const;
export type KernelCounterName = keyof typeof KERNEL_COUNTER;

export const KERNEL_AF_INET = 2;
export const KERNEL_AF_INET6 = 10;

interface KernelRecordBase {
  version: number;
  /** Boot-clock ns (bpf_ktime_get_boot_ns), the clock bypass expiries use. */
  tsNs: bigint;
  cgroupId: bigint;
  socketCookie: bigint;
  pid: number;
  tid: number;
  comm: string;
}

export interface KernelEgressRecord extends KernelRecordBase {
  kind: Exclude<KernelKind, 'dns' | 'counters' | 'escape'>;
  verdict: KernelVerdict;
  reason: KernelReason;
  mode: KernelMode;
  /** Learn mode: enforcement would have denied. */
  audit: boolean;
  /** The cgroup had no entry: the default policy decided. */
  defaultPolicy: boolean;
  v4mapped: boolean;
  hostStale: boolean;
  policyId: number;
  ruleId: number;
  /** 0n = no domain attribution. */
  domainHash: bigint;
  family: 'ipv4' | 'ipv6';
  l4Proto: number;
  dstAddr: string;
  dstPort: number;
  srcAddr: string;
  srcPort: number;
  /** tcp_close / tcp_interim / udp_flow only. */
  flow?: { bytesOut: bigint; bytesIn: bigint; durationNs: bigint; packetsOut: number; packetsIn: number };
  /** sock_create only. */
  sock?: { type: number; protocol: number };
  /** sockopt only: the refused option. */
  sockopt?: { level: number; optname: number };
  /** bpf only: the refused bpf() command (enum bpf_cmd: 0 MAP_CREATE, 2 MAP_UPDATE_ELEM, 7 OBJ_GET, 34 LINK_DETACH, …). */
  bpf?: { cmd: number };
}

/** A task that left the managed scope: cgroupId is where it was, toCgroupId where it went. */
export interface KernelEscapeRecord extends KernelRecordBase {
  kind: 'escape';
  toCgroupId: bigint;
  /** By clone3(CLONE_INTO_CGROUP), not a cgroup.procs write. */
  cloneInto: boolean;
}

export interface KernelDnsRecord extends KernelRecordBase {
  kind: 'dns';
  domainHash: bigint;
  family: 'ipv4' | 'ipv6';
  /** This record's answer address. */
  answer: string;
  resolverAddr: string;
  ttl: number;
  qtype: number;
  rcode: number;
  answerIndex: number;
  answerCount: number;
  qname: string;
  qnameTruncated: boolean;
  /** Not an answer to a query this socket asked: recorded, never cached. */
  forged: boolean;
  /** Why it was not cached ('ok' = believed). */
  rejected: KernelDnsRejected;
}

export interface KernelCountersRecord extends KernelRecordBase {
  kind: 'counters';
  counters: Record<KernelCounterName, bigint>;
  /** All 20 slots, including ones this version does not name. */
  slots: bigint[];
}

export type KernelRecord = KernelEgressRecord | KernelDnsRecord | KernelCountersRecord | KernelEscapeRecord;

export type KernelRecordErrorCode = 'short' | 'version' | 'kind' | 'enum';

export class KernelRecordError extends Error {
  override name = 'KernelRecordError';
  constructor(
    readonly code: KernelRecordErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const KIND_BY_VALUE = invert(KERNEL_KIND);
const REASON_BY_VALUE = invert(KERNEL_REASON);
const MODE_BY_VALUE = invert(KERNEL_MODE);
const REJECTED_BY_VALUE = invert(KERNEL_DNS_REJECTED);
const VERDICT_BY_VALUE: Record<number, KernelVerdict> = { 1: 'ALLOWED', 2: 'DENIED', 3: 'BYPASSED' };
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

function invert<T extends Record<string, number>>(o: T): Record<number, keyof T> {
  const r: Record<number, keyof T> = {};
  for (const k of Object.keys(o) as (keyof T)[]) r[o[k] as number] = k;
  return r;
}

function cstring(b: Uint8Array, at: number, max: number, dec: { decode(b: Uint8Array): string }): string {
  let end = at;
  while (end < at + max && b[end] !== 0) end++;
  return dec.decode(b.subarray(at, end));
}

/** RFC 5952 text for 16 bytes at `at`; IPv4-mapped addresses print as ::ffff:a.b.c.d. */
export function formatIpv6(b: Uint8Array, at: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[at + 2 * i]! << 8) | b[at + 2 * i + 1]!);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${formatIpv4(b, at + 12)}`;
  }
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (from: number, to: number) => g.slice(from, to).map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(0, 8) : `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}

export function formatIpv4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** The text of a record address field: KERNEL_AF_INET uses the first 4 bytes. */
export function formatKernelAddr(b: Uint8Array, at: number, family: number): string {
  return family === KERNEL_AF_INET ? formatIpv4(b, at) : formatIpv6(b, at);
}

/**
 * Decodes the record at `offset` of `buf` (a Buffer or any Uint8Array; nothing is copied but
 * strings). Throws KernelRecordError for a short buffer, an unknown version or kind, or an
 * out-of-range enum — a reader counts those as decode drops and moves on by KERNEL_RECORD_SIZE.
 */
export function decodeKernelRecord(buf: Uint8Array, offset = 0): KernelRecord {
  if (offset < 0 || buf.length - offset < KERNEL_RECORD_SIZE) {
    throw new KernelRecordError('short', `need ${KERNEL_RECORD_SIZE} bytes at offset ${offset}, have ${Math.max(0, buf.length - offset)}`);
  }
  const o = offset;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = buf[o]!;
  if (version !== KERNEL_RECORD_VERSION) {
    throw new KernelRecordError('version', `record version ${version}, this decoder reads ${KERNEL_RECORD_VERSION}`);
  }
  const kind = KIND_BY_VALUE[buf[o + 1]!];
  if (kind === undefined) throw new KernelRecordError('kind', `unknown record kind ${buf[o + 1]}`);

  const base: KernelRecordBase = {
    version,
    tsNs: v.getBigUint64(o + F.ts_ns[0], true),
    cgroupId: v.getBigUint64(o + F.cgroup_id[0], true),
    socketCookie: v.getBigUint64(o + F.socket_cookie[0], true),
    pid: v.getUint32(o + F.pid[0], true),
    tid: v.getUint32(o + F.tid[0], true),
    comm: cstring(buf, o + F.comm[0], KERNEL_COMM_LEN, latin1),
  };

  if (kind === 'counters') {
    const slots: bigint[] = [];
    for (let i = 0; i < KERNEL_COUNTER_SLOTS; i++) slots.push(v.getBigUint64(o + F['body.counters.value'][0] + 8 * i, true));
    for (let i = 0; i < KERNEL_COUNTERS_EXT[1] / 8; i++) slots.push(v.getBigUint64(o + KERNEL_COUNTERS_EXT[0] + 8 * i, true));
    const counters = {} as Record<KernelCounterName, bigint>;
    for (const [name, slot] of Object.entries(KERNEL_COUNTER) as [KernelCounterName, number][]) counters[name] = slots[slot]!;
    return { ...base, kind, counters, slots };
  }

  const flags = v.getUint32(o + F.flags[0], true);
  if (kind === 'escape') {
    return { ...base, kind, toCgroupId: v.getBigUint64(o + F['body.escape.to_cgroup_id'][0], true), cloneInto: (flags & KERNEL_FLAG.clone_into) !== 0 };
  }

  const familyNum = buf[o + F.family[0]]!;
  if (familyNum !== KERNEL_AF_INET && familyNum !== KERNEL_AF_INET6) throw new KernelRecordError('enum', `address family ${familyNum}`);
  const family = familyNum === KERNEL_AF_INET ? 'ipv4' : 'ipv6';
  const domainHash = v.getBigUint64(o + F.domain_hash[0], true);

  if (kind === 'dns') {
    const qnameLen = buf[o + F['body.dns.qname_len'][0]]!;
    return {
      ...base,
      kind,
      domainHash,
      family,
      answer: formatKernelAddr(buf, o + F.dst_addr[0], familyNum),
      resolverAddr: formatKernelAddr(buf, o + F.src_addr[0], familyNum),
      ttl: v.getUint32(o + F['body.dns.ttl'][0], true),
      qtype: v.getUint16(o + F['body.dns.qtype'][0], true),
      rcode: buf[o + F['body.dns.rcode'][0]]!,
      answerIndex: buf[o + F['body.dns.answer_index'][0]]!,
      answerCount: buf[o + F['body.dns.answer_count'][0]]!,
      qname: cstring(buf, o + F['body.dns.qname'][0], KERNEL_QNAME_LEN, utf8),
      qnameTruncated: (flags & KERNEL_FLAG.qname_trunc) !== 0 || qnameLen > KERNEL_QNAME_LEN,
      forged: (flags & KERNEL_FLAG.dns_forged) !== 0,
      rejected: REJECTED_BY_VALUE[buf[o + F['body.dns.rejected'][0]]!] ?? 'untrusted',
    };
  }

  const verdict = VERDICT_BY_VALUE[buf[o + F.verdict[0]]!];
  const reason = REASON_BY_VALUE[buf[o + F.reason[0]]!];
  const mode = MODE_BY_VALUE[buf[o + F.mode[0]]!];
  if (!verdict || !reason || !mode) {
    throw new KernelRecordError('enum', `verdict ${buf[o + 2]} / reason ${buf[o + 3]} / mode ${buf[o + 6]} out of range`);
  }
  const rec: KernelEgressRecord = {
    ...base,
    kind,
    verdict,
    reason,
    mode,
    audit: (flags & KERNEL_FLAG.audit) !== 0,
    defaultPolicy: (flags & KERNEL_FLAG.default_policy) !== 0,
    v4mapped: (flags & KERNEL_FLAG.v4mapped) !== 0,
    hostStale: (flags & KERNEL_FLAG.host_stale) !== 0,
    policyId: v.getUint32(o + F.policy_id[0], true),
    ruleId: v.getUint32(o + F.rule_id[0], true),
    domainHash,
    family,
    l4Proto: buf[o + F.l4_proto[0]]!,
    dstAddr: formatKernelAddr(buf, o + F.dst_addr[0], familyNum),
    dstPort: v.getUint16(o + F.dst_port[0], true),
    srcAddr: formatKernelAddr(buf, o + F.src_addr[0], familyNum),
    srcPort: v.getUint16(o + F.src_port[0], true),
  };
  if (kind === 'tcp_close' || kind === 'tcp_interim' || kind === 'udp_flow') {
    rec.flow = {
      bytesOut: v.getBigUint64(o + F['body.flow.bytes_out'][0], true),
      bytesIn: v.getBigUint64(o + F['body.flow.bytes_in'][0], true),
      durationNs: v.getBigUint64(o + F['body.flow.duration_ns'][0], true),
      packetsOut: v.getUint32(o + F['body.flow.packets_out'][0], true),
      packetsIn: v.getUint32(o + F['body.flow.packets_in'][0], true),
    };
  } else if (kind === 'sock_create') {
    rec.sock = { type: v.getUint32(o + F['body.sock.sock_type'][0], true), protocol: v.getUint32(o + F['body.sock.sock_protocol'][0], true) };
  } else if (kind === 'sockopt') {
    rec.sockopt = { level: v.getInt32(o + F['body.sockopt.level'][0], true), optname: v.getInt32(o + F['body.sockopt.optname'][0], true) };
  } else if (kind === 'bpf') {
    rec.bpf = { cmd: v.getUint32(o + F['body.bpf.cmd'][0], true) };
  }
  return rec;
}

/** Like decodeKernelRecord, without throwing. */
export function tryDecodeKernelRecord(
  buf: Uint8Array,
  offset = 0,
): { ok: true; record: KernelRecord } | { ok: false; error: KernelRecordError } {
  try {
    return { ok: true, record: decodeKernelRecord(buf, offset) };
  } catch (e) {
    if (e instanceof KernelRecordError) return { ok: false, error: e };
    throw e;
  }
}

/** Every whole record in `buf`, in order; a trailing partial record is an error. */
export function* decodeKernelRecords(buf: Uint8Array): Generator<KernelRecord> {
  if (buf.length % KERNEL_RECORD_SIZE !== 0) {
    throw new KernelRecordError('short', `${buf.length} bytes is not a whole number of ${KERNEL_RECORD_SIZE}-byte records`);
  }
  for (let o = 0; o < buf.length; o += KERNEL_RECORD_SIZE) yield decodeKernelRecord(buf, o);
}
