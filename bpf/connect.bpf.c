// SPDX-License-Identifier: GPL-2.0
/*
 * connect4/6 and sendmsg4/6: the egress verdict for TCP connects, UDP
 * connects and unconnected UDP sends. Thin shims: normalise the destination,
 * call sluice_decide(), record, return. A connected UDP socket's later sends
 * run no hook, which is why connect is checked for UDP too.
 */
#include "flow.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline __u8 sluice_l4(const struct bpf_sock_addr *ctx)
{
	if (ctx->protocol)
		return ctx->protocol;
	return ctx->type == SLUICE_SOCK_STREAM ? SLUICE_IPPROTO_TCP : SLUICE_IPPROTO_UDP;
}

/*
 * An allowed attempt becomes a flow: TCP state in socket storage (sock_ops
 * records it at close), UDP aggregated per (socket, destination). Returns 0
 * when no state could be kept, so the attempt is recorded on its own instead
 * (and counted): the flow's figures are lost, never the attempt.
 */
static __always_inline int sluice_flow_start(struct bpf_sock_addr *ctx, const struct sluice_decision *d, __u64 cgid,
					     const union sluice_addr *dst, __u16 port, __u8 proto, __u8 kind, int v6sock)
{
	struct bpf_sock *sk = ctx->sk;
	__u8 family = v6sock ? SLUICE_AF_INET6 : SLUICE_AF_INET;
	if (proto != SLUICE_IPPROTO_TCP && proto != SLUICE_IPPROTO_UDP)
		return 0;
	if (!sk) {
		sluice_count(SLUICE_C_FLOW_NO_STORAGE);
		return 0;
	}
	struct sluice_tcp_flow *tf = bpf_sk_storage_get(&flows, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!tf) {
		sluice_count(SLUICE_C_FLOW_NO_STORAGE);
		return 0;
	}
	if (proto == SLUICE_IPPROTO_TCP) {
		__builtin_memset(tf, 0, sizeof(*tf)); /* a socket may connect again after a failed attempt */
		sluice_flow_info_fill(&tf->info, d, cgid, dst, port, proto, family);
		tf->last_report_ns = tf->info.start_ns;
		return 1;
	}
	/* UDP: the socket keeps its latest decision, so packets of a connected socket can
	 * restart an aggregate flushed while idle (cgroup_skb egress); sendmsg starts one per
	 * destination. */
	sluice_flow_info_fill(&tf->info, d, cgid, dst, port, proto, family);
	struct sluice_udp_key k;
	sluice_udp_key_make(&k, bpf_get_socket_cookie(ctx), dst, port);
	if (sluice_udp_track(&k, &tf->info)) {
		sluice_count(SLUICE_C_UDP_TABLE_FULL);
		return 0;
	}
	return 1;
}

static __always_inline int sluice_verdict(struct bpf_sock_addr *ctx, __u8 kind, int v6)
{
	union sluice_addr dst;
	struct sluice_decision d = {};
	__u64 cgid = bpf_get_current_cgroup_id();
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	__u8 proto = sluice_l4(ctx);

	if (v6) {
		dst.w[0] = ctx->user_ip6[0];
		dst.w[1] = ctx->user_ip6[1];
		dst.w[2] = ctx->user_ip6[2];
		dst.w[3] = ctx->user_ip6[3];
		if (sluice_addr_is_mapped(&dst))
			d.flags |= SLUICE_F_V4MAPPED;
	} else {
		sluice_addr_from_v4(&dst, ctx->user_ip4);
		/* udpv6_sendmsg hands a mapped destination to udp_sendmsg, so sendmsg4
		 * (not sendmsg6) judges it: measured on 6.x. Same decision either
		 * way; the record still says what the socket was. */
		if (ctx->family == SLUICE_AF_INET6)
			d.flags |= SLUICE_F_V4MAPPED;
	}
	int v6sock = ctx->family == SLUICE_AF_INET6;

	sluice_decide(&d, cgid, &dst, port, proto);
	sluice_count_decision(&d);
	if (d.verdict != SLUICE_VERDICT_DENIED && sluice_flow_start(ctx, &d, cgid, &dst, port, proto, kind, v6sock))
		return 1; /* its record comes at close (TCP) or after the idle window (UDP) */

	struct sluice_record *r = sluice_record_begin(kind, cgid, &d);
	if (r) {
		r->family = v6sock ? SLUICE_AF_INET6 : SLUICE_AF_INET;
		r->l4_proto = proto;
		r->dst_port = port;
		r->socket_cookie = bpf_get_socket_cookie(ctx);
		if (v6sock) {
			__builtin_memcpy(r->dst_addr, dst.b, 16);
		} else {
			__builtin_memcpy(r->dst_addr, &dst.w[3], 4);
		}
		struct bpf_sock *sk = ctx->sk;
		if (sk) {
			r->src_port = (__u16)sk->src_port;
			if (v6sock) {
				__u32 s[4] = { sk->src_ip6[0], sk->src_ip6[1], sk->src_ip6[2], sk->src_ip6[3] };
				__builtin_memcpy(r->src_addr, s, 16);
			} else {
				__u32 s4 = sk->src_ip4;
				__builtin_memcpy(r->src_addr, &s4, 4);
			}
		}
		sluice_submit(r);
	}
	/* BYPASSED and ALLOWED (incl. learn) pass; only DENIED returns EPERM. */
	return d.verdict == SLUICE_VERDICT_DENIED ? 0 : 1;
}

SEC("cgroup/connect4")
int sluice_connect4(struct bpf_sock_addr *ctx)
{
	return sluice_verdict(ctx, SLUICE_KIND_CONNECT, 0);
}

SEC("cgroup/connect6")
int sluice_connect6(struct bpf_sock_addr *ctx)
{
	return sluice_verdict(ctx, SLUICE_KIND_CONNECT, 1);
}

SEC("cgroup/sendmsg4")
int sluice_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sluice_verdict(ctx, SLUICE_KIND_SENDMSG, 0);
}

SEC("cgroup/sendmsg6")
int sluice_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sluice_verdict(ctx, SLUICE_KIND_SENDMSG, 1);
}
