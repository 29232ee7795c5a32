// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup_skb ingress/egress: per-packet work of the managed cgroups.
 *   ingress: UDP bytes in for aggregated flows; DNS answers (UDP from port 53)
 *            parsed before they reach the socket (dns.h).
 *   egress:  UDP bytes out for aggregated flows; DNS queries recorded, so only
 *            their answers are believed (dns.h); packets carrying a source
 *            route dropped in enforce mode (they would reach a host other
 *            than the one connect/sendmsg judged).
 * Otherwise both return 1: the verdict was taken at connect/sendmsg.
 */
#include "flow.h"
#include "dns.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline void sluice_udp_count(struct __sk_buff *skb, const union sluice_addr *peer, __u16 port,
					     __u32 bytes, int out)
{
	struct sluice_udp_key k;
	sluice_udp_key_make(&k, bpf_get_socket_cookie(skb), peer, port);
	struct sluice_udp_flow *f = bpf_map_lookup_elem(&udp_flows, &k);
	if (!f && out) {
		/* A connected socket's aggregate was flushed while idle; its sends run no
		 * hook, so restart it from the decision the socket keeps. */
		struct bpf_sock *sk = skb->sk;
		if (sk)
			sk = bpf_sk_fullsock(sk);
		if (!sk)
			return;
		struct sluice_tcp_flow *tf = bpf_sk_storage_get(&flows, sk, 0, 0);
		if (!tf || tf->info.l4_proto != SLUICE_IPPROTO_UDP || tf->info.dst_port != port)
			return;
		union sluice_addr was;
		__builtin_memcpy(was.b, tf->info.dst_addr, 16);
		if (was.w[0] != peer->w[0] || was.w[1] != peer->w[1] || was.w[2] != peer->w[2] || was.w[3] != peer->w[3])
			return;
		struct sluice_flow_info fi = tf->info;
		fi.start_ns = bpf_ktime_get_boot_ns();
		if (sluice_udp_track(&k, &fi)) {
			sluice_count(SLUICE_C_UDP_TABLE_FULL);
			return;
		}
		f = bpf_map_lookup_elem(&udp_flows, &k);
		if (!f)
			return;
	}
	if (!f)
		return;
	if (out) {
		__sync_fetch_and_add(&f->bytes_out, bytes);
		__sync_fetch_and_add(&f->packets_out, 1);
	} else {
		__sync_fetch_and_add(&f->bytes_in, bytes);
		__sync_fetch_and_add(&f->packets_in, 1);
	}
	f->last_ns = bpf_ktime_get_boot_ns();
}

/* The socket's flow state (its latest connect/sendmsg decision), if it has one. */
static __always_inline struct sluice_tcp_flow *sluice_skb_flow(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 0;
	return bpf_sk_storage_get(&flows, sk, 0, 0);
}

/* A source-routed packet: DENIED in enforce mode (dropped, EPERM to a sender in a syscall). */
static __always_inline int sluice_srcroute(struct __sk_buff *skb, const struct sluice_pkt *p)
{
	struct sluice_decision d = {};
	__u64 cgid = bpf_skb_cgroup_id(skb);
	sluice_policy_for(&d, cgid);
	if (!sluice_bypassed(&d, cgid)) {
		d.verdict = SLUICE_VERDICT_DENIED;
		d.reason = SLUICE_REASON_SRCROUTE;
		sluice_apply_mode(&d);
	}
	sluice_count_decision(&d);
	if (d.verdict == SLUICE_VERDICT_DENIED)
		sluice_count(SLUICE_C_SRCROUTE_DROPPED);
	struct sluice_record *r = sluice_record_begin(SLUICE_KIND_PACKET, cgid, &d);
	if (r) {
		r->family = p->v6 ? SLUICE_AF_INET6 : SLUICE_AF_INET;
		r->l4_proto = p->proto;
		r->socket_cookie = bpf_get_socket_cookie(skb);
		if (p->v6) {
			__builtin_memcpy(r->dst_addr, p->dst.b, 16);
			__builtin_memcpy(r->src_addr, p->src.b, 16);
		} else {
			__builtin_memcpy(r->dst_addr, &p->dst.w[3], 4);
			__builtin_memcpy(r->src_addr, &p->src.w[3], 4);
		}
		sluice_submit(r);
	}
	return d.verdict == SLUICE_VERDICT_DENIED ? 0 : 1;
}

SEC("cgroup_skb/ingress")
int sluice_ingress(struct __sk_buff *skb)
{
	struct sluice_pkt p = {};
	if (sluice_parse_udp(skb, &p))
		return 1;
	sluice_udp_count(skb, &p.src, p.sport, p.udp_len, 0);
	if (p.sport == SLUICE_DNS_PORT)
		sluice_dns_answer(skb, &p);
	return 1;
}

SEC("cgroup_skb/egress")
int sluice_egress(struct __sk_buff *skb)
{
	struct sluice_pkt p = {};
	if (sluice_parse_ip(skb, &p))
		return 1;
	if (p.srcroute)
		return sluice_srcroute(skb, &p);
	if (sluice_parse_udp(skb, &p))
		return 1;
	/* A DNAT in the OUTPUT chain already rewrote the destination: Docker's embedded DNS
	 * turns 127.0.0.11:53 into 127.0.0.11:<its port>. The socket keeps what it addressed
	 * (its latest sendmsg/connect), and the answer comes back un-NATed from port 53. */
	__u16 port = p.dport;
	if (port != SLUICE_DNS_PORT) {
		struct sluice_tcp_flow *tf = sluice_skb_flow(skb);
		if (tf && tf->info.l4_proto == SLUICE_IPPROTO_UDP && tf->info.dst_port == SLUICE_DNS_PORT) {
			union sluice_addr was;
			__builtin_memcpy(was.b, tf->info.dst_addr, 16);
			if (was.w[0] == p.dst.w[0] && was.w[1] == p.dst.w[1] && was.w[2] == p.dst.w[2] &&
			    was.w[3] == p.dst.w[3])
				port = SLUICE_DNS_PORT;
		}
	}
	sluice_udp_count(skb, &p.dst, port, p.udp_len, 1);
	if (port == SLUICE_DNS_PORT)
		sluice_dns_query(skb, &p, &p.dst);
	return 1;
}
