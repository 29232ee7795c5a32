/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Flow state shared by the programs that start flows (connect/sendmsg), count
 * them (cgroup_skb) and end them (sock_ops, timers). Semantics (D7/D29):
 * DENIED is recorded at the attempt; ALLOWED/BYPASSED TCP once at close (and
 * as interim records past the active timeout); ALLOWED/BYPASSED UDP
 * aggregated per (socket, destination) and recorded after an idle window.
 * Byte and packet figures of a record are the amounts since the previous
 * record of the same flow, so the records of one flow sum to its total;
 * duration_ns is the flow's age at the record.
 */
#ifndef SLUICE_FLOW_H
#define SLUICE_FLOW_H

#include "emit.h"

#define SLUICE_CLOCK_BOOTTIME 7

static __always_inline __u64 sluice_cfg_active_ns(void)
{
	__u32 zero = 0;
	struct sluice_config *c = bpf_map_lookup_elem(&config, &zero);
	return c && c->active_timeout_ns ? c->active_timeout_ns : SLUICE_DEFAULT_ACTIVE_NS;
}

static __always_inline __u64 sluice_cfg_udp_idle_ns(void)
{
	__u32 zero = 0;
	struct sluice_config *c = bpf_map_lookup_elem(&config, &zero);
	return c && c->udp_idle_ns ? c->udp_idle_ns : SLUICE_DEFAULT_UDP_IDLE_NS;
}

/* Process context only: names the task making the attempt. */
static __always_inline void sluice_flow_info_fill(struct sluice_flow_info *fi, const struct sluice_decision *d,
						  __u64 cgid, const union sluice_addr *dst, __u16 port, __u8 proto,
						  __u8 family)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	fi->cgroup_id = cgid;
	fi->start_ns = bpf_ktime_get_boot_ns();
	fi->domain_hash = d->domain_hash;
	fi->policy_id = d->policy_id;
	fi->rule_id = d->rule_id;
	fi->flags = d->flags;
	fi->pid = pid_tgid >> 32;
	fi->tid = (__u32)pid_tgid;
	fi->verdict = d->verdict;
	fi->reason = d->reason;
	fi->mode = d->mode;
	fi->family = family;
	fi->l4_proto = proto;
	fi->dst_port = port;
	__builtin_memcpy(fi->dst_addr, dst->b, 16);
	bpf_get_current_comm(fi->comm, sizeof(fi->comm));
}

/*
 * Timer callback: emit the aggregate once the flow has been idle for the
 * window, else sleep for the rest of it. Bytes counted between the record and
 * the delete (a packet racing the flush on another CPU) would be lost; the
 * window makes that a packet arriving exactly at idle expiry.
 */
static int sluice_udp_flush(void *map, struct sluice_udp_key *k, struct sluice_udp_flow *f)
{
	__u64 now = bpf_ktime_get_boot_ns();
	__u64 idle = sluice_cfg_udp_idle_ns();
	__u64 last = f->last_ns;
	if (now < last + idle) {
		bpf_timer_start(&f->timer, last + idle - now, 0);
		return 0;
	}
	struct sluice_record *r = sluice_flow_record_begin(SLUICE_KIND_UDP_FLOW, &f->info, k->cookie);
	if (r) {
		r->body.flow.bytes_out = f->bytes_out;
		r->body.flow.bytes_in = f->bytes_in;
		r->body.flow.packets_out = f->packets_out;
		r->body.flow.packets_in = f->packets_in;
		r->body.flow.duration_ns = last - f->info.start_ns;
		sluice_submit(r);
	}
	bpf_map_delete_elem(map, k);
	return 0;
}

/* Starts aggregating (socket, destination) unless it already is. 0 = tracked. */
static __always_inline int sluice_udp_track(const struct sluice_udp_key *k, const struct sluice_flow_info *fi)
{
	if (bpf_map_lookup_elem(&udp_flows, k))
		return 0;
	struct sluice_udp_flow init = {};
	init.info = *fi;
	init.last_ns = fi->start_ns;
	int err = bpf_map_update_elem(&udp_flows, k, &init, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST: another CPU started it */)
		return -1;
	struct sluice_udp_flow *f = bpf_map_lookup_elem(&udp_flows, k);
	if (!f)
		return -1;
	if (!err) {
		bpf_timer_init(&f->timer, &udp_flows, SLUICE_CLOCK_BOOTTIME);
		bpf_timer_set_callback(&f->timer, sluice_udp_flush);
		bpf_timer_start(&f->timer, sluice_cfg_udp_idle_ns(), 0);
	}
	return 0;
}

static __always_inline void sluice_udp_key_make(struct sluice_udp_key *k, __u64 cookie, const union sluice_addr *a,
						__u16 port)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->cookie = cookie;
	__builtin_memcpy(k->addr, a->b, 16);
	k->port = port;
}

#endif
