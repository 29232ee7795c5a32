/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The kernel record: the only layout the ring buffer carries, shared by every
 * kind so a reader can walk the stream in fixed strides and reject anything it
 * does not understand by looking at two bytes. Defined once here; the
 * TypeScript decoder (packages/contracts/src/kernel-record.ts) is checked
 * against this file by compiling bpf/test/layout.c (see kernel-record.layout.test.ts).
 *
 * Encoding: integers little-endian (host order on every target we run on;
 * the layout test fails on anything else), addresses in network order in a
 * 16-byte field (AF_INET: the 4 bytes first, the rest zero; AF_INET6: as
 * given, so an IPv4-mapped destination stays ::ffff:a.b.c.d with
 * SLUICE_F_V4MAPPED set), ports in host order.
 *
 * 256 bytes: large enough for a DNS body with a 120-character name, small
 * enough that 1.5M records/s is ~384 MB/s through a pipe. Bump
 * SLUICE_RECORD_VERSION on any change; readers refuse other versions.
 */
#ifndef SLUICE_RECORD_H
#define SLUICE_RECORD_H

#include <linux/types.h>

#define SLUICE_RECORD_VERSION 1
#define SLUICE_RECORD_SIZE 256
#define SLUICE_COMM_LEN 16
#define SLUICE_QNAME_LEN 120
#define SLUICE_COUNTER_SLOTS 16

enum sluice_kind {
	SLUICE_KIND_CONNECT = 1,     /* connect4/6 verdict */
	SLUICE_KIND_SENDMSG = 2,     /* sendmsg4/6 verdict (unconnected UDP) */
	SLUICE_KIND_TCP_CLOSE = 3,   /* part II: flow body filled at close */
	SLUICE_KIND_TCP_INTERIM = 4, /* part II: long flow, active timeout */
	SLUICE_KIND_UDP_FLOW = 5,    /* part II: aggregated per (socket, dst) */
	SLUICE_KIND_DNS = 6,         /* part II: one record per A/AAAA answer */
	SLUICE_KIND_SOCK_CREATE = 7, /* raw / ping socket creation */
	SLUICE_KIND_COUNTERS = 8,    /* written by `sluice-bpf stream`, never by the kernel */
	SLUICE_KIND_BIND = 9,        /* bind() refused (port 53 / a resolver address) */
	SLUICE_KIND_SOCKOPT = 10,    /* source-routing socket option refused */
	SLUICE_KIND_PACKET = 11,     /* egress packet carrying a source route, dropped */
	SLUICE_KIND_ESCAPE = 12,     /* a task left the managed scope (no verdict: detected, not prevented) */
	SLUICE_KIND_BPF = 13,        /* bpf() from inside the managed scope, refused (tamper.bpf.c) */
	SLUICE_KIND_MAX = 13,
};

enum sluice_verdict {
	SLUICE_VERDICT_NONE = 0, /* DNS and counters records */
	SLUICE_VERDICT_ALLOWED = 1,
	SLUICE_VERDICT_DENIED = 2,
	SLUICE_VERDICT_BYPASSED = 3,
};

/* Why the verdict was reached; with learn mode, the reason enforcement would have used. */
enum sluice_reason {
	SLUICE_REASON_NONE = 0,
	SLUICE_REASON_RULE = 1,      /* a CIDR rule allowed it (rule_id) */
	SLUICE_REASON_DEFAULT = 2,   /* nothing matched: the policy's default deny */
	SLUICE_REASON_RESOLVER = 3,  /* DNS to an allowed resolver (rule_id) */
	SLUICE_REASON_LOOPBACK = 4,  /* policy allows loopback */
	SLUICE_REASON_BYPASS = 5,    /* unexpired bypass entry */
	SLUICE_REASON_RAW = 6,       /* raw IP / ping socket */
	SLUICE_REASON_HOST = 7,      /* part II: host rule (rule_id) */
	SLUICE_REASON_RULE_PORT = 8, /* denied: a rule's CIDR matched, not its ports/proto (rule_id = first such rule) */
	SLUICE_REASON_DNS_BIND = 9,  /* bind to port 53 or to a resolver address: could forge answers */
	SLUICE_REASON_SRCROUTE_OPT = 10, /* IP_OPTIONS / IPV6_RTHDR and kin */
	SLUICE_REASON_SRCROUTE = 11, /* a packet with an LSRR/SSRR option or an IPv6 routing header */
	SLUICE_REASON_BPF = 12,      /* bpf() from the managed scope: could detach or rewrite enforcement */
};

enum sluice_mode {
	SLUICE_MODE_ENFORCE = 0, /* zero so an unset entry fails closed */
	SLUICE_MODE_LEARN = 1,
};

/* flags */
#define SLUICE_F_AUDIT (1u << 0)          /* learn mode: enforcement would have denied */
#define SLUICE_F_V4MAPPED (1u << 1)       /* AF_INET6 socket, ::ffff:a.b.c.d destination */
#define SLUICE_F_DEFAULT_POLICY (1u << 2) /* cgroup had no entry: the default policy applied */
#define SLUICE_F_HOST_STALE (1u << 3)     /* part II: domain attribution past its TTL */
#define SLUICE_F_QNAME_TRUNC (1u << 4)    /* part II: qname longer than SLUICE_QNAME_LEN */
#define SLUICE_F_DNS_FORGED (1u << 5)     /* DNS answer to no query of this socket: not believed (body dns.rejected) */
#define SLUICE_F_CLONE_INTO (1u << 6)     /* escape by clone3(CLONE_INTO_CGROUP), not a cgroup.procs write */

struct sluice_flow_body { /* TCP_CLOSE, TCP_INTERIM, UDP_FLOW */
	__u64 bytes_out;
	__u64 bytes_in;
	__u64 duration_ns;
	__u32 packets_out;
	__u32 packets_in;
};

struct sluice_sock_body { /* SOCK_CREATE */
	__u32 sock_type;
	__u32 sock_protocol;
};

struct sluice_sockopt_body { /* SOCKOPT */
	__s32 level;
	__s32 optname;
};

struct sluice_escape_body { /* ESCAPE: cgroup_id is where the task was, this is where it went */
	__u64 to_cgroup_id;
};

/* BPF body cmd values past enum bpf_cmd: a bpffs change refused, no bpf() call. Unlinking a pin
 * drops its reference, and a link's last reference going detaches it: no bpf() needed. */
#define SLUICE_BPF_OP_UNLINK 0x10000u /* unlink/rmdir in a bpffs */
#define SLUICE_BPF_OP_RENAME 0x10001u /* rename into or out of a bpffs */

struct sluice_bpf_body { /* BPF: the refused bpf() command (enum bpf_cmd), or SLUICE_BPF_OP_* */
	__u32 cmd;
};

struct sluice_dns_body { /* DNS; dst_addr/family carry this record's answer address */
	__u32 ttl;
	__u16 qtype;
	__u8 rcode;
	__u8 answer_index;
	__u8 answer_count;
	__u8 qname_len; /* full length; > SLUICE_QNAME_LEN means truncated (hash covers all of it) */
	__u8 rejected;  /* enum sluice_dns_rejected: why the answer was not cached (0 = believed) */
	__u8 _pad[5];
	char qname[SLUICE_QNAME_LEN]; /* lowercased dotted text, NUL padded */
};

struct sluice_counters_body { /* COUNTERS: a snapshot of the kernel counters map */
	__u64 value[SLUICE_COUNTER_SLOTS];
};

/* COUNTERS records carry slots 16..19 (the `counters_ext` map) in the bytes of dst_addr and
 * src_addr, unused by that kind: 4 x u64 at this offset. */
#define SLUICE_COUNTERS_EXT_OFF 64
#define SLUICE_COUNTERS_EXT_SLOTS 4

struct sluice_record {
	__u8 version;
	__u8 kind;
	__u8 verdict;
	__u8 reason;
	__u8 family;   /* AF_INET (2) / AF_INET6 (10): the socket's family */
	__u8 l4_proto; /* IPPROTO_TCP / IPPROTO_UDP / ... */
	__u8 mode;     /* enum sluice_mode in effect */
	__u8 _pad0;
	__u32 flags;
	__u32 policy_id;
	__u64 ts_ns; /* bpf_ktime_get_boot_ns(): same clock as bypass expiries */
	__u64 cgroup_id;
	__u64 socket_cookie;
	__u32 pid; /* tgid */
	__u32 tid;
	__u32 rule_id;
	__u32 _reserved0;
	__u64 domain_hash; /* part II; 0 = no attribution */
	__u8 dst_addr[16];
	__u8 src_addr[16];
	__u16 dst_port;
	__u16 src_port;
	__u32 _reserved1;
	char comm[SLUICE_COMM_LEN];
	union {
		struct sluice_flow_body flow;
		struct sluice_sock_body sock;
		struct sluice_sockopt_body sockopt;
		struct sluice_escape_body escape;
		struct sluice_bpf_body bpf;
		struct sluice_dns_body dns;
		struct sluice_counters_body counters;
		__u8 raw[136];
	} body;
};

_Static_assert(sizeof(struct sluice_record) == SLUICE_RECORD_SIZE, "record size is part of the contract");

/*
 * `stream --packed` writes each record as a u32 LE kept length L, then the record's first L bytes:
 * the record without its trailing zero bytes, L a multiple of 4 and at least
 * SLUICE_PACKED_MIN_KEEP (the header up to comm, which the reader checks before it believes a
 * record: it resynchronises on it after bytes that are not records). The SLUICE_RAW packed body is
 * the same form, so the reader copies runs of records into a batch as they come.
 */
#define SLUICE_PACKED_HEADER 4
#define SLUICE_PACKED_MIN_KEEP 104
_Static_assert(__builtin_offsetof(struct sluice_record, comm) == SLUICE_PACKED_MIN_KEEP && SLUICE_PACKED_MIN_KEEP % 4 == 0,
	       "the packed stream keeps the whole header");
_Static_assert(__builtin_offsetof(struct sluice_record, dst_addr) == SLUICE_COUNTERS_EXT_OFF &&
		       __builtin_offsetof(struct sluice_record, dst_port) == SLUICE_COUNTERS_EXT_OFF + 8 * SLUICE_COUNTERS_EXT_SLOTS,
	       "extra counter slots fill dst_addr and src_addr exactly");

#endif
