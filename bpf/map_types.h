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
	__u64 _reserved[3]; /* part II: active flow timeout, udp idle window, ... */
};

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
 * Part II adds host rules keyed by (policy id, label-wise name hash) with the
 * same sluice_rule_value, and a (cgroup id, address) -> name hash cache.
 */
struct sluice_host_key {
	__u32 policy_id;
	__u32 match; /* exact / one label / any depth */
	__u64 name_hash;
};

/* Slots of the per-CPU `counters` array. Drops are counted where they happen. */
enum sluice_counter {
	SLUICE_C_GENERATED = 0,        /* records the kernel tried to emit */
	SLUICE_C_DROP_RINGBUF_FULL = 1, /* ...and could not: reserve failed */
	SLUICE_C_ALLOWED = 2,
	SLUICE_C_DENIED = 3,
	SLUICE_C_BYPASSED = 4,
	SLUICE_C_AUDIT = 5,
	/* 6..15 reserved (part II: DNS parsed / malformed, flow table full, ...) */
	SLUICE_C_SLOTS = 16,
};

#endif
