/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Counting and emitting records. Every record the kernel means to emit is
 * counted as generated before the reserve, and every failed reserve as a
 * drop, so generated == delivered + dropped holds exactly. Increments are
 * atomic even on per-CPU slots: cgroup programs run with migration (not
 * preemption) disabled, so two tasks can interleave on one CPU.
 */
#ifndef SLUICE_EMIT_H
#define SLUICE_EMIT_H

#include "decide.h"

static __always_inline void sluice_count(__u32 slot)
{
	__u64 *v;
	if (slot < SLUICE_C_SLOTS) {
		v = bpf_map_lookup_elem(&counters, &slot);
	} else {
		__u32 ext = slot - SLUICE_C_SLOTS;
		v = bpf_map_lookup_elem(&counters_ext, &ext);
	}
	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline void sluice_count_decision(const struct sluice_decision *d)
{
	if (d->verdict == SLUICE_VERDICT_ALLOWED)
		sluice_count(SLUICE_C_ALLOWED);
	else if (d->verdict == SLUICE_VERDICT_DENIED)
		sluice_count(SLUICE_C_DENIED);
	else if (d->verdict == SLUICE_VERDICT_BYPASSED)
		sluice_count(SLUICE_C_BYPASSED);
	if (d->flags & SLUICE_F_AUDIT)
		sluice_count(SLUICE_C_AUDIT);
	if (d->reason == SLUICE_REASON_HOST && d->verdict == SLUICE_VERDICT_ALLOWED)
		sluice_count(SLUICE_C_HOST_ALLOWED);
}

/*
 * Waking the reader for every record costs a context switch per connect (it
 * doubled the cost of a loopback connect, measured). The reader polls every
 * few ms anyway, so only wake it when a quarter of the ring is used, early
 * enough that a burst cannot overflow while it sleeps.
 */
static __always_inline void sluice_submit(struct sluice_record *r)
{
	__u64 used = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 size = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE);
	bpf_ringbuf_submit(r, used > size / 4 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/*
 * Reserve a zeroed record and fill what every kernel record shares: the
 * decision, the time and the cgroup. Counted as generated first, as a drop
 * when the ring is full.
 */
static __always_inline struct sluice_record *sluice_record_reserve(__u8 kind, __u64 cgid,
								    const struct sluice_decision *d)
{
	sluice_count(SLUICE_C_GENERATED);
	struct sluice_record *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		sluice_count(SLUICE_C_DROP_RINGBUF_FULL);
		return 0;
	}
	__builtin_memset(r, 0, sizeof(*r));
	r->version = SLUICE_RECORD_VERSION;
	r->kind = kind;
	r->verdict = d->verdict;
	r->reason = d->reason;
	r->mode = d->mode;
	r->flags = d->flags;
	r->policy_id = d->policy_id;
	r->rule_id = d->rule_id;
	r->domain_hash = d->domain_hash;
	r->ts_ns = bpf_ktime_get_boot_ns();
	r->cgroup_id = cgid;
	return r;
}

/* A record about the current task's own attempt. */
static __always_inline struct sluice_record *sluice_record_begin(__u8 kind, __u64 cgid,
								  const struct sluice_decision *d)
{
	struct sluice_record *r = sluice_record_reserve(kind, cgid, d);
	if (!r)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	r->pid = pid_tgid >> 32;
	r->tid = (__u32)pid_tgid;
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	return r;
}

/*
 * A flow record (tcp_close / tcp_interim / udp_flow) from the state saved at the
 * attempt: these are emitted from sock_ops, timers and softirq, where the
 * current task is not the socket's owner (and the current-task helpers may not
 * be callable), so task and destination come from the saved info.
 */
static __always_inline struct sluice_record *sluice_flow_record_begin(__u8 kind, const struct sluice_flow_info *fi,
								       __u64 cookie)
{
	const struct sluice_decision d = {
		.domain_hash = fi->domain_hash,
		.policy_id = fi->policy_id,
		.rule_id = fi->rule_id,
		.flags = fi->flags,
		.verdict = fi->verdict,
		.reason = fi->reason,
		.mode = fi->mode,
	};
	struct sluice_record *r = sluice_record_reserve(kind, fi->cgroup_id, &d);
	if (!r)
		return 0;
	r->socket_cookie = cookie;
	r->pid = fi->pid;
	r->tid = fi->tid;
	r->family = fi->family;
	r->l4_proto = fi->l4_proto;
	r->dst_port = fi->dst_port;
	if (fi->family == SLUICE_AF_INET6)
		__builtin_memcpy(r->dst_addr, fi->dst_addr, 16);
	else
		__builtin_memcpy(r->dst_addr, &fi->dst_addr[12], 4);
	__builtin_memcpy(r->comm, fi->comm, sizeof(r->comm));
	return r;
}

#endif
