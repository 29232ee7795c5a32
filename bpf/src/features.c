// SPDX-License-Identifier: GPL-2.0 OR MIT
/* `sluice-bpf features`: does this kernel support each feature the programs use? Asked of the
 * kernel itself (a map created, a two-instruction program loaded with the attach type, a helper
 * call the verifier accepts), not read off a version string: distribution kernels backport
 * features and configs leave them out. One JSON line per feature; exit 1 if any is missing.
 * Needs no pin dir. min_kernel is the mainline release that introduced the feature, for the
 * message only; null where the probe is the only answer given. */
#include "common.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <unistd.h>

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* kernel-internal: what the verifier returns for an unsupported attach */
#endif

enum probe_kind { MAP, HELPER, ATTACH, TP_BTF, LSM_PROG, LSM_ACTIVE };

struct feature {
	const char *name;
	const char *min_kernel; /* NULL: no single mainline release to name */
	const char *used_by;
	enum probe_kind kind;
	int a; /* map type | prog type */
	int b; /* helper id | attach type */
	const char *btf_name; /* TP_BTF: the tracepoint */
};

static const struct feature features[] = {
	{ "ringbuf", "5.8", "events: every record", MAP, BPF_MAP_TYPE_RINGBUF, 0, NULL },
	{ "bpf_ringbuf_query", "5.8", "emit.h: ring fill level", HELPER, BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_ringbuf_query, NULL },
	{ "bpf_ktime_get_boot_ns", "5.8", "every record's timestamp, bypass expiry", HELPER, BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_ktime_get_boot_ns, NULL },
	{ "bpf_loop", "5.17", "dns_wire.h/dns.h: DNS question and answers", HELPER, BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_loop, NULL },
	{ "bpf_timer", "5.15", "flow.h: UDP idle flush", HELPER, BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_timer_init, NULL },
	{ "cgroup/sock_release", "5.9", "sock.bpf.c: UDP aggregate and failed-connect records at close", ATTACH, BPF_PROG_TYPE_CGROUP_SOCK,
	  BPF_CGROUP_INET_SOCK_RELEASE, NULL },
	{ "cgroup/sock_create", "4.10", "sock.bpf.c: raw and ICMP sockets", ATTACH, BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE, NULL },
	{ "cgroup/setsockopt", "5.3", "guard.bpf.c: source-routing options", ATTACH, BPF_PROG_TYPE_CGROUP_SOCKOPT, BPF_CGROUP_SETSOCKOPT, NULL },
	{ "cgroup/connect4", "4.17", "connect.bpf.c", ATTACH, BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT, NULL },
	{ "cgroup/bind4", "4.17", "guard.bpf.c: no bind to port 53", ATTACH, BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_BIND, NULL },
	{ "cgroup/sendmsg6", "4.18", "connect.bpf.c: UDP", ATTACH, BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_SENDMSG, NULL },
	{ "cgroup_skb", "4.10", "skb.bpf.c", ATTACH, BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS, NULL },
	{ "sockops", "4.13", "flow.bpf.c: TCP close", ATTACH, BPF_PROG_TYPE_SOCK_OPS, BPF_CGROUP_SOCK_OPS, NULL },
	{ "bpf_sock_ops_cb_flags_set", "4.16", "flow.bpf.c: TCP state callbacks", HELPER, BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_sock_ops_cb_flags_set, NULL },
	{ "sk_storage", "5.2", "flows: per-socket decision", MAP, BPF_MAP_TYPE_SK_STORAGE, 0, NULL },
	{ "bpf_sk_storage_get in cgroup/connect", NULL, "connect.bpf.c", HELPER, BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_FUNC_sk_storage_get, NULL },
	{ "bpf_sk_storage_get in cgroup/sock", NULL, "sock.bpf.c", HELPER, BPF_PROG_TYPE_CGROUP_SOCK, BPF_FUNC_sk_storage_get, NULL },
	{ "bpf_get_socket_cookie in cgroup/sock", NULL, "sock.bpf.c", HELPER, BPF_PROG_TYPE_CGROUP_SOCK, BPF_FUNC_get_socket_cookie, NULL },
	{ "bpf_skb_cgroup_id in cgroup_skb", NULL, "skb.bpf.c: DNS answers per cgroup", HELPER, BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_skb_cgroup_id, NULL },
	{ "lpm_trie", "4.11", "rules", MAP, BPF_MAP_TYPE_LPM_TRIE, 0, NULL },
	{ "lru_hash", "4.10", "dns_cache, dns_queries, tracked", MAP, BPF_MAP_TYPE_LRU_HASH, 0, NULL },
	{ "tp_btf/cgroup_attach_task", "5.5", "escape.bpf.c: leaving the scope (needs kernel BTF)", TP_BTF, 0, 0, "cgroup_attach_task" },
	{ "tp_btf/sched_process_fork", "5.5", "escape.bpf.c", TP_BTF, 0, 0, "sched_process_fork" },
	/* The tamper guard is optional: without it `load` still works (loudly), so these two report
	 * but do not fail the command (optional below). */
	{ "lsm/bpf", "5.7", "tamper.bpf.c: refuse bpf() from the managed scope (optional; needs CONFIG_BPF_LSM)", LSM_PROG, 0, 0, "bpf" },
	{ "bpf LSM active", NULL, "tamper.bpf.c (optional): without it, tamper protection rests on the pins' file permissions and seccomp", LSM_ACTIVE, 0, 0, NULL },
};

static int optional(const struct feature *f)
{
	return f->kind == LSM_PROG || f->kind == LSM_ACTIVE;
}

/* r0 = ret; exit */
static int load_trivial(enum bpf_prog_type type, enum bpf_attach_type attach, __u32 btf_id, int ret, char *log, size_t loglen)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = ret },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = attach, .attach_btf_id = btf_id, .log_buf = log,
		    .log_size = (__u32)loglen, .log_level = log ? 1 : 0);
	int fd = bpf_prog_load(type, NULL, "GPL", insns, 2, &opts);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* libbpf's probes read a refused load as "not supported" (maps) or "assume supported" (helpers):
 * without the privilege to load at all, neither answer means anything. So first load a program
 * every supported kernel takes; if that is refused for want of privilege, nothing is probed. */
static int probe_gate;

/* 1 supported, 0 not, <0 could not tell (errno). detail says why. */
static int probe(const struct feature *f, char *detail, size_t len)
{
	int r;
	char log[512] = "";
	if (probe_gate < 0) {
		snprintf(detail, len, "could not probe: %s (needs root: CAP_BPF and CAP_NET_ADMIN, or CAP_SYS_ADMIN)", strerror(-probe_gate));
		return probe_gate;
	}
	switch (f->kind) {
	case MAP:
		r = libbpf_probe_bpf_map_type(f->a, NULL);
		break;
	case HELPER:
		r = libbpf_probe_bpf_helper(f->a, f->b, NULL);
		break;
	case ATTACH:
		/* A kernel that does not know the attach type refuses the load with EINVAL. */
		r = load_trivial(f->a, f->b, 0, 1, NULL, 0);
		if (r == -EINVAL) {
			snprintf(detail, len, "the kernel refused a program with this attach type (EINVAL)");
			return 0;
		}
		r = r == 0 ? 1 : r;
		break;
	case TP_BTF: {
		int id = libbpf_find_vmlinux_btf_id(f->btf_name, BPF_TRACE_RAW_TP);
		if (id < 0) {
			snprintf(detail, len, "no btf_trace_%s in the kernel BTF (/sys/kernel/btf/vmlinux): %s", f->btf_name, strerror(-id));
			return 0;
		}
		r = load_trivial(BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, (__u32)id, 0, log, sizeof(log));
		if (r == -EINVAL || r == -ENOTSUPP || r == -EOPNOTSUPP) {
			snprintf(detail, len, "the kernel refused a tp_btf program: %s", strerror(-r));
			return 0;
		}
		r = r == 0 ? 1 : r;
		break;
	}
	case LSM_PROG: {
		int id = libbpf_find_vmlinux_btf_id(f->btf_name, BPF_LSM_MAC);
		if (id < 0) {
			snprintf(detail, len, "no bpf_lsm_%s in the kernel BTF: the kernel was built without CONFIG_BPF_LSM", f->btf_name);
			return 0;
		}
		r = load_trivial(BPF_PROG_TYPE_LSM, BPF_LSM_MAC, (__u32)id, 0, log, sizeof(log));
		/* The gate above loaded a program, so EPERM here is the kernel refusing this type, not
		 * our privilege (some kernels refuse every trampoline program: lsm/, fentry/). */
		if (r == -EINVAL || r == -ENOTSUPP || r == -EOPNOTSUPP || r == -EPERM) {
			snprintf(detail, len, "the kernel refused to load an lsm program: %s", strerror(-r));
			return 0;
		}
		r = r == 0 ? 1 : r;
		break;
	}
	case LSM_ACTIVE:
		return bpf_lsm_active(detail, len);
	default:
		r = -EINVAL;
	}
	if (r < 0)
		snprintf(detail, len, "could not probe: %s", strerror(-r));
	else if (r == 0 && !*detail)
		snprintf(detail, len, "%s", f->kind == MAP ? "the kernel refused to create this map type" : "the verifier does not know this helper for this program type");
	return r;
}

/* "helper:PROG_TYPE:HELPER_ID" or "attach:PROG_TYPE:ATTACH_TYPE" (numbers, as in linux/bpf.h): a
 * probe beyond the built-in list, for a program being added, and for the test that shows a missing
 * feature is reported as missing. */
static int parse_extra(const char *arg, struct feature *f)
{
	char kind[16];
	int a, b;
	if (sscanf(arg, "%15[a-z]:%d:%d", kind, &a, &b) != 3 || a < 0 || b < 0)
		return -1;
	memset(f, 0, sizeof(*f));
	f->name = arg;
	f->used_by = "asked on the command line";
	f->a = a;
	f->b = b;
	if (!strcmp(kind, "helper"))
		f->kind = HELPER;
	else if (!strcmp(kind, "attach"))
		f->kind = ATTACH;
	else
		return -1;
	return 0;
}

int cmd_features(const struct opts *o, int nextra, char **extra)
{
	(void)o;
	int missing = 0;
	size_t nbuiltin = sizeof(features) / sizeof(features[0]);
	/* libbpf's own probes print nothing we need: keep stdout JSON and stderr quiet. */
	libbpf_set_print(NULL);
	probe_gate = load_trivial(BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS, 0, 1, NULL, 0);
	if (probe_gate != -EPERM && probe_gate != -EACCES)
		probe_gate = 0;
	for (size_t i = 0; i < nbuiltin + (size_t)nextra; i++) {
		struct feature asked;
		if (i >= nbuiltin && parse_extra(extra[i - nbuiltin], &asked))
			die(EXIT_USAGE, "features: bad probe %s (helper:PROG_TYPE:HELPER_ID or attach:PROG_TYPE:ATTACH_TYPE)", extra[i - nbuiltin]);
		const struct feature *f = i < nbuiltin ? &features[i] : &asked;
		char detail[256] = "";
		int r = probe(f, detail, sizeof(detail));
		printf("{\"feature\":");
		json_str(stdout, f->name);
		printf(",\"ok\":%s,\"probed\":%s,\"min_kernel\":", r == 1 ? "true" : "false", r >= 0 ? "true" : "false");
		if (f->min_kernel)
			json_str(stdout, f->min_kernel);
		else
			fputs("null", stdout);
		printf(",\"optional\":%s,\"used_by\":", optional(f) ? "true" : "false");
		json_str(stdout, f->used_by);
		printf(",\"detail\":");
		json_str(stdout, detail);
		printf("}\n");
		if (r != 1 && !optional(f))
			missing++;
	}
	fflush(stdout);
	return missing ? EXIT_FAIL : EXIT_OK;
}
