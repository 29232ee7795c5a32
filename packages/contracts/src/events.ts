// The attributed security events that flow on SLUICE_EVENTS and become OpenSearch documents.
// Field names are snake_case because they are also the document's `attributes.*` names.
import { z } from 'zod';
import { VERDICTS } from './verdict.ts';

/** u64 values (cgroup ids, cookies, hashes) travel as decimal strings: JSON numbers lose precision. */
export const u64String = z.string().regex(/^\d{1,20}$/, 'must be an unsigned 64-bit integer in decimal');

export const Attribution = z.enum(['docker', 'registered', 'unknown']);
export type Attribution = z.infer<typeof Attribution>;

/** Identity of the workload a cgroup belongs to. Label values are raw, never synthesised (D17). */
export const Identity = z.object({
  attribution: Attribution,
  agent: z.string().optional(),
  project: z.string().optional(),
  container_id: z.string().optional(),
  container_name: z.string().optional(),
  image: z.string().optional(),
});
export type Identity = z.infer<typeof Identity>;

/**
 * `bind` / `sockopt` / `packet`: a refused bind to port 53 or a resolver address, a refused
 * source-routing option, a dropped source-routed packet. `escape`: a task left the managed scope
 * (verdict BYPASSED: it is outside enforcement from then on; `to_cgroup_id` says where it went).
 * `bpf`: a bpf() call from inside the managed scope, refused (reason bpf_syscall; `bpf_cmd`).
 */
export const EventKind = z.enum(['connect', 'sendmsg', 'tcp_close', 'tcp_interim', 'udp_flow', 'sock_create', 'bind', 'sockopt', 'packet', 'escape', 'bpf', 'suppressed']);
export type EventKind = z.infer<typeof EventKind>;

/**
 * Why the kernel decided as it did (bpf/README.md). `host`: a host rule allowed the name the
 * cgroup resolved; `rule_port`: a rule's CIDR or host matched but not its ports/protocol, so the
 * attempt fell to the default (rule_id names that near-miss rule).
 */
export const MatchReason = z.enum([
  'rule', 'host', 'rule_port', 'default', 'resolver', 'loopback', 'bypass', 'raw_socket', 'learn', 'none',
  'dns_bind', 'source_route_opt', 'source_route', 'escape', 'bpf_syscall',
]);
export type MatchReason = z.infer<typeof MatchReason>;

export const EgressEvent = Identity.extend({
  /** node:boot:seq — stable through every stage, the sink's document _id. */
  id: z.string().min(1),
  time: z.iso.datetime(),
  node: z.string().min(1),
  kind: EventKind,
  verdict: z.enum(VERDICTS),
  /** learn mode: enforcement would have denied this. */
  audit: z.boolean(),
  reason: MatchReason,
  rule_id: z.number().int().nonnegative(),
  policy_id: z.number().int().nonnegative().optional(),
  cgroup_id: u64String,
  socket_cookie: u64String.optional(),
  pid: z.number().int().nonnegative(),
  tid: z.number().int().nonnegative().optional(),
  comm: z.string(),
  family: z.enum(['ipv4', 'ipv6']),
  l4_proto: z.string(),
  dst_ip: z.string(),
  dst_port: z.number().int().min(0).max(65535),
  src_ip: z.string().optional(),
  src_port: z.number().int().min(0).max(65535).optional(),
  ipv4_mapped: z.boolean().optional(),
  dst_host: z.string().optional(),
  dst_host_stale: z.boolean().optional(),
  domain_hash: u64String.optional(),
  bytes_in: z.number().int().nonnegative().optional(),
  bytes_out: z.number().int().nonnegative().optional(),
  duration_ms: z.number().nonnegative().optional(),
  /** sock_create: the socket's type (raw, dgram, …) and protocol number. */
  sock_type: z.string().optional(),
  sock_protocol: z.number().int().nonnegative().optional(),
  /** escape: the cgroup the task moved to. */
  to_cgroup_id: u64String.optional(),
  /** bpf: the refused bpf() command number (enum bpf_cmd). */
  bpf_cmd: z.number().int().nonnegative().optional(),
  /** Set on `suppressed` summaries from the rate limiter (P14). */
  suppressed_count: z.number().int().nonnegative().optional(),
  first_time: z.iso.datetime().optional(),
  last_time: z.iso.datetime().optional(),
});
export type EgressEvent = z.infer<typeof EgressEvent>;

export const DnsEvent = Identity.extend({
  id: z.string().min(1),
  time: z.iso.datetime(),
  node: z.string().min(1),
  cgroup_id: u64String,
  pid: z.number().int().nonnegative().optional(),
  comm: z.string().optional(),
  qname: z.string(),
  qtype: z.string(),
  rcode: z.string(),
  answers: z.array(z.string()),
  ttl: z.number().int().nonnegative(),
  resolver_ip: z.string().optional(),
  /** Not an answer to a query the receiving socket asked: recorded, never used for attribution. */
  forged: z.boolean().optional(),
  /** Why the answer was not believed: unsolicited, mismatch, wrong_socket, untrusted. */
  rejected: z.string().optional(),
});
export type DnsEvent = z.infer<typeof DnsEvent>;

export const AuditEvent = z.object({
  id: z.string().min(1),
  time: z.iso.datetime(),
  kind: z.string().regex(/^[a-z_]+$/),
  actor: z.string().min(1),
  reason: z.string().optional(),
  before_revision: z.number().int().nonnegative().optional(),
  after_revision: z.number().int().nonnegative().optional(),
  subject: z.record(z.string(), z.unknown()).optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
});
export type AuditEvent = z.infer<typeof AuditEvent>;

export const ContainerLifecycle = Identity.extend({
  /** `create`: announced before the process exists, so the policy is in place at its first instruction. */
  event: z.enum(['create', 'start', 'die', 'destroy', 'rename', 'network', 'snapshot']),
  time: z.iso.datetime(),
  node: z.string().min(1),
  container_id: z.string(),
  cgroup_id: u64String.optional(),
  cgroup_path: z.string().optional(),
  ips: z.array(z.string()),
  started_at: z.iso.datetime().optional(),
  /** Can open AF_PACKET sockets (CAP_NET_RAW kept, or privileged): the kernel hooks cannot stop it. */
  can_bypass_raw: z.boolean(),
});
export type ContainerLifecycle = z.infer<typeof ContainerLifecycle>;

export const DropStage = z.enum(['kernel', 'reader', 'attributor', 'learner', 'policy', 'sink']);
export const DropNotification = z.object({
  time: z.iso.datetime(),
  node: z.string(),
  stage: DropStage,
  interval_s: z.number().positive(),
  /** reason -> count dropped during the interval. */
  drops: z.record(z.string(), z.number().int().nonnegative()),
  totals: z.record(z.string(), z.number().int().nonnegative()),
});
export type DropNotification = z.infer<typeof DropNotification>;

export const HealthEvent = z.object({
  time: z.iso.datetime(),
  node: z.string(),
  service: z.string(),
  status: z.enum(['ok', 'degraded', 'unavailable']),
  code: z.string(),
  message: z.string(),
});
export type HealthEvent = z.infer<typeof HealthEvent>;
