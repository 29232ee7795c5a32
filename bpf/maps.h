/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The pinned maps. Every program object includes this header; pinning by
 * name makes all objects (and every reload) share one instance under the
 * pin directory, so reloading never resets policy or counters.
 */
#ifndef SLUICE_MAPS_H
#define SLUICE_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "map_types.h"
#include "record.h"

/* NO_PREALLOC: elements are freed after an RCU grace period, so a program
 * never reads an entry that a concurrent update is recycling. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_CGROUPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct sluice_cgroup_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cgroup_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_POLICIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct sluice_policy);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policies SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_CGROUPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct sluice_bypass);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bypass SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_MAX_RULE_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* required for LPM tries */
	__type(key, struct sluice_rule_key);
	__type(value, struct sluice_rule_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_RESOLVERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sluice_resolver_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} resolvers SEC(".maps");

/* max_entries is set by `sluice-bpf load --ringbuf-size` before loading. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SLUICE_DEFAULT_RINGBUF);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_C_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

/* Slots SLUICE_C_SLOTS.. of the counters: a second map, so a pinned `counters` of an older
 * build (16 slots) is reused unchanged by a reload. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_C_ALL_SLOTS - SLUICE_C_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters_ext SEC(".maps");

/* Outstanding DNS queries (map_types.h struct sluice_dnsq_key). LRU: a flood of queries
 * evicts the oldest, whose late answers then count as unsolicited. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_MAX_DNS_QUERIES);
	__type(key, struct sluice_dnsq_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dns_queries SEC(".maps");

/* The managed scopes (`attach` adds, `detach` removes): cgroup id -> 1. Only the escape
 * detector needs them; the cgroup programs are attached to the scopes themselves. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} scopes SEC(".maps");

/* Host rules (apply `host`): (policy, match kind, name hash) -> port ranges. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_HOST_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sluice_host_key);
	__type(value, struct sluice_rule_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} host_rules SEC(".maps");

/* (cgroup, answer address) -> name, filled from DNS answers before they reach the
 * socket. LRU bounds memory: the least recently used attribution goes first. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_MAX_DNS_CACHE);
	__type(key, struct sluice_dns_key);
	__type(value, struct sluice_dns_name);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dns_cache SEC(".maps");

/* Per-socket flow state; dies with the socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sluice_tcp_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flows SEC(".maps");

struct sluice_udp_flow {
	struct bpf_timer timer; /* fires after the idle window; re-armed while traffic continues */
	struct sluice_flow_info info;
	__u64 last_ns;
	__u64 bytes_out;
	__u64 bytes_in;
	__u32 packets_out;
	__u32 packets_in;
};

/* Not LRU: an evicted aggregate would vanish uncounted. When full, the attempt gets
 * its own record instead (counted as udp_table_full). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_UDP_FLOWS);
	__type(key, struct sluice_udp_key);
	__type(value, struct sluice_udp_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} udp_flows SEC(".maps");

#endif
