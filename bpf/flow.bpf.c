// SPDX-License-Identifier: GPL-2.0
/*
 * sock_ops: the life of an allowed TCP connection. connect4/6 left its state
 * in socket storage; here the state callback sees every transition, records
 * the flow once at TCP_CLOSE, and the RTT callback (every ACK) emits an
 * interim record once the flow is older than the active timeout, so a
 * long-lived channel is visible before it ends. An idle channel sends no ACKs
 * and carries nothing: it is reported when it next moves, or at close.
 *
 * Application bytes from the kernel's sequence-space counters (measured):
 * bytes_acked counts our SYN and FIN, bytes_received the peer's FIN. Which of
 * them happened is read off the state machine: ESTABLISHED (SYN acked),
 * FIN_WAIT2 / LAST_ACK->CLOSE / CLOSING->CLOSE (our FIN acked), CLOSE_WAIT /
 * CLOSING (peer FIN), and FIN_WAIT2->CLOSE with bytes received since
 * FIN_WAIT2 (tcp_fin -> tcp_time_wait; an orphaned socket whose FIN was
 * acked turns into a time-wait sock without receiving anything).
 */
#include "flow.h"

char LICENSE[] SEC("license") = "GPL";

/* BPF_TCP_* (linux/bpf.h) */
#define S_ESTABLISHED 1
#define S_FIN_WAIT2 5
#define S_CLOSE 7
#define S_CLOSE_WAIT 8
#define S_LAST_ACK 9
#define S_CLOSING 11

static __always_inline __u64 sub_sat(__u64 a, __u64 b)
{
	return a > b ? a - b : 0;
}

static __always_inline void sluice_tcp_emit(struct bpf_sock_ops *skops, struct sluice_tcp_flow *tf, __u8 kind,
					    __u64 now)
{
	__u64 in = sub_sat(skops->bytes_received, tf->fin_in);
	__u64 out = sub_sat(skops->bytes_acked, (__u64)tf->established + tf->fin_out);
	__u32 segs_in = skops->data_segs_in, segs_out = skops->data_segs_out;
	struct sluice_record *r = sluice_flow_record_begin(kind, &tf->info, bpf_get_socket_cookie(skops));
	if (r) {
		r->body.flow.bytes_in = sub_sat(in, tf->reported_in);
		r->body.flow.bytes_out = sub_sat(out, tf->reported_out);
		r->body.flow.packets_in = segs_in - tf->segs_in_reported;
		r->body.flow.packets_out = segs_out - tf->segs_out_reported;
		r->body.flow.duration_ns = now - tf->info.start_ns;
		r->src_port = (__u16)skops->local_port;
		if (skops->family == SLUICE_AF_INET6) {
			/* One 4-byte context read each: clang would merge them into 8-byte reads the verifier refuses. */
			__u32 s[4];
			for (int i = 0; i < 4; i++)
				s[i] = *(volatile __u32 *)&skops->local_ip6[i];
			__builtin_memcpy(r->src_addr, s, 16);
		} else {
			__u32 s4 = skops->local_ip4;
			__builtin_memcpy(r->src_addr, &s4, 4);
		}
		sluice_submit(r);
	}
	/* Even if the record was dropped (counted): the next one must not repeat these bytes. */
	tf->reported_in = in > tf->reported_in ? in : tf->reported_in;
	tf->reported_out = out > tf->reported_out ? out : tf->reported_out;
	tf->segs_in_reported = segs_in;
	tf->segs_out_reported = segs_out;
	tf->last_report_ns = now;
}

SEC("sockops")
int sluice_sock_ops(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	if (!sk)
		return 1;
	__u32 op = skops->op;
	if (op != BPF_SOCK_OPS_TCP_CONNECT_CB && op != BPF_SOCK_OPS_STATE_CB && op != BPF_SOCK_OPS_RTT_CB)
		return 1;
	struct sluice_tcp_flow *tf = bpf_sk_storage_get(&flows, sk, 0, 0);
	if (!tf || tf->info.l4_proto != SLUICE_IPPROTO_TCP)
		return 1; /* not a flow connect4/6 allowed (accepted sockets, denied, pre-attach) */

	if (op == BPF_SOCK_OPS_TCP_CONNECT_CB) {
		tf->started = 1;
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG |
							 BPF_SOCK_OPS_RTT_CB_FLAG);
		return 1;
	}
	__u64 now = bpf_ktime_get_boot_ns();
	if (op == BPF_SOCK_OPS_RTT_CB) {
		if (now - tf->last_report_ns >= sluice_cfg_active_ns())
			sluice_tcp_emit(skops, tf, SLUICE_KIND_TCP_INTERIM, now);
		return 1;
	}

	__u32 old = skops->args[0], new = skops->args[1];
	if (new == S_ESTABLISHED)
		tf->established = 1;
	else if (new == S_CLOSE_WAIT || new == S_CLOSING)
		tf->fin_in = 1;
	else if (new == S_FIN_WAIT2) {
		tf->fin_out = 1;
		tf->rcvd_at_fw2 = skops->bytes_received;
	} else if (new == S_CLOSE) {
		if (old == S_LAST_ACK || old == S_CLOSING)
			tf->fin_out = 1;
		if (old == S_FIN_WAIT2 && skops->bytes_received > tf->rcvd_at_fw2)
			tf->fin_in = 1;
		sluice_tcp_emit(skops, tf, SLUICE_KIND_TCP_CLOSE, now);
		bpf_sk_storage_delete(&flows, sk);
	}
	return 1;
}
