// SPDX-License-Identifier: GPL-2.0
/*
 * Refusals that keep a managed process from forging or rerouting what the
 * other programs judge:
 *   bind4/bind6: no socket on port 53, and none on an address that is a
 *     resolver of the cgroup's policy. A process that can send from
 *     <resolver>:53 (on Docker's networks 127.0.0.11 is local to the
 *     container, and ip_unprivileged_port_start=0 there) could answer
 *     queries itself; the kernel then has only the query match (dns.h)
 *     between it and the name cache.
 *   setsockopt: IP_OPTIONS (LSRR/SSRR) and IPv6 routing headers would send
 *     a datagram judged for one address to another one. Per-datagram options
 *     (cmsg) never reach this hook: cgroup_skb egress drops those packets.
 * Each refusal is DENIED with its own reason, recorded and counted; learn
 * mode allows with the audit flag, a bypass allows.
 */
#include "emit.h"

char LICENSE[] SEC("license") = "GPL";

#define SLUICE_SOL_IP 0
#define SLUICE_SOL_IPV6 41
#define SLUICE_IP_OPTIONS 4
#define SLUICE_IP_RETOPTS 7
#define SLUICE_IPV6_2292RTHDR 5
#define SLUICE_IPV6_2292PKTOPTIONS 6
#define SLUICE_IPV6_RTHDR 57
#define SLUICE_PAGE_SIZE 4096

/* DENIED (enforce), allowed with audit (learn), BYPASSED: the record and counters either way. */
static __always_inline int sluice_guard(struct sluice_decision *d, __u64 cgid, __u8 reason, __u32 counter)
{
	sluice_policy_for(d, cgid);
	if (!sluice_bypassed(d, cgid)) {
		d->verdict = SLUICE_VERDICT_DENIED;
		d->reason = reason;
		sluice_apply_mode(d);
	}
	sluice_count_decision(d);
	if (d->verdict == SLUICE_VERDICT_DENIED)
		sluice_count(counter);
	return d->verdict != SLUICE_VERDICT_DENIED;
}

static __always_inline int sluice_bind(struct bpf_sock_addr *ctx, int v6)
{
	union sluice_addr a;
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	if (v6) {
		a.w[0] = ctx->user_ip6[0];
		a.w[1] = ctx->user_ip6[1];
		a.w[2] = ctx->user_ip6[2];
		a.w[3] = ctx->user_ip6[3];
	} else {
		sluice_addr_from_v4(&a, ctx->user_ip4);
	}
	__u64 cgid = bpf_get_current_cgroup_id();
	struct sluice_decision d = {};
	if (port != SLUICE_DNS_PORT) {
		sluice_policy_for(&d, cgid);
		struct sluice_resolver_key rk = { .policy_id = d.policy_id };
		__builtin_memcpy(rk.addr, a.b, 16);
		if (!bpf_map_lookup_elem(&resolvers, &rk))
			return 1;
		d.flags = 0;
	}
	int ok = sluice_guard(&d, cgid, SLUICE_REASON_DNS_BIND, SLUICE_C_BIND_DENIED);
	struct sluice_record *r = sluice_record_begin(SLUICE_KIND_BIND, cgid, &d);
	if (r) {
		r->family = v6 ? SLUICE_AF_INET6 : SLUICE_AF_INET;
		r->l4_proto = ctx->protocol;
		r->dst_port = port;
		r->socket_cookie = bpf_get_socket_cookie(ctx);
		if (v6)
			__builtin_memcpy(r->dst_addr, a.b, 16);
		else
			__builtin_memcpy(r->dst_addr, &a.w[3], 4);
		sluice_submit(r);
	}
	return ok;
}

SEC("cgroup/bind4")
int sluice_bind4(struct bpf_sock_addr *ctx)
{
	return sluice_bind(ctx, 0);
}

SEC("cgroup/bind6")
int sluice_bind6(struct bpf_sock_addr *ctx)
{
	return sluice_bind(ctx, 1);
}

static __always_inline int sluice_is_srcroute_opt(int level, int name)
{
	if (level == SLUICE_SOL_IP)
		return name == SLUICE_IP_OPTIONS || name == SLUICE_IP_RETOPTS;
	if (level == SLUICE_SOL_IPV6)
		return name == SLUICE_IPV6_RTHDR || name == SLUICE_IPV6_2292RTHDR || name == SLUICE_IPV6_2292PKTOPTIONS;
	return 0;
}

SEC("cgroup/setsockopt")
int sluice_setsockopt(struct bpf_sockopt *ctx)
{
	int level = ctx->level, name = ctx->optname;
	if (sluice_is_srcroute_opt(level, name)) {
		__u64 cgid = bpf_get_current_cgroup_id();
		struct sluice_decision d = {};
		int ok = sluice_guard(&d, cgid, SLUICE_REASON_SRCROUTE_OPT, SLUICE_C_SOCKOPT_DENIED);
		struct sluice_record *r = sluice_record_begin(SLUICE_KIND_SOCKOPT, cgid, &d);
		if (r) {
			struct bpf_sock *sk = ctx->sk;
			r->family = sk ? sk->family : SLUICE_AF_INET;
			r->l4_proto = sk ? sk->protocol : 0;
			r->body.sockopt.level = level;
			r->body.sockopt.optname = name;
			sluice_submit(r);
		}
		if (!ok)
			return 0;
	}
	/* Untouched option: a value over a page must be handed back as the caller's, not ours. */
	if (ctx->optlen > SLUICE_PAGE_SIZE)
		ctx->optlen = 0;
	return 1;
}
