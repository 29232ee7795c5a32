/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * DNS on the wire, for dns.h: the per-CPU scratch a message is parsed in, the
 * header and question (name lower-cased, its label-wise hashes, type), shared
 * by the query (egress) and the answer (ingress) side. Nothing here decides
 * what to believe.
 *
 * Verifier notes (measured): loop state lives in the per-CPU scratch value,
 * not on the stack (the stack version hit the 1M-instruction limit); every
 * read is `& SLUICE_DNS_MASK` after the bounds check; lengths are computed in
 * 64 bits before clamping.
 */
#ifndef SLUICE_DNS_WIRE_H
#define SLUICE_DNS_WIRE_H

#include "pkt.h"
#include "emit.h"

#define SLUICE_DNS_BUF 1024 /* parse window; longer messages are parsed up to it (counted) */
#define SLUICE_DNS_MASK (SLUICE_DNS_BUF - 1)
#define SLUICE_DNS_MAX_ANSWERS 64
#define SLUICE_QTYPE_A 1
#define SLUICE_QTYPE_AAAA 28

struct sluice_dns_scratch {
	__u8 pkt[SLUICE_DNS_BUF];
	char name[256]; /* question name: lower-case dotted text, NUL padded */
	struct sluice_dns_name nm;
	union sluice_addr src;
	__u64 cgid;
	__u64 cookie;
	__u64 now;
	__u64 h;
	__u32 n;     /* message bytes in pkt */
	__u32 off;   /* cursor */
	__u32 name_len;
	__u32 label_rem;
	__u32 dots;
	__u32 ancount;
	__u32 emitted;
	__u16 qtype;
	__u16 txid;
	__u8 rejected; /* enum sluice_dns_rejected */
	__u8 rcode;
	__u8 partial; /* message longer than the window */
	__u8 err;
	__u8 done;
	__u8 emit;    /* second pass */
	__u8 trusted;
	__u8 v6;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2); /* one per direction: an ingress softirq can interrupt egress on this CPU */
	__type(key, __u32);
	__type(value, struct sluice_dns_scratch);
} dns_scratch SEC(".maps");

#define SLUICE_DNS_SCRATCH_IN 0
#define SLUICE_DNS_SCRATCH_OUT 1

/* bpf_loop wants its context on the stack; the state itself lives in the scratch value. */
struct sluice_dns_loop {
	struct sluice_dns_scratch *sc;
};

static __always_inline __u8 sluice_pkt_at(const struct sluice_dns_scratch *sc, __u32 at)
{
	return sc->pkt[at & SLUICE_DNS_MASK];
}

/* One byte of the question name per step. */
static long sluice_qname_step(__u32 i, void *ctx)
{
	struct sluice_dns_scratch *sc = ((struct sluice_dns_loop *)ctx)->sc;
	if (sc->off >= sc->n) {
		sc->err = 1;
		return 1;
	}
	__u8 c = sluice_pkt_at(sc, sc->off);
	sc->off++;
	if (sc->label_rem == 0) {
		if (c == 0) {
			sc->done = 1;
			return 1;
		}
		if (c > 63) { /* compression pointer or reserved bits: no name precedes the question */
			sc->err = 1;
			return 1;
		}
		if (sc->name_len) {
			sc->name[sc->name_len & 255] = '.';
			sc->name_len++;
		}
		sc->label_rem = c;
	} else {
		/* A dot inside a label would make label-wise suffixes ambiguous; control and
		 * non-ASCII bytes have no place in a hostname (IDNs travel as punycode) and would
		 * reach logs and dashboards verbatim. */
		if (c == '.' || c <= 0x20 || c >= 0x7f) {
			sc->err = 1;
			return 1;
		}
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		sc->name[sc->name_len & 255] = c;
		sc->name_len++;
		sc->label_rem--;
	}
	if (sc->name_len > 253) {
		sc->err = 1;
		return 1;
	}
	return 0;
}

/* The name backwards: the state at each '.' is the hash of the suffix after it. */
static long sluice_hash_step(__u32 i, void *ctx)
{
	struct sluice_dns_scratch *sc = ((struct sluice_dns_loop *)ctx)->sc;
	__u8 c = sc->name[(sc->name_len - 1 - i) & 255];
	if (c == '.') {
		__u64 hv = sluice_hash_final(sc->h);
		sc->dots++;
		if (sc->dots <= SLUICE_HOST_DEPTH)
			sc->nm.suffix[(sc->dots - 1) & (SLUICE_HOST_DEPTH - 1)] = hv;
		sc->nm.parent = hv;
	}
	sc->h = sluice_fnv_step(sc->h, c);
	return 0;
}

/*
 * Loads the DNS message of a UDP datagram into the scratch buffer and reads
 * the header and the question (name, hash, type). 0 when that worked; the
 * header checks are the caller's.
 */
static __always_inline int sluice_dns_load(struct __sk_buff *skb, const struct sluice_pkt *p,
					   struct sluice_dns_scratch *sc)
{
	__u64 avail = (__u64)skb->len;
	__u64 start = (__u64)p->l4off + 8;
	avail = avail > start ? avail - start : 0;
	__u64 len = p->udp_len < avail ? p->udp_len : avail;
	if (len < 12) /* an empty datagram too: every rejected response is counted */
		return -1;
	sc->partial = len > SLUICE_DNS_BUF;
	if (len > SLUICE_DNS_BUF)
		len = SLUICE_DNS_BUF;
	if (bpf_skb_load_bytes(skb, start, sc->pkt, len))
		return -1;
	sc->n = len;
	sc->txid = (__u16)sc->pkt[0] << 8 | sc->pkt[1];
	return 0;
}

/* The question after the header: name (lower case), its hashes, type. 0 when valid. */
static __always_inline int sluice_dns_question(struct sluice_dns_scratch *sc)
{
	struct sluice_dns_loop lp = { .sc = sc };
	sc->off = 12;
	sc->name_len = 0;
	sc->label_rem = 0;
	sc->err = 0;
	sc->done = 0;
	__builtin_memset(sc->name, 0, sizeof(sc->name));
	bpf_loop(256, sluice_qname_step, &lp, 0);
	if (sc->err || !sc->done || !sc->name_len || sc->off + 4 > sc->n)
		return -1;
	sc->qtype = (__u16)sc->pkt[sc->off & SLUICE_DNS_MASK] << 8 | sc->pkt[(sc->off + 1) & SLUICE_DNS_MASK];
	sc->off += 4;
	return 0;
}

static __always_inline void sluice_dns_hash(struct sluice_dns_scratch *sc)
{
	struct sluice_dns_loop lp = { .sc = sc };
	__builtin_memset(&sc->nm, 0, sizeof(sc->nm));
	sc->h = SLUICE_FNV_OFFSET;
	sc->dots = 0;
	bpf_loop(sc->name_len, sluice_hash_step, &lp, 0);
	sc->nm.full = sluice_hash_final(sc->h);
	sc->nm.nlabels = sc->dots + 1;
}

#endif
