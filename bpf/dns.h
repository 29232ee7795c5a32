/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * DNS answers, parsed on cgroup_skb ingress before the datagram reaches the
 * socket: every A/AAAA of the answer section fills dns_cache[(cgroup, addr)]
 * with the hashes of the QUESTION name (so a CNAME chain is attributed to the
 * name the program asked for) and yields one DNS record. The next connect of
 * that cgroup finds the name with no race, and another cgroup's lookups never
 * label this one's traffic.
 *
 * All or nothing: the whole message is walked once to validate it (header,
 * question, every answer's owner name, fixed fields and rdata bounds); only a
 * message that passes is walked again to attribute. A malformed one is
 * counted and attributes nothing.
 *
 * An answer is believed only if it answers a question this very socket asked:
 * cgroup_skb egress records every query (socket cookie, server, id, question
 * name hash and type: sluice_dns_query), and an answer fills the cache only
 * when the receiving socket has that query outstanding from that server, and
 * only once (the entry is consumed). Anything else is still parsed and
 * recorded, flagged forged with the reason (unsolicited, id/question
 * mismatch, another socket's question) and counted, and never cached: a
 * datagram that merely claims to come from the resolver cannot make an IP
 * look like an allowed name. On top of that, only answers from a resolver of
 * the cgroup's policy (or to a cgroup in learn mode) fill the cache. Owner
 * names are not compared with the question: the answer section of a trusted
 * resolver is the chain it resolved.
 *
 * Parsing primitives (scratch, question, hashes) are in dns_wire.h.
 */
#ifndef SLUICE_DNS_H
#define SLUICE_DNS_H

#include "dns_wire.h"

static __always_inline void sluice_dns_emit(struct sluice_dns_scratch *sc, __u32 o, __u16 type, __u32 ttl)
{
	union sluice_addr a;
	if (type == SLUICE_QTYPE_A) {
		__u32 v4;
		__u8 *b = (__u8 *)&v4;
		b[0] = sluice_pkt_at(sc, o);
		b[1] = sluice_pkt_at(sc, o + 1);
		b[2] = sluice_pkt_at(sc, o + 2);
		b[3] = sluice_pkt_at(sc, o + 3);
		sluice_addr_from_v4(&a, v4);
	} else {
		for (int k = 0; k < 16; k++)
			a.b[k] = sluice_pkt_at(sc, o + k);
	}
	if (sc->trusted && type) {
		struct sluice_dns_key key = { .cgroup_id = sc->cgid };
		__builtin_memcpy(key.addr, a.b, 16);
		sc->nm.expires_boot_ns = sc->now + (__u64)ttl * 1000000000ull;
		bpf_map_update_elem(&dns_cache, &key, &sc->nm, BPF_ANY);
	}

	sluice_count(SLUICE_C_GENERATED);
	struct sluice_record *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		sluice_count(SLUICE_C_DROP_RINGBUF_FULL);
		return;
	}
	__builtin_memset(r, 0, sizeof(*r));
	r->version = SLUICE_RECORD_VERSION;
	r->kind = SLUICE_KIND_DNS;
	r->ts_ns = sc->now;
	r->cgroup_id = sc->cgid;
	r->socket_cookie = sc->cookie;
	r->domain_hash = sc->nm.full;
	r->l4_proto = SLUICE_IPPROTO_UDP;
	r->dst_port = 0;
	r->src_port = SLUICE_DNS_PORT;
	if (sc->name_len > SLUICE_QNAME_LEN)
		r->flags |= SLUICE_F_QNAME_TRUNC;
	if (sc->rejected && sc->rejected != SLUICE_DNS_UNTRUSTED)
		r->flags |= SLUICE_F_DNS_FORGED;
	r->body.dns.rejected = sc->rejected;
	/* IPv4 answer from an IPv4 resolver: AF_INET; anything else: AF_INET6, IPv4 mapped. */
	if (!sc->v6 && (type == SLUICE_QTYPE_A || !type)) {
		r->family = SLUICE_AF_INET;
		__builtin_memcpy(r->dst_addr, &a.w[3], 4);
		__builtin_memcpy(r->src_addr, &sc->src.w[3], 4);
	} else {
		r->family = SLUICE_AF_INET6;
		__builtin_memcpy(r->dst_addr, a.b, 16);
		__builtin_memcpy(r->src_addr, sc->src.b, 16);
	}
	if (!type) /* no address answer (NXDOMAIN, CNAME only, ...): one record for the question */
		__builtin_memset(r->dst_addr, 0, 16);
	r->body.dns.ttl = ttl;
	r->body.dns.qtype = sc->qtype;
	r->body.dns.rcode = sc->rcode;
	r->body.dns.answer_index = sc->emitted;
	r->body.dns.answer_count = sc->ancount > 255 ? 255 : sc->ancount;
	r->body.dns.qname_len = sc->name_len;
	__builtin_memcpy(r->body.dns.qname, sc->name, SLUICE_QNAME_LEN);
	sluice_submit(r);
	sc->emitted++;
}

/* One resource record of the answer section per step (validate, or emit on the second pass). */
static long sluice_answer_step(__u32 i, void *ctx)
{
	struct sluice_dns_scratch *sc = ((struct sluice_dns_loop *)ctx)->sc;
	/* Owner name: skipped (labels, or a pointer that ends it). */
	for (int k = 0; k < 128; k++) {
		if (sc->off >= sc->n)
			goto end;
		__u8 c = sluice_pkt_at(sc, sc->off);
		if (c == 0) {
			sc->off += 1;
			break;
		}
		if ((c & 0xC0) == 0xC0) {
			sc->off += 2;
			break;
		}
		if (c & 0xC0)
			goto bad;
		sc->off += c + 1;
		if (k == 127)
			goto bad;
	}
	__u64 o = sc->off;
	if (o + 10 > sc->n)
		goto end;
	__u16 type = (__u16)sluice_pkt_at(sc, o) << 8 | sluice_pkt_at(sc, o + 1);
	__u16 class = (__u16)sluice_pkt_at(sc, o + 2) << 8 | sluice_pkt_at(sc, o + 3);
	__u32 ttl = (__u32)sluice_pkt_at(sc, o + 4) << 24 | (__u32)sluice_pkt_at(sc, o + 5) << 16 |
		    (__u32)sluice_pkt_at(sc, o + 6) << 8 | sluice_pkt_at(sc, o + 7);
	__u64 rdlen = (__u16)sluice_pkt_at(sc, o + 8) << 8 | sluice_pkt_at(sc, o + 9);
	o += 10;
	if (o + rdlen > sc->n)
		goto end;
	if (ttl > 0x7fffffff) /* RFC 2181: treat as 0 */
		ttl = 0;
	if (sc->emit && class == 1 &&
	    ((type == SLUICE_QTYPE_A && rdlen == 4) || (type == SLUICE_QTYPE_AAAA && rdlen == 16)))
		sluice_dns_emit(sc, o, type, ttl);
	sc->off = o + rdlen;
	return 0;
end:
	/* Ran out of message: malformed, unless the message goes on past our window. */
	if (!sc->partial)
		sc->err = 1;
	return 1;
bad:
	sc->err = 1;
	return 1;
}

static __always_inline void sluice_dnsq_key_make(struct sluice_dnsq_key *k, __u32 kind, __u64 cookie,
						 const union sluice_addr *server, const struct sluice_dns_scratch *sc)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->kind = kind;
	k->cookie = cookie;
	__builtin_memcpy(k->addr, server->b, 16);
	if (kind != SLUICE_DNSQ_SOCKET) {
		k->qhash = sc->nm.full;
		k->txid = sc->txid;
		k->qtype = sc->qtype;
	}
}

/*
 * Egress: a DNS query to `server` (as the socket addressed it, before any
 * DNAT). Its answer will be believed once, by this socket only.
 */
static __always_inline void sluice_dns_query(struct __sk_buff *skb, const struct sluice_pkt *p,
					     const union sluice_addr *server)
{
	__u32 idx = SLUICE_DNS_SCRATCH_OUT;
	struct sluice_dns_scratch *sc = bpf_map_lookup_elem(&dns_scratch, &idx);
	if (!sc || sluice_dns_load(skb, p, sc))
		return;
	/* A standard query with one question; anything else gets no answer we would believe. */
	if ((sc->pkt[2] & 0x80) || (sc->pkt[2] & 0x78) || sc->pkt[4] != 0 || sc->pkt[5] != 1)
		return;
	if (sluice_dns_question(sc))
		return;
	sluice_dns_hash(sc);
	__u64 cookie = bpf_get_socket_cookie(skb);
	__u64 now = bpf_ktime_get_boot_ns();
	struct sluice_dnsq_key k;
	sluice_dnsq_key_make(&k, SLUICE_DNSQ_QUERY, cookie, server, sc);
	bpf_map_update_elem(&dns_queries, &k, &now, BPF_ANY);
	sluice_dnsq_key_make(&k, SLUICE_DNSQ_ASKED, 0, server, sc);
	bpf_map_update_elem(&dns_queries, &k, &cookie, BPF_ANY);
	sluice_dnsq_key_make(&k, SLUICE_DNSQ_SOCKET, cookie, server, sc);
	bpf_map_update_elem(&dns_queries, &k, &now, BPF_ANY);
}

/* Ingress: did the receiving socket ask exactly this? Consumes the query (once). */
static __always_inline __u8 sluice_dns_solicited(struct sluice_dns_scratch *sc)
{
	struct sluice_dnsq_key k;
	sluice_dnsq_key_make(&k, SLUICE_DNSQ_QUERY, sc->cookie, &sc->src, sc);
	__u64 *asked = bpf_map_lookup_elem(&dns_queries, &k);
	if (asked) {
		__u64 at = *asked;
		/* Only the CPU whose delete succeeds takes it: a duplicate racing on another CPU does not. */
		int taken = bpf_map_delete_elem(&dns_queries, &k) == 0;
		if (taken && sc->now - at < SLUICE_DNSQ_TIMEOUT_NS)
			return SLUICE_DNS_OK;
		if (taken)
			return SLUICE_DNS_UNSOLICITED; /* asked too long ago */
	}
	sluice_dnsq_key_make(&k, SLUICE_DNSQ_ASKED, 0, &sc->src, sc);
	__u64 *who = bpf_map_lookup_elem(&dns_queries, &k);
	if (who && *who != sc->cookie)
		return SLUICE_DNS_WRONG_SOCKET;
	sluice_dnsq_key_make(&k, SLUICE_DNSQ_SOCKET, sc->cookie, &sc->src, sc);
	if (bpf_map_lookup_elem(&dns_queries, &k))
		return SLUICE_DNS_MISMATCH;
	return SLUICE_DNS_UNSOLICITED;
}

static __always_inline void sluice_dns_answer(struct __sk_buff *skb, const struct sluice_pkt *p)
{
	__u32 idx = SLUICE_DNS_SCRATCH_IN;
	struct sluice_dns_scratch *sc = bpf_map_lookup_elem(&dns_scratch, &idx);
	if (!sc)
		return;
	struct sluice_dns_loop lp = { .sc = sc };
	if (sluice_dns_load(skb, p, sc)) {
		sluice_count(SLUICE_C_DNS_MALFORMED);
		return;
	}

	/* Header: a response (QR), standard query, exactly one question. */
	if (!(sc->pkt[2] & 0x80) || (sc->pkt[2] & 0x78) || sc->pkt[4] != 0 || sc->pkt[5] != 1) {
		sluice_count(SLUICE_C_DNS_MALFORMED);
		return;
	}
	sc->rcode = sc->pkt[3] & 0x0f;
	sc->ancount = (__u32)sc->pkt[6] << 8 | sc->pkt[7];
	if (sluice_dns_question(sc)) {
		sluice_count(SLUICE_C_DNS_MALFORMED);
		return;
	}
	__u32 qend = sc->off;

	__u32 nans = sc->ancount > SLUICE_DNS_MAX_ANSWERS ? SLUICE_DNS_MAX_ANSWERS : sc->ancount;
	sc->emit = 0;
	bpf_loop(nans, sluice_answer_step, &lp, 0);
	if (sc->err) {
		sluice_count(SLUICE_C_DNS_MALFORMED);
		return;
	}
	if (sc->partial)
		sluice_count(SLUICE_C_DNS_PARTIAL);

	sluice_dns_hash(sc);
	sc->cgid = bpf_skb_cgroup_id(skb);
	sc->cookie = bpf_get_socket_cookie(skb);
	sc->now = bpf_ktime_get_boot_ns();
	sc->src = p->src;
	sc->v6 = p->v6;
	struct sluice_decision d = {};
	sluice_policy_for(&d, sc->cgid);
	struct sluice_resolver_key rk = { .policy_id = d.policy_id };
	__builtin_memcpy(rk.addr, p->src.b, 16);
	int resolver = d.mode == SLUICE_MODE_LEARN || bpf_map_lookup_elem(&resolvers, &rk);
	if (!resolver)
		sluice_count(SLUICE_C_DNS_UNTRUSTED);
	sc->rejected = sluice_dns_solicited(sc);
	if (sc->rejected == SLUICE_DNS_UNSOLICITED)
		sluice_count(SLUICE_C_DNS_UNSOLICITED);
	else if (sc->rejected == SLUICE_DNS_MISMATCH)
		sluice_count(SLUICE_C_DNS_MISMATCH);
	else if (sc->rejected == SLUICE_DNS_WRONG_SOCKET)
		sluice_count(SLUICE_C_DNS_WRONG_SOCKET);
	else if (!resolver)
		sc->rejected = SLUICE_DNS_UNTRUSTED;
	sc->trusted = sc->rejected == SLUICE_DNS_OK;
	sluice_count(SLUICE_C_DNS_ANSWERS);

	sc->off = qend;
	sc->emitted = 0;
	sc->emit = 1;
	bpf_loop(nans, sluice_answer_step, &lp, 0);
	if (!sc->emitted)
		sluice_dns_emit(sc, 0, 0, 0);
}

#endif
