/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The IP and UDP headers of a cgroup_skb packet: addresses, ports, and whether
 * it carries a source route (IPv4 LSRR/SSRR option, IPv6 routing header),
 * which would deliver it somewhere other than the destination connect/sendmsg
 * judged.
 */
#ifndef SLUICE_PKT_H
#define SLUICE_PKT_H

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include "decide.h"

#define SLUICE_IPOPT_LSRR 131
#define SLUICE_IPOPT_SSRR 137
#define SLUICE_NEXTHDR_HOP 0
#define SLUICE_NEXTHDR_ROUTING 43
#define SLUICE_NEXTHDR_DEST 60

struct sluice_pkt {
	union sluice_addr src, dst;
	__u16 sport, dport;
	__u32 l4off;   /* offset of the UDP header */
	__u32 udp_len; /* UDP payload bytes */
	__u8 v6;
	__u8 proto;    /* IPPROTO of the transport header (after IPv6 hop-by-hop/destination options) */
	__u8 srcroute; /* LSRR/SSRR option or IPv6 routing header */
	__u8 first;    /* whole datagram or first fragment: the transport header is there */
};

/* x & 63, hidden from the compiler so the verifier sees the mask on every stack index. */
static __always_inline __u32 sluice_idx63(__u32 x)
{
	asm volatile("%0 &= 63" : "+r"(x));
	return x;
}

/* IPv4 options: 1 if one of them is a loose or strict source route. */
static __always_inline int sluice_ipv4_srcroute(struct __sk_buff *skb, __u32 optlen)
{
	__u8 opt[64] = {}; /* 40 read; indexes masked with 63 for the verifier */
	if (optlen == 0 || optlen > 40 || bpf_skb_load_bytes(skb, 20, opt, optlen))
		return optlen != 0; /* options we cannot read are treated as a source route */
	__u32 i = 0;
	for (int n = 0; n < 40 && i < optlen; n++) {
		if (i >= 40)
			break;
		__u8 t = opt[sluice_idx63(i)];
		if (t == 0) /* end of options */
			return 0;
		if (t == 1) { /* no-op */
			i++;
			continue;
		}
		if (t == SLUICE_IPOPT_LSRR || t == SLUICE_IPOPT_SSRR)
			return 1;
		if (i + 1 >= 40)
			return 0;
		__u8 len = opt[sluice_idx63(i + 1)];
		if (len < 2)
			return 0;
		i += len;
	}
	return 0;
}

/* Parses the IP header (and the UDP one, if any). 0 when it is IPv4 or IPv6. */
static __always_inline int sluice_parse_ip(struct __sk_buff *skb, struct sluice_pkt *p)
{
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;
		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return -1;
		p->l4off = ip.ihl * 4;
		p->v6 = 0;
		p->proto = ip.protocol;
		p->first = !(ip.frag_off & bpf_htons(0x1fff)); /* a later fragment has no transport header */
		if (ip.ihl > 5)
			p->srcroute = sluice_ipv4_srcroute(skb, (ip.ihl - 5) * 4);
		sluice_addr_from_v4(&p->src, ip.saddr);
		sluice_addr_from_v4(&p->dst, ip.daddr);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;
		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return -1;
		p->l4off = sizeof(ip6);
		p->v6 = 1;
		p->first = 1;
		__builtin_memcpy(p->src.b, &ip6.saddr, 16);
		__builtin_memcpy(p->dst.b, &ip6.daddr, 16);
		__u8 nh = ip6.nexthdr;
		/* Options headers may precede a routing header; anything else ends the walk. */
		for (int k = 0; k < 4; k++) {
			if (nh == SLUICE_NEXTHDR_ROUTING) {
				p->srcroute = 1;
				break;
			}
			if (nh != SLUICE_NEXTHDR_HOP && nh != SLUICE_NEXTHDR_DEST)
				break;
			__u8 eh[2];
			if (bpf_skb_load_bytes(skb, p->l4off, eh, 2))
				return -1;
			nh = eh[0];
			p->l4off += ((__u32)eh[1] + 1) * 8;
		}
		p->proto = nh;
	} else {
		return -1;
	}
	return 0;
}

/* IP + UDP header. 0 when the packet is a UDP datagram (first fragment or whole). */
static __always_inline int sluice_parse_udp(struct __sk_buff *skb, struct sluice_pkt *p)
{
	if (sluice_parse_ip(skb, p) || p->proto != SLUICE_IPPROTO_UDP || !p->first)
		return -1;
	struct udphdr uh;
	if (bpf_skb_load_bytes(skb, p->l4off & 0xfff, &uh, sizeof(uh)))
		return -1;
	p->sport = bpf_ntohs(uh.source);
	p->dport = bpf_ntohs(uh.dest);
	__u32 len = bpf_ntohs(uh.len);
	p->udp_len = len > sizeof(uh) ? len - sizeof(uh) : 0;
	return 0;
}

#endif
