// SPDX-License-Identifier: GPL-2.0
/*
 * sock_create: raw IP sockets (and ICMP "ping" datagram sockets, whose sends
 * no sendmsg hook sees) would carry traffic past connect/sendmsg, so enforced
 * cgroups may not create them. Only these sockets are recorded: recording
 * every socket() would flood the ring for nothing. AF_PACKET never reaches
 * this hook (inet sockets only): a residual gap, see README.
 */
#include "flow.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline int sluice_sock_is_raw(const struct bpf_sock *sk)
{
	if (sk->family != SLUICE_AF_INET && sk->family != SLUICE_AF_INET6)
		return 0;
	if (sk->type == SLUICE_SOCK_RAW)
		return 1;
	return sk->type == SLUICE_SOCK_DGRAM &&
	       (sk->protocol == SLUICE_IPPROTO_ICMP || sk->protocol == SLUICE_IPPROTO_ICMPV6);
}

SEC("cgroup/sock_create")
int sluice_sock_create(struct bpf_sock *sk)
{
	if (!sluice_sock_is_raw(sk))
		return 1;

	struct sluice_decision d = {};
	__u64 cgid = bpf_get_current_cgroup_id();
	sluice_policy_for(&d, cgid);
	if (!sluice_bypassed(&d, cgid)) {
		d.verdict = SLUICE_VERDICT_DENIED;
		d.reason = SLUICE_REASON_RAW;
		sluice_apply_mode(&d);
	}
	sluice_count_decision(&d);

	struct sluice_record *r = sluice_record_begin(SLUICE_KIND_SOCK_CREATE, cgid, &d);
	if (r) {
		r->family = sk->family;
		r->l4_proto = sk->protocol;
		r->socket_cookie = bpf_get_socket_cookie(sk);
		r->body.sock.sock_type = sk->type;
		r->body.sock.sock_protocol = sk->protocol;
		sluice_submit(r);
	}
	return d.verdict == SLUICE_VERDICT_DENIED ? 0 : 1;
}

/*
 * A UDP socket going away: its aggregate for the latest destination is
 * recorded now instead of after the idle window, so a command that just
 * exited (`sluice run`) has its UDP reported with it. Other destinations of
 * an unconnected socket still flush when idle. The delete decides who
 * records: the idle timer racing on another CPU deletes too.
 */
static __always_inline void sluice_udp_flush_now(__u64 cookie, const struct sluice_flow_info *fi)
{
	struct sluice_udp_key k;
	union sluice_addr a;
	__builtin_memcpy(a.b, fi->dst_addr, 16);
	sluice_udp_key_make(&k, cookie, &a, fi->dst_port);
	struct sluice_udp_flow *f = bpf_map_lookup_elem(&udp_flows, &k);
	if (!f)
		return;
	struct sluice_flow_info info = f->info;
	__u64 out = f->bytes_out, in = f->bytes_in, last = f->last_ns;
	__u32 pout = f->packets_out, pin = f->packets_in;
	if (bpf_map_delete_elem(&udp_flows, &k))
		return;
	struct sluice_record *r = sluice_flow_record_begin(SLUICE_KIND_UDP_FLOW, &info, cookie);
	if (r) {
		r->body.flow.bytes_out = out;
		r->body.flow.bytes_in = in;
		r->body.flow.packets_out = pout;
		r->body.flow.packets_in = pin;
		r->body.flow.duration_ns = last - info.start_ns;
		sluice_submit(r);
	}
}

/*
 * An allowed TCP connect leaves state in socket storage and is recorded by
 * sock_ops at TCP_CLOSE. A connect that failed before the SYN (no route, no
 * source address) never reaches TCP_CLOSE: its state is still here when the
 * socket is released, and this records the attempt (zero bytes) so it is not
 * lost silently.
 */
SEC("cgroup/sock_release")
int sluice_sock_release(struct bpf_sock *sk)
{
	struct sluice_tcp_flow *tf = bpf_sk_storage_get(&flows, sk, 0, 0);
	if (tf && tf->info.l4_proto == SLUICE_IPPROTO_UDP) {
		sluice_udp_flush_now(bpf_get_socket_cookie(sk), &tf->info);
		return 1;
	}
	/* Release runs before the TCP close: a started flow is recorded by sock_ops later. */
	if (!tf || tf->info.l4_proto != SLUICE_IPPROTO_TCP || tf->started)
		return 1;
	struct sluice_record *r = sluice_flow_record_begin(SLUICE_KIND_TCP_CLOSE, &tf->info, bpf_get_socket_cookie(sk));
	if (r) {
		r->body.flow.duration_ns = r->ts_ns - tf->info.start_ns;
		sluice_submit(r);
	}
	tf->started = 1; /* recorded; the storage dies with the socket (delete is not offered here) */
	return 1;
}
