// Where each field of a kernel record sits (bpf/record.h, through @sluice/contracts' offsets, which
// a test keeps equal to the C) and the words its enums become in an event. Shared by the adapter
// (kernel-adapter.ts: what a record is) and the field writer (fields-writer.ts: its JSON members).
import { KERNEL_KIND, KERNEL_RECORD_FIELDS as F, KERNEL_RECORD_SIZE, KERNEL_RECORD_VERSION, KIND_SUPPRESSED, type Verdict } from '@sluice/contracts';

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

export const COMM_LEN = 16;
export const QNAME_LEN = 120;

export const KIND = { ...KERNEL_KIND, suppressed: KIND_SUPPRESSED } as const;
export const KIND_NAMES = ['', 'connect', 'sendmsg', 'tcp_close', 'tcp_interim', 'udp_flow', 'dns', 'sock_create', 'counters', 'bind', 'sockopt', 'packet', 'escape', 'bpf'] as const;
export const VERDICT_NAMES: ReadonlyArray<Verdict | undefined> = [undefined, 'ALLOWED', 'DENIED', 'BYPASSED'];
// Indexed by the kernel's reason byte (KERNEL_REASON): the words are the same as MatchReason's.
export const REASONS = ['none', 'rule', 'default', 'resolver', 'loopback', 'bypass', 'raw_socket', 'host', 'rule_port', 'dns_bind', 'source_route_opt', 'source_route', 'bpf_syscall'] as const;
export const SOCK_TYPES: Record<number, string> = { 1: 'stream', 2: 'dgram', 3: 'raw', 5: 'seqpacket' };
export const DNS_REJECTED = ['ok', 'unsolicited', 'mismatch', 'wrong_socket', 'untrusted'];
export const PROTOS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 255: 'raw' };
export const QTYPES: Record<number, string> = { 1: 'A', 5: 'CNAME', 28: 'AAAA', 65: 'HTTPS' };
export const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
