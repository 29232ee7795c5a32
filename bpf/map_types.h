/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Keys, values and limits of the pinned maps, shared by the programs and the
 * sluice-bpf helper. Map *definitions* live in maps.h (BPF side only).
 */
#ifndef SLUICE_MAP_TYPES_H
#define SLUICE_MAP_TYPES_H

#include <linux/types.h>

#define SLUICE_MAX_CGROUPS 65536
#define SLUICE_MAX_POLICIES 4096
#define SLUICE_MAX_RULE_ENTRIES 262144
#define SLUICE_MAX_RESOLVERS 4096
#define SLUICE_MAX_RANGES 16
#define SLUICE_DEFAULT_RINGBUF (4u << 20)
#define SLUICE_DNS_PORT 53

/* Per-cgroup entry. Policies are immutable once written; a change is a new
 * policy id followed by one atomic flip of this 8-byte value. */
struct sluice_cgroup_entry {
	__u32 policy_id;
	__u8 mode; /* enum sluice_mode */
	__u8 _pad[3];
};

/* config[0]: what a cgroup under the managed scope gets without an entry.
 * All-zero (policy 0, enforce) is the fail-closed default: policy 0 is
 * reserved and can never hold rules, so it denies everything. */
struct sluice_config {
	__u32 default_policy_id;
	__u8 default_mode;
	__u8 _pad[3];
	__u64 active_timeout_ns; /* TCP interim record past this age; 0 = SLUICE_DEFAULT_ACTIVE_NS */
	__u64 udp_idle_ns;       /* UDP flow record after this much silence; 0 = SLUICE_DEFAULT_UDP_IDLE_NS */
	__u64 _reserved;
};

#define SLUICE_DEFAULT_ACTIVE_NS (300ull * 1000000000ull) /* 5 min, as IPFIX exporters do */
#define SLUICE_DEFAULT_UDP_IDLE_NS (10ull * 1000000000ull)

#define SLUICE_POLICY_LOOPBACK (1u << 0) /* 127/8, ::1, 0.0.0.0, :: allowed */

/* policies[id]: presence means "this policy is complete and may be referenced". */
struct sluice_policy {
	__u32 flags;
	__u32 _reserved;
};

struct sluice_bypass {
	__u64 expires_boot_ns; /* compared with bpf_ktime_get_boot_ns() in the kernel */
};

/*
 * CIDR rules: one LPM trie for every policy and both families. The key is
 * (policy id, address as 16 bytes) with IPv4 stored IPv4-mapped
 * (::ffff:a.b.c.d, prefix + 96), so connect4 and a mapped destination from
 * connect6 look up the very same entry: the IPv4 decision by construction,
 * not by keeping two rule copies in sync.
 */
struct sluice_rule_key {
	__u32 prefixlen; /* 32 (policy id) + 128-bit address prefix length */
	__u32 policy_id;
	__u8 addr[16];
};

struct sluice_port_range {
	__u16 lo;
	__u16 hi;
	__u8 proto; /* 0 = any, IPPROTO_TCP, IPPROTO_UDP */
	__u8 _pad[3];
	__u32 rule_id;
};

/*
 * An LPM lookup returns exactly one entry (the longest prefix), so an entry
 * must carry every port range of every rule whose CIDR contains it:
 * `sluice-bpf apply` computes that closure per policy. Ranges carry their own
 * rule id so the record names the rule that actually matched. 16 ranges keep
 * the kernel loop short and bounded; apply rejects a policy that needs more
 * for one prefix (split the CIDR or merge ports).
 */
struct sluice_rule_value {
	__u32 count;
	__u32 _reserved;
	struct sluice_port_range range[SLUICE_MAX_RANGES];
};

/* Allowed DNS resolvers (TCP and UDP port 53) per policy; value = rule id. */
struct sluice_resolver_key {
	__u32 policy_id;
	__u8 addr[16]; /* IPv4 mapped, as for rules */
};

/*
 * Host rules: (policy id, match kind, name hash) -> the same port ranges as a
 * CIDR entry. The name hash is label-wise (name_hash.h), so the kernel can
 * look up every suffix of a resolved name: `*.example.test` is the ONE entry
 * of hash("example.test"), `**.example.test` the ANY entry of the same hash.
 */
enum sluice_host_match {
	SLUICE_HOST_EXACT = 1, /* api.example.test */
	SLUICE_HOST_ONE = 2,   /* *.example.test: exactly one more label */
	SLUICE_HOST_ANY = 3,   /* **.example.test: one or more labels, never the apex */
};

struct sluice_host_key {
	__u32 policy_id;
	__u32 match; /* enum sluice_host_match */
	__u64 name_hash;
};

#define SLUICE_MAX_HOST_RULES 65536
/* `**.` bases may have at most this many labels: the cache keeps that many suffix hashes. */
#define SLUICE_HOST_DEPTH 8
#define SLUICE_MAX_DNS_CACHE 65536

/* dns_cache key: the cgroup that resolved, and one answer address (IPv4 mapped). */
struct sluice_dns_key {
	__u64 cgroup_id;
	__u8 addr[16];
};

/* The name an address was resolved from, as the hashes connect needs. */
struct sluice_dns_name {
	__u64 full;   /* hash(name) */
	__u64 parent; /* hash(name minus its first label); 0 for a one-label name */
	__u64 suffix[SLUICE_HOST_DEPTH]; /* suffix[j-1] = hash(last j labels), j < nlabels; 0 beyond */
	__u64 expires_boot_ns; /* answer time + TTL; past it the name stays, flagged stale */
	__u32 nlabels;
	__u32 _pad;
};

/*
 * Per-socket flow state (socket storage), written by connect/sendmsg in
 * process context, so the close record (sock_ops, often softirq) and the UDP
 * flush (a timer) still name the process and the decision.
 */
struct sluice_flow_info {
	__u64 cgroup_id;
	__u64 start_ns;
	__u64 domain_hash;
	__u32 policy_id;
	__u32 rule_id;
	__u32 flags;
	__u32 pid;
	__u32 tid;
	__u8 verdict;
	__u8 reason;
	__u8 mode;
	__u8 family; /* the socket's */
	__u8 l4_proto;
	__u8 _pad[3];
	__u16 dst_port;
	__u16 _pad2;
	__u8 dst_addr[16]; /* IPv4 mapped */
	char comm[16];
};

/* TCP: the info plus what the close record needs to subtract and report. */
struct sluice_tcp_flow {
	struct sluice_flow_info info;
	__u64 last_report_ns; /* start or the last interim record */
	__u64 reported_in;    /* sequence-space bytes already reported by interim records */
	__u64 reported_out;
	__u64 rcvd_at_fw2;    /* bytes_received on entering FIN_WAIT2 */
	__u32 segs_in_reported;
	__u32 segs_out_reported;
	__u8 fin_in;          /* the peer's FIN is in bytes_received */
	__u8 fin_out;         /* our FIN is in bytes_acked */
	__u8 established;     /* the SYN is in bytes_acked */
	__u8 started;         /* sock_ops saw TCP_CONNECT_CB: it will record the flow at close */
	__u8 _pad[4];
};

/* UDP aggregation: per (socket, destination), flushed by a timer after the idle window. */
struct sluice_udp_key {
	__u64 cookie;
	__u8 addr[16]; /* IPv4 mapped */
	__u16 port;
	__u8 _pad[6];
};

#define SLUICE_MAX_UDP_FLOWS 65536

/* Slots of the per-CPU `counters` array. Drops are counted where they happen. */
enum sluice_counter {
	SLUICE_C_GENERATED = 0,        /* records the kernel tried to emit */
	SLUICE_C_DROP_RINGBUF_FULL = 1, /* ...and could not: reserve failed */
	SLUICE_C_ALLOWED = 2,
	SLUICE_C_DENIED = 3,
	SLUICE_C_BYPASSED = 4,
	SLUICE_C_AUDIT = 5,
	SLUICE_C_DNS_ANSWERS = 6,      /* DNS responses parsed (records emitted per answer) */
	SLUICE_C_DNS_MALFORMED = 7,    /* DNS responses rejected by the parser (nothing attributed) */
	SLUICE_C_DNS_UNTRUSTED = 8,    /* answers from a server that is no resolver of the cgroup's policy */
	SLUICE_C_DNS_PARTIAL = 9,      /* responses longer than the parse buffer: answers beyond it unread */
	SLUICE_C_FLOW_NO_STORAGE = 10, /* flow state could not be kept: a connect/sendmsg record instead */
	SLUICE_C_UDP_TABLE_FULL = 11,  /* UDP aggregation table full: a sendmsg record instead */
	SLUICE_C_HOST_ALLOWED = 12,    /* verdicts decided by a host rule */
	/* DNS answers no query of the receiving socket asked for: recorded (flagged forged), never cached */
	SLUICE_C_DNS_UNSOLICITED = 13, /* the socket asked that server nothing (outstanding) */
	SLUICE_C_DNS_MISMATCH = 14,    /* it asked that server, but not this id / question (or already answered) */
	SLUICE_C_DNS_WRONG_SOCKET = 15, /* another socket asked exactly this */
	SLUICE_C_SLOTS = 16,           /* slots of `counters`; the ones below live in `counters_ext` */
	SLUICE_C_BIND_DENIED = 16,     /* bind() to port 53 or a resolver address refused */
	SLUICE_C_SOCKOPT_DENIED = 17,  /* source-routing socket option refused */
	SLUICE_C_SRCROUTE_DROPPED = 18, /* egress packet carrying a source route dropped */
	SLUICE_C_ESCAPES = 19,         /* a task left the managed scope */
	SLUICE_C_BPF_DENIED = 20,      /* bpf() from the managed scope refused (not in COUNTERS records: stats only) */
	SLUICE_C_ALL_SLOTS = 32,
};

/*
 * Outstanding DNS queries, recorded at cgroup_skb egress and consumed by the answer at
 * ingress (dns.h). One LRU map, three kinds of entry (key.kind):
 *   QUERY  (cookie, resolver, txid, qtype, qhash) -> time asked; the one an answer must match
 *   SOCKET (cookie, resolver)                      -> time asked; "this socket asked that server"
 *   ASKED  (resolver, txid, qtype, qhash)          -> cookie of the socket that asked
 * Only QUERY decides; the other two name why an answer was refused.
 */
enum sluice_dnsq_kind {
	SLUICE_DNSQ_QUERY = 1,
	SLUICE_DNSQ_SOCKET = 2,
	SLUICE_DNSQ_ASKED = 3,
};

struct sluice_dnsq_key {
	__u64 cookie;
	__u64 qhash;
	__u8 addr[16]; /* the resolver as the socket addressed it (IPv4 mapped) */
	__u16 txid;
	__u16 qtype;
	__u32 kind;
};

#define SLUICE_MAX_DNS_QUERIES 65536
#define SLUICE_DNSQ_TIMEOUT_NS (30ull * 1000000000ull) /* an answer later than this is unsolicited */

/* Why a DNS answer was not believed (record body dns.rejected). */
enum sluice_dns_rejected {
	SLUICE_DNS_OK = 0,
	SLUICE_DNS_UNSOLICITED = 1,
	SLUICE_DNS_MISMATCH = 2,
	SLUICE_DNS_WRONG_SOCKET = 3,
	SLUICE_DNS_UNTRUSTED = 4, /* from a server that is no resolver of the policy */
};

#endif
