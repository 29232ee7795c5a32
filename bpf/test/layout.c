// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Prints the record layout as the C compiler sees it; kernel-record.layout test compares it with the TS decoder. */
#include <stddef.h>
#include <stdio.h>
#include "../record.h"
#include "../map_types.h"

#define F(field) printf("%s\"%s\":[%zu,%zu]", n++ ? "," : "", #field, offsetof(struct sluice_record, field), \
			sizeof(((struct sluice_record *)0)->field))

int main(void)
{
	int n = 0;
	printf("{\"size\":%zu,\"version\":%d,\"fields\":{", sizeof(struct sluice_record), SLUICE_RECORD_VERSION);
	F(version); F(kind); F(verdict); F(reason); F(family); F(l4_proto); F(mode); F(flags); F(policy_id);
	F(ts_ns); F(cgroup_id); F(socket_cookie); F(pid); F(tid); F(rule_id); F(domain_hash); F(dst_addr);
	F(src_addr); F(dst_port); F(src_port); F(comm); F(body);
	F(body.flow.bytes_out); F(body.flow.bytes_in); F(body.flow.duration_ns); F(body.flow.packets_out);
	F(body.flow.packets_in); F(body.sock.sock_type); F(body.sock.sock_protocol); F(body.dns.ttl);
	F(body.dns.qtype); F(body.dns.rcode); F(body.dns.answer_index); F(body.dns.answer_count);
	F(body.dns.qname_len); F(body.dns.rejected); F(body.dns.qname); F(body.counters.value);
	F(body.sockopt.level); F(body.sockopt.optname); F(body.escape.to_cgroup_id); F(body.bpf.cmd);
	printf("},\"counters_ext\":[%d,%d]", SLUICE_COUNTERS_EXT_OFF, SLUICE_COUNTERS_EXT_SLOTS * 8);
	printf(",\"packed\":[%d,%d]", SLUICE_PACKED_HEADER, SLUICE_PACKED_MIN_KEEP);
	printf(",\"enums\":{\"kind\":{\"connect\":%d,\"sendmsg\":%d,\"tcp_close\":%d,\"tcp_interim\":%d,"
	       "\"udp_flow\":%d,\"dns\":%d,\"sock_create\":%d,\"counters\":%d,\"bind\":%d,\"sockopt\":%d,"
	       "\"packet\":%d,\"escape\":%d,\"bpf\":%d},",
	       SLUICE_KIND_CONNECT, SLUICE_KIND_SENDMSG, SLUICE_KIND_TCP_CLOSE, SLUICE_KIND_TCP_INTERIM,
	       SLUICE_KIND_UDP_FLOW, SLUICE_KIND_DNS, SLUICE_KIND_SOCK_CREATE, SLUICE_KIND_COUNTERS, SLUICE_KIND_BIND,
	       SLUICE_KIND_SOCKOPT, SLUICE_KIND_PACKET, SLUICE_KIND_ESCAPE, SLUICE_KIND_BPF);
	printf("\"verdict\":{\"none\":%d,\"allowed\":%d,\"denied\":%d,\"bypassed\":%d},", SLUICE_VERDICT_NONE,
	       SLUICE_VERDICT_ALLOWED, SLUICE_VERDICT_DENIED, SLUICE_VERDICT_BYPASSED);
	printf("\"reason\":{\"none\":%d,\"rule\":%d,\"default\":%d,\"resolver\":%d,\"loopback\":%d,\"bypass\":%d,"
	       "\"raw_socket\":%d,\"host\":%d,\"rule_port\":%d,\"dns_bind\":%d,\"source_route_opt\":%d,"
	       "\"source_route\":%d,\"bpf_syscall\":%d},",
	       SLUICE_REASON_NONE, SLUICE_REASON_RULE, SLUICE_REASON_DEFAULT, SLUICE_REASON_RESOLVER,
	       SLUICE_REASON_LOOPBACK, SLUICE_REASON_BYPASS, SLUICE_REASON_RAW, SLUICE_REASON_HOST,
	       SLUICE_REASON_RULE_PORT, SLUICE_REASON_DNS_BIND, SLUICE_REASON_SRCROUTE_OPT, SLUICE_REASON_SRCROUTE,
	       SLUICE_REASON_BPF);
	printf("\"flags\":{\"audit\":%u,\"v4mapped\":%u,\"default_policy\":%u,\"host_stale\":%u,\"qname_trunc\":%u,"
	       "\"dns_forged\":%u,\"clone_into\":%u},",
	       SLUICE_F_AUDIT, SLUICE_F_V4MAPPED, SLUICE_F_DEFAULT_POLICY, SLUICE_F_HOST_STALE, SLUICE_F_QNAME_TRUNC,
	       SLUICE_F_DNS_FORGED, SLUICE_F_CLONE_INTO);
	printf("\"dns_rejected\":{\"ok\":%d,\"unsolicited\":%d,\"mismatch\":%d,\"wrong_socket\":%d,\"untrusted\":%d},",
	       SLUICE_DNS_OK, SLUICE_DNS_UNSOLICITED, SLUICE_DNS_MISMATCH, SLUICE_DNS_WRONG_SOCKET, SLUICE_DNS_UNTRUSTED);
	printf("\"mode\":{\"enforce\":%d,\"learn\":%d}}}\n", SLUICE_MODE_ENFORCE, SLUICE_MODE_LEARN);
	return 0;
}
