// SPDX-License-Identifier: GPL-2.0
/*
 * sock_create: raw IP sockets (and ICMP "ping" datagram sockets, whose sends
 * no sendmsg hook sees) would carry traffic past connect/sendmsg, so enforced
 * cgroups may not create them. Only these sockets are recorded: recording
 * every socket() would flood the ring for nothing. AF_PACKET never reaches
 * this hook (inet sockets only): a residual gap, see README.
 */
#include "emit.h"

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
