/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The one egress decision, shared by connect4/6 and sendmsg4/6. Every
 * destination is first normalised to 16 bytes (IPv4 as ::ffff:a.b.c.d), so an
 * IPv4-mapped destination on an AF_INET6 socket walks exactly the IPv4 path:
 * the bypass the eBPF PR shipped (connect6 returning 1 for mapped addresses)
 * cannot be written here.
 */
#ifndef SLUICE_DECIDE_H
#define SLUICE_DECIDE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "maps.h"
#include "name_hash.h"

#define SLUICE_AF_INET 2
#define SLUICE_AF_INET6 10
#define SLUICE_SOCK_STREAM 1
#define SLUICE_SOCK_DGRAM 2
#define SLUICE_SOCK_RAW 3
#define SLUICE_IPPROTO_ICMP 1
#define SLUICE_IPPROTO_TCP 6
#define SLUICE_IPPROTO_UDP 17
#define SLUICE_IPPROTO_ICMPV6 58

union sluice_addr {
	__u8 b[16];
	__u32 w[4];
};

struct sluice_decision {
	__u64 domain_hash; /* the name this cgroup resolved the destination from; 0 = none */
	__u32 policy_id;
	__u32 rule_id;
	__u32 flags;
	__u8 verdict;
	__u8 reason;
	__u8 mode;
	__u8 _pad;
};

static __always_inline void sluice_addr_from_v4(union sluice_addr *a, __u32 ip4_be)
{
	a->w[0] = 0;
	a->w[1] = 0;
	a->w[2] = bpf_htonl(0x0000ffff);
	a->w[3] = ip4_be;
}

static __always_inline int sluice_addr_is_mapped(const union sluice_addr *a)
{
	return a->w[0] == 0 && a->w[1] == 0 && a->w[2] == bpf_htonl(0x0000ffff);
}

/* Linux routes 0.0.0.0 and :: to the local host, so they count as loopback. */
static __always_inline int sluice_addr_is_loopback(const union sluice_addr *a)
{
	if (sluice_addr_is_mapped(a))
		return (bpf_ntohl(a->w[3]) >> 24) == 127 || a->w[3] == 0;
	return a->w[0] == 0 && a->w[1] == 0 && a->w[2] == 0 &&
	       (a->w[3] == bpf_htonl(1) || a->w[3] == 0);
}

/* The policy a cgroup runs under: its own entry, else the configured default. */
static __always_inline void sluice_policy_for(struct sluice_decision *d, __u64 cgid)
{
	struct sluice_cgroup_entry *e = bpf_map_lookup_elem(&cgroup_policy, &cgid);
	if (e) {
		struct sluice_cgroup_entry copy = *e; /* one 8-byte read */
		d->policy_id = copy.policy_id;
		d->mode = copy.mode;
		return;
	}
	__u32 zero = 0;
	struct sluice_config *c = bpf_map_lookup_elem(&config, &zero);
	d->flags |= SLUICE_F_DEFAULT_POLICY;
	d->policy_id = c ? c->default_policy_id : 0;
	d->mode = c ? c->default_mode : SLUICE_MODE_ENFORCE;
}

/* Returns 1 (and fills d) when an unexpired bypass covers the cgroup. */
static __always_inline int sluice_bypassed(struct sluice_decision *d, __u64 cgid)
{
	struct sluice_bypass *b = bpf_map_lookup_elem(&bypass, &cgid);
	if (!b || bpf_ktime_get_boot_ns() >= b->expires_boot_ns)
		return 0;
	d->verdict = SLUICE_VERDICT_BYPASSED;
	d->reason = SLUICE_REASON_BYPASS;
	return 1;
}

static __always_inline int sluice_range_matches(const struct sluice_port_range *r, __u16 port, __u8 proto)
{
	return (r->proto == 0 || r->proto == proto) && port >= r->lo && port <= r->hi;
}

/*
 * One host-rule entry: 1 if a range allows port/proto. An entry whose ranges
 * all miss is remembered in *near (its first rule id) for the rule_port reason.
 */
static __always_inline int sluice_host_try(struct sluice_decision *d, __u32 match, __u64 hash, __u16 port,
					   __u8 proto, __u32 *near)
{
	if (!hash)
		return 0;
	struct sluice_host_key k = { .policy_id = d->policy_id, .match = match, .name_hash = hash };
	struct sluice_rule_value *v = bpf_map_lookup_elem(&host_rules, &k);
	if (!v)
		return 0;
	for (int i = 0; i < SLUICE_MAX_RANGES; i++) {
		if (i >= v->count)
			break;
		const struct sluice_port_range *r = &v->range[i];
		if (sluice_range_matches(r, port, proto)) {
			d->verdict = SLUICE_VERDICT_ALLOWED;
			d->reason = SLUICE_REASON_HOST;
			d->rule_id = r->rule_id;
			return 1;
		}
		if (i == 0 && !*near)
			*near = r->rule_id;
	}
	return 0;
}

/* Host rules for the name the cgroup resolved dst from: exact, then `*.`, then
 * `**.` from the longest suffix down (the most specific rule is reported). */
static __always_inline void sluice_match_host(struct sluice_decision *d, const struct sluice_dns_name *n,
					      __u16 port, __u8 proto)
{
	__u32 near = 0;
	if (sluice_host_try(d, SLUICE_HOST_EXACT, n->full, port, proto, &near) ||
	    sluice_host_try(d, SLUICE_HOST_ONE, n->parent, port, proto, &near))
		return;
	for (int j = SLUICE_HOST_DEPTH - 1; j >= 0; j--)
		if (sluice_host_try(d, SLUICE_HOST_ANY, n->suffix[j], port, proto, &near))
			return;
	if (near && d->reason == SLUICE_REASON_DEFAULT) {
		d->reason = SLUICE_REASON_RULE_PORT;
		d->rule_id = near;
	}
}

/* The name this cgroup resolved dst from (dns.bpf.c fills the cache). A name past
 * its TTL stays attached, flagged stale: clients cache answers longer than the TTL
 * says, and the address was this name's for this cgroup. */
static __always_inline const struct sluice_dns_name *sluice_name_of(struct sluice_decision *d, __u64 cgid,
								      const union sluice_addr *dst)
{
	struct sluice_dns_key k = { .cgroup_id = cgid };
	__builtin_memcpy(k.addr, dst->b, 16);
	const struct sluice_dns_name *n = bpf_map_lookup_elem(&dns_cache, &k);
	if (!n || !n->full)
		return 0;
	d->domain_hash = n->full;
	if (bpf_ktime_get_boot_ns() >= n->expires_boot_ns)
		d->flags |= SLUICE_F_HOST_STALE;
	return n;
}

/* Policy without bypass or learn: RULE / HOST / RESOLVER / LOOPBACK allow, else deny. */
static __always_inline void sluice_match(struct sluice_decision *d, const union sluice_addr *dst,
					 __u16 port, __u8 proto, const struct sluice_dns_name *name)
{
	struct sluice_policy *p = bpf_map_lookup_elem(&policies, &d->policy_id);

	if (p && (p->flags & SLUICE_POLICY_LOOPBACK) && sluice_addr_is_loopback(dst)) {
		d->verdict = SLUICE_VERDICT_ALLOWED;
		d->reason = SLUICE_REASON_LOOPBACK;
		return;
	}
	if (port == SLUICE_DNS_PORT && (proto == SLUICE_IPPROTO_UDP || proto == SLUICE_IPPROTO_TCP)) {
		struct sluice_resolver_key rk = { .policy_id = d->policy_id };
		__builtin_memcpy(rk.addr, dst->b, 16);
		__u32 *rid = bpf_map_lookup_elem(&resolvers, &rk);
		if (rid) {
			d->verdict = SLUICE_VERDICT_ALLOWED;
			d->reason = SLUICE_REASON_RESOLVER;
			d->rule_id = *rid;
			return;
		}
	}

	d->verdict = SLUICE_VERDICT_DENIED;
	d->reason = SLUICE_REASON_DEFAULT;

	struct sluice_rule_key key = { .prefixlen = 32 + 128, .policy_id = d->policy_id };
	__builtin_memcpy(key.addr, dst->b, 16);
	struct sluice_rule_value *v = bpf_map_lookup_elem(&rules, &key);
	for (int i = 0; v && i < SLUICE_MAX_RANGES; i++) {
		if (i >= v->count)
			break;
		const struct sluice_port_range *r = &v->range[i];
		if (sluice_range_matches(r, port, proto)) {
			d->verdict = SLUICE_VERDICT_ALLOWED;
			d->reason = SLUICE_REASON_RULE;
			d->rule_id = r->rule_id;
			return;
		}
		if (i == 0) { /* CIDR matched, ports did not: name the rule */
			d->reason = SLUICE_REASON_RULE_PORT;
			d->rule_id = r->rule_id;
		}
	}
	if (name)
		sluice_match_host(d, name, port, proto);
}

/* Learn mode never denies; it marks what enforcement would have denied. */
static __always_inline void sluice_apply_mode(struct sluice_decision *d)
{
	if (d->mode == SLUICE_MODE_LEARN && d->verdict == SLUICE_VERDICT_DENIED) {
		d->verdict = SLUICE_VERDICT_ALLOWED;
		d->flags |= SLUICE_F_AUDIT;
	}
}

static __always_inline void sluice_decide(struct sluice_decision *d, __u64 cgid,
					  const union sluice_addr *dst, __u16 port, __u8 proto)
{
	sluice_policy_for(d, cgid);
	const struct sluice_dns_name *name = sluice_name_of(d, cgid, dst);
	if (sluice_bypassed(d, cgid))
		return;
	sluice_match(d, dst, port, proto, name);
	sluice_apply_mode(d);
}

#endif
