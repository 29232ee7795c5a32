// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup_skb ingress/egress: per-packet work of the managed cgroups.
 *   ingress: UDP bytes in for aggregated flows; DNS answers (UDP from port 53)
 *            parsed before they reach the socket (dns.h).
 *   egress:  UDP bytes out for aggregated flows.
 * Both always return 1: these programs observe, the verdict was taken at
 * connect/sendmsg.
 */
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include "flow.h"

char LICENSE[] SEC("license") = "GPL";

struct sluice_pkt {
	union sluice_addr src, dst;
	__u16 sport, dport;
	__u32 l4off;   /* offset of the UDP header */
	__u32 udp_len; /* UDP payload bytes */
	__u8 v6;
};

/* IPv4/IPv6 + UDP header. 0 when the packet is a UDP datagram (first fragment or whole). */
static __always_inline int sluice_parse_udp(struct __sk_buff *skb, struct sluice_pkt *p)
{
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;
		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || ip.protocol != SLUICE_IPPROTO_UDP)
			return -1;
		if (ip.frag_off & bpf_htons(0x1fff)) /* a later fragment has no UDP header */
			return -1;
		p->l4off = ip.ihl * 4;
		p->v6 = 0;
		sluice_addr_from_v4(&p->src, ip.saddr);
		sluice_addr_from_v4(&p->dst, ip.daddr);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;
		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) || ip6.nexthdr != SLUICE_IPPROTO_UDP)
			return -1; /* extension headers: not followed */
		p->l4off = sizeof(ip6);
		p->v6 = 1;
		__builtin_memcpy(p->src.b, &ip6.saddr, 16);
		__builtin_memcpy(p->dst.b, &ip6.daddr, 16);
	} else {
		return -1;
	}
	struct udphdr uh;
	if (bpf_skb_load_bytes(skb, p->l4off, &uh, sizeof(uh)))
		return -1;
	p->sport = bpf_ntohs(uh.source);
	p->dport = bpf_ntohs(uh.dest);
	__u32 len = bpf_ntohs(uh.len);
	p->udp_len = len > sizeof(uh) ? len - sizeof(uh) : 0;
	return 0;
}

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

#include "dns.h"

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
	if (!sluice_parse_udp(skb, &p))
		sluice_udp_count(skb, &p.dst, p.dport, p.udp_len, 1);
	return 1;
}
