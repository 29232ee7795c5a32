// A kernel record's own event fields (everything but id/time/node/identity) as JSON members with
// a leading comma, written as bytes straight from the record into the message: `,"kind":"connect",…`.
// This runs for every record of a raw batch. Each constant run of the line (a member's name, the
// words an enum becomes, and their joins) is encoded once, here; numbers and addresses are written
// digit by digit; text an agent chose (comm, a DNS name) is escaped from its bytes. The members,
// their order and every value are the event contract: render-golden.test.ts pins them byte for byte.
import { formatIpv6, KERNEL_AF_INET, KERNEL_AF_INET6, KERNEL_FLAG } from '@sluice/contracts';
import { TextDecoder } from 'node:util';
import { Run, type ByteWriter } from './byte-writer.ts';
import { COMM_LEN, DNS_REJECTED, KIND, KIND_NAMES, OFF, PROTOS, QNAME_LEN, QTYPES, RCODES, REASONS, SOCK_TYPES, VERDICT_NAMES } from './kernel-layout.ts';

const enc = (s: string): Run => Run.latin1(s);

// Text that is not plain ASCII is decoded as the event always read it: comm as Latin-1 (the
// kernel's bytes, one character each), a DNS name as UTF-8.
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');
const fromLatin1 = (b: Uint8Array): string => latin1.decode(b);
const fromUtf8 = (b: Uint8Array): string => utf8.decode(b);

/** `,"kind":"<kind>","verdict":"<verdict>","audit":<bool>,"reason":"`, by kind, verdict byte (1–3) and audit. */
const KIND_VERDICT: Run[][][] = KIND_NAMES.map((k) =>
  VERDICT_NAMES.map((v) => [false, true].map((a) => enc(`,"kind":"${k}","verdict":"${v}","audit":${a},"reason":"`))),
);
/** `<reason>","rule_id":`, by reason byte. */
const REASON_RULE: Run[] = Array.from({ length: 256 }, (_, r) => enc(`${REASONS[r] ?? 'none'}","rule_id":`));
/** `","family":"<family>","l4_proto":"<proto>","dst_ip":"`, by family (0 ipv4, 1 ipv6) and l4 protocol byte. */
const FAMILY_PROTO_DST: Run[][] = ['ipv4', 'ipv6'].map((f) =>
  Array.from({ length: 256 }, (_, p) => enc(`","family":"${f}","l4_proto":"${PROTOS[p] ?? String(p)}","dst_ip":"`)),
);
/** `0`…`255` for dotted quads, four bytes an octet: its length, then its digits. */
const OCTETS = new Uint8Array(256 * 4);
for (let k = 0; k < 256; k++) {
  const d = String(k);
  OCTETS[k * 4] = d.length;
  for (let j = 0; j < d.length; j++) OCTETS[k * 4 + 1 + j] = d.charCodeAt(j);
}
const SOCK_TYPE_NAMES: Record<number, Run> = Object.fromEntries(Object.entries(SOCK_TYPES).map(([k, v]) => [k, enc(v)]));
const QTYPE_NAMES: Record<number, Run> = Object.fromEntries(Object.entries(QTYPES).map(([k, v]) => [k, enc(v)]));
const RCODE_NAMES = RCODES.map(enc);
const REJECTED = Array.from({ length: 256 }, (_, r) => enc(`,"rejected":"${DNS_REJECTED[r] ?? 'untrusted'}"`));

const POLICY_ID = enc(',"policy_id":');
const CGROUP_ID = enc(',"cgroup_id":"');
const PID = enc('","pid":');
const COMM = enc(',"comm":');
const TID = enc(',"tid":');
const COOKIE = enc(',"socket_cookie":"');
const DST_PORT = enc('","dst_port":');
const MAPPED = enc(',"ipv4_mapped":true');
const SRC_IP = enc(',"src_ip":"');
const SRC_PORT = enc('","src_port":');
const DOMAIN_HASH = enc(',"domain_hash":"');
const BYTES_OUT = enc(',"bytes_out":');
const BYTES_IN = enc(',"bytes_in":');
const DURATION = enc(',"duration_ms":');
const SOCK_TYPE = enc(',"sock_type":"');
const SOCK_PROTOCOL = enc('","sock_protocol":');
const TYPE = enc('type');
const BPF_CMD = enc(',"bpf_cmd":');
const QNAME = enc(',"qname":');
const QTYPE = enc(',"qtype":"');
const TYPE_UPPER = enc('TYPE');
const RCODE = enc('","rcode":"');
const RCODE_UPPER = enc('RCODE');
const NO_ANSWERS = enc('","answers":[],"ttl":');
const ANSWER = enc('","answers":["');
const TTL = enc('"],"ttl":');
const RESOLVER = enc(',"resolver_ip":"');
const FORGED_TRUE = enc(',"forged":true');
const FORGED_FALSE = enc(',"forged":false');
const QUOTE = 0x22;

/** Room the members of one record may take: ASCII text escaped at 6 bytes a byte, decoded text at 3. */
export const EGRESS_FIELDS_MAX = 1024;
export const DNS_FIELDS_MAX = 1024 + QNAME_LEN * 6;

/** The 16-byte address at `o` is all zero (four word loads, not sixteen byte compares). */
function zero16(v: DataView, o: number): boolean {
  return (v.getUint32(o, true) | v.getUint32(o + 4, true) | v.getUint32(o + 8, true) | v.getUint32(o + 12, true)) === 0;
}

function isZero(b: Uint8Array, o: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (b[o + i] !== 0) return false;
  return true;
}

function ipv4(w: ByteWriter, b: Uint8Array, o: number): void {
  const out = w.buf;
  let p = w.pos;
  for (let k = 0; k < 4; k++) {
    if (k > 0) out[p++] = 0x2e;
    const t = b[o + k]! * 4;
    const n = OCTETS[t]!;
    out[p++] = OCTETS[t + 1]!;
    if (n > 1) out[p++] = OCTETS[t + 2]!;
    if (n > 2) out[p++] = OCTETS[t + 3]!;
  }
  w.pos = p;
}

function addr(w: ByteWriter, b: Uint8Array, o: number, family: number): void {
  if (family === KERNEL_AF_INET) ipv4(w, b, o);
  else w.ascii(formatIpv6(b, o));
}

/** ::ffff:a.b.c.d → a.b.c.d: the kernel maps an IPv4 answer or resolver when the resolver spoke IPv6. */
function dnsAddr(w: ByteWriter, b: Uint8Array, o: number, family: number): void {
  if (family === KERNEL_AF_INET6 && isZero(b, o, 10) && b[o + 10] === 0xff && b[o + 11] === 0xff) ipv4(w, b, o + 12);
  else addr(w, b, o, family);
}

function u64(w: ByteWriter, v: DataView, at: number): void {
  w.u64(v.getUint32(at, true), v.getUint32(at + 4, true));
}

/** `,"cgroup_id":"…","pid":…,"comm":"…"`: the members every kind has. */
function task(w: ByteWriter, v: DataView, b: Uint8Array, o: number): void {
  w.run(CGROUP_ID);
  u64(w, v, o + OFF.cgroup);
  w.run(PID);
  w.uint(v.getUint32(o + OFF.pid, true));
  w.run(COMM);
  w.jsonCString(b, o + OFF.comm, COMM_LEN, fromLatin1);
}

/** The members of an egress record (connect, sendmsg, flows, sock_create, bind, sockopt, packet, bpf) at `o`; the adapter checked its header. */
export function writeEgressFields(w: ByteWriter, v: DataView, b: Uint8Array, o: number): void {
  const kind = b[o + OFF.kind]!;
  const family = b[o + OFF.family]!;
  const flags = v.getUint32(o + OFF.flags, true);
  w.run(KIND_VERDICT[kind]![b[o + OFF.verdict]!]![(flags & KERNEL_FLAG.audit) !== 0 ? 1 : 0]!);
  w.run(REASON_RULE[b[o + OFF.reason]!]!);
  w.uint(v.getUint32(o + OFF.ruleId, true));
  w.run(POLICY_ID);
  w.uint(v.getUint32(o + OFF.policyId, true));
  task(w, v, b, o);
  w.run(TID);
  w.uint(v.getUint32(o + OFF.tid, true));
  w.run(COOKIE);
  u64(w, v, o + OFF.cookie);
  w.run(FAMILY_PROTO_DST[family === KERNEL_AF_INET ? 0 : 1]![b[o + OFF.l4proto]!]!);
  addr(w, b, o + OFF.dst, family);
  w.run(DST_PORT);
  w.uint(v.getUint16(o + OFF.dport, true));
  if ((flags & KERNEL_FLAG.v4mapped) !== 0) w.run(MAPPED);
  if (!zero16(v, o + OFF.src)) {
    w.run(SRC_IP);
    addr(w, b, o + OFF.src, family);
    w.run(SRC_PORT);
    w.uint(v.getUint16(o + OFF.sport, true));
  }
  // dst_host and dst_host_stale are added at render, from the names the cgroup's DNS records taught.
  if (v.getUint32(o + OFF.domainHash, true) !== 0 || v.getUint32(o + OFF.domainHash + 4, true) !== 0) {
    w.run(DOMAIN_HASH);
    u64(w, v, o + OFF.domainHash);
    w.byte(QUOTE);
  }
  if (kind === KIND.tcp_close || kind === KIND.tcp_interim || kind === KIND.udp_flow) {
    w.run(BYTES_OUT);
    u64(w, v, o + OFF.bytesOut);
    w.run(BYTES_IN);
    u64(w, v, o + OFF.bytesIn);
    w.run(DURATION);
    // A double's shortest decimal, as the event always carried it (hi·2^32 + lo rounds once, as Number(bigint) does).
    w.ascii(String((v.getUint32(o + OFF.durationNs + 4, true) * 4294967296 + v.getUint32(o + OFF.durationNs, true)) / 1e6));
  } else if (kind === KIND.sock_create) {
    const t = v.getUint32(o + OFF.sockType, true);
    w.run(SOCK_TYPE);
    const name = SOCK_TYPE_NAMES[t];
    if (name) w.run(name);
    else {
      w.run(TYPE);
      w.uint(t);
    }
    w.run(SOCK_PROTOCOL);
    w.uint(v.getUint32(o + OFF.sockProtocol, true));
  } else if (kind === KIND.bpf) {
    w.run(BPF_CMD);
    w.uint(v.getUint32(o + OFF.bpfCmd, true));
  }
}

/**
 * The members of a DNS record at `o`: one A/AAAA answer of a response (dst = the answer, src =
 * the resolver), or none (all zero) for a response without one: NXDOMAIN, CNAME only, …
 */
export function writeDnsFields(w: ByteWriter, v: DataView, b: Uint8Array, o: number): void {
  const family = b[o + OFF.family]!;
  task(w, v, b, o);
  w.run(QNAME);
  w.jsonCString(b, o + OFF.dnsQname, QNAME_LEN, fromUtf8);
  w.run(QTYPE);
  const qtype = v.getUint16(o + OFF.dnsQtype, true);
  const qt = QTYPE_NAMES[qtype];
  if (qt) w.run(qt);
  else {
    w.run(TYPE_UPPER);
    w.uint(qtype);
  }
  w.run(RCODE);
  const rcode = b[o + OFF.dnsRcode]!;
  const rc = RCODE_NAMES[rcode];
  if (rc) w.run(rc);
  else {
    w.run(RCODE_UPPER);
    w.uint(rcode);
  }
  if (zero16(v, o + OFF.dst)) w.run(NO_ANSWERS);
  else {
    w.run(ANSWER);
    dnsAddr(w, b, o + OFF.dst, family);
    w.run(TTL);
  }
  w.uint(v.getUint32(o + OFF.dnsTtl, true));
  if (!zero16(v, o + OFF.src)) {
    w.run(RESOLVER);
    dnsAddr(w, b, o + OFF.src, family);
    w.byte(QUOTE);
  }
  const rejected = b[o + OFF.dnsRejected]!;
  if (rejected) {
    w.run((v.getUint32(o + OFF.flags, true) & KERNEL_FLAG.dns_forged) !== 0 ? FORGED_TRUE : FORGED_FALSE);
    w.run(REJECTED[rejected]!);
  }
}
