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

#endif
