// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * `apply`: batches of map operations on stdin (README.md), each validated as
 * a whole before any map is written, then applied in an order that never
 * opens a window:
 *   1. new policies: rule entries, resolvers, then the policy marker — none is
 *      referenced yet, so on failure they are rolled back and nothing changed;
 *   2. default / cgroup / bypass entries: each one atomic 8-byte-value flip
 *      from an old complete policy to a new complete one;
 *   3. cgroup-del / bypass-del;
 *   4. one RCU grace period (membarrier), so a program that read the old
 *      policy id before the flip has finished, then policy-del.
 * Policies are immutable: changing one means a new id. The process holds the
 * writer lock for its lifetime, so the policy service keeps one `apply`
 * running and a second writer on the node is refused.
 */
#define _GNU_SOURCE
#include "apply.h"
#include "common.h"

#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/membarrier.h>
#include <bpf/bpf.h>

struct maps {
	int cgroups, config, policies, bypass, rules, resolvers, hosts;
};

/* One host_rules entry: every `host` op of a policy with the same (match, hash) merged. */
struct host_entry {
	struct sluice_host_key key;
	struct sluice_rule_value val;
	int op;
};

struct entry {
	struct sluice_rule_key key;
	struct sluice_rule_value val;
	int op; /* first rule op naming this prefix */
};

struct plan {
	struct entry *e;
	int n, cap;
	struct host_entry *h;
	int nh, caph;
};

static int defined_in_batch(const struct batch *b, __u32 id)
{
	for (int i = 0; i < b->n; i++)
		if (b->ops[i].kind == OP_POLICY && b->ops[i].policy_id == id)
			return 1;
	return 0;
}

static int deleted_in_batch(const struct batch *b, __u32 id)
{
	for (int i = 0; i < b->n; i++)
		if (b->ops[i].kind == OP_POLICY_DEL && b->ops[i].policy_id == id)
			return 1;
	return 0;
}

static int policy_in_map(const struct maps *m, __u32 id)
{
	struct sluice_policy p;
	return id == 0 || bpf_map_lookup_elem(m->policies, &id, &p) == 0;
}

static void reject(struct batch *b, struct op *op, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void reject(struct batch *b, struct op *op, const char *fmt, ...)
{
	if (op->status < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(op->err, sizeof(op->err), fmt, ap);
	va_end(ap);
	op->status = -1;
	b->errors++;
}

static int prefix_contains(const __u8 *outer, __u32 outer_len, const __u8 *inner)
{
	for (__u32 bit = 0; bit < outer_len; bit++) {
		__u8 mask = 0x80 >> (bit % 8);
		if ((outer[bit / 8] & mask) != (inner[bit / 8] & mask))
			return 0;
	}
	return 1;
}

/* A range already covered by an earlier (more specific) one adds nothing. */
static int covered(const struct sluice_rule_value *v, const struct sluice_port_range *r)
{
	for (__u32 i = 0; i < v->count; i++) {
		const struct sluice_port_range *o = &v->range[i];
		if ((o->proto == 0 || o->proto == r->proto) && o->lo <= r->lo && o->hi >= r->hi)
			return 1;
	}
	return 0;
}

static int by_specificity(const void *a, const void *b, void *ops)
{
	const struct op *o = ops;
	return (int)o[*(const int *)b].prefixlen - (int)o[*(const int *)a].prefixlen;
}

/* The LPM closure of one policy: every distinct prefix gets the ranges of all
 * rules containing it, most specific first (so the reported rule is the
 * narrowest that matched). */
static void plan_policy(struct batch *b, __u32 pid, struct plan *pl)
{
	int *idx = malloc(sizeof(int) * (b->n + 1)), nr = 0;
	if (!idx)
		die(EXIT_FAIL, "apply: out of memory");
	for (int i = 0; i < b->n; i++)
		if (b->ops[i].kind == OP_RULE && b->ops[i].policy_id == pid)
			idx[nr++] = i;
	qsort_r(idx, nr, sizeof(int), by_specificity, b->ops);

	int first = pl->n;
	for (int i = 0; i < nr; i++) {
		struct op *r = &b->ops[idx[i]];
		int j;
		for (j = first; j < pl->n; j++)
			if (pl->e[j].key.prefixlen == 32 + r->prefixlen && !memcmp(pl->e[j].key.addr, r->addr, 16))
				break;
		if (j < pl->n)
			continue;
		if (pl->n == pl->cap) {
			pl->cap = pl->cap ? pl->cap * 2 : 64;
			pl->e = realloc(pl->e, pl->cap * sizeof(*pl->e));
			if (!pl->e)
				die(EXIT_FAIL, "apply: out of memory");
		}
		struct entry *e = &pl->e[pl->n++];
		memset(e, 0, sizeof(*e));
		e->key.prefixlen = 32 + r->prefixlen;
		e->key.policy_id = pid;
		memcpy(e->key.addr, r->addr, 16);
		e->op = idx[i];
	}
	for (int j = first; j < pl->n; j++) {
		struct entry *e = &pl->e[j];
		for (int i = 0; i < nr; i++) {
			struct op *r = &b->ops[idx[i]];
			if (32 + r->prefixlen > e->key.prefixlen || !prefix_contains(r->addr, r->prefixlen, e->key.addr))
				continue;
			for (int k = 0; k < r->nranges; k++) {
				if (covered(&e->val, &r->ranges[k]))
					continue;
				if (e->val.count == SLUICE_MAX_RANGES) {
					char cidr[64];
					format_cidr(cidr, sizeof(cidr), e->key.addr, e->key.prefixlen - 32);
					reject(b, &b->ops[e->op],
					       "%s needs more than %d port ranges once the rules containing it are included",
					       cidr, SLUICE_MAX_RANGES);
					goto next;
				}
				e->val.range[e->val.count++] = r->ranges[k];
			}
		}
	next:;
	}
	free(idx);
}

/* Host rules of one policy: ops naming the same pattern share an entry (ranges merged). */
static void plan_hosts(struct batch *b, __u32 pid, struct plan *pl)
{
	int first = pl->nh;
	for (int i = 0; i < b->n; i++) {
		struct op *r = &b->ops[i];
		if (r->kind != OP_HOST || r->policy_id != pid || r->status < 0)
			continue;
		int j;
		for (j = first; j < pl->nh; j++)
			if (pl->h[j].key.match == r->host_match && pl->h[j].key.name_hash == r->name_hash)
				break;
		if (j == pl->nh) {
			if (pl->nh == pl->caph) {
				pl->caph = pl->caph ? pl->caph * 2 : 64;
				pl->h = realloc(pl->h, pl->caph * sizeof(*pl->h));
				if (!pl->h)
					die(EXIT_FAIL, "apply: out of memory");
			}
			struct host_entry *e = &pl->h[pl->nh++];
			memset(e, 0, sizeof(*e));
			e->key = (struct sluice_host_key){ .policy_id = pid, .match = r->host_match, .name_hash = r->name_hash };
			e->op = i;
		}
		struct host_entry *e = &pl->h[j];
		for (int k = 0; k < r->nranges; k++) {
			if (covered(&e->val, &r->ranges[k]))
				continue;
			if (e->val.count == SLUICE_MAX_RANGES) {
				reject(b, r, "this pattern needs more than %d port ranges across the rules naming it",
				       SLUICE_MAX_RANGES);
				break;
			}
			e->val.range[e->val.count++] = r->ranges[k];
		}
	}
}

/* 1 default, 2 a cgroup's entry, 3 a cgroup's bypass, 0 not a target op. */
static int target_class(const struct op *o)
{
	switch (o->kind) {
	case OP_DEFAULT: return 1;
	case OP_CGROUP: case OP_CGROUP_DEL: return 2;
	case OP_BYPASS: case OP_BYPASS_DEL: return 3;
	case OP_TIMEOUTS: return 4;
	default: return 0;
	}
}

static int same_target(const struct op *a, const struct op *b)
{
	int c = target_class(a);
	return c && c == target_class(b) && (c == 1 || c == 4 || a->cgid == b->cgid);
}

static int cgroup_touched(const struct batch *b, uint64_t cgid, __u32 keep_policy)
{
	for (int i = 0; i < b->n; i++) {
		const struct op *o = &b->ops[i];
		if (o->cgid != cgid)
			continue;
		if (o->kind == OP_CGROUP_DEL || (o->kind == OP_CGROUP && o->policy_id != keep_policy))
			return 1;
	}
	return 0;
}

static void validate(struct batch *b, const struct maps *m, struct plan *pl)
{
	for (int i = 0; i < b->n; i++) {
		struct op *o = &b->ops[i];
		if (o->status < 0)
			continue;
		switch (o->kind) {
		case OP_POLICY:
			if (policy_in_map(m, o->policy_id))
				reject(b, o, "policy %u already exists; policies are immutable, write a new id", o->policy_id);
			for (int j = 0; j < i; j++)
				if (b->ops[j].kind == OP_POLICY && b->ops[j].policy_id == o->policy_id)
					reject(b, o, "policy %u defined twice in this batch", o->policy_id);
			break;
		case OP_RULE:
		case OP_HOST:
		case OP_RESOLVER:
			if (!defined_in_batch(b, o->policy_id))
				reject(b, o, "policy %u is not defined in this batch (rules belong to a new policy id)",
				       o->policy_id);
			for (int j = 0; o->kind == OP_RESOLVER && j < i; j++)
				if (b->ops[j].kind == OP_RESOLVER && b->ops[j].policy_id == o->policy_id &&
				    !memcmp(b->ops[j].addr, o->addr, 16))
					reject(b, o, "resolver listed twice for policy %u", o->policy_id);
			break;
		case OP_DEFAULT:
		case OP_CGROUP:
			if (deleted_in_batch(b, o->policy_id) ||
			    !(defined_in_batch(b, o->policy_id) || policy_in_map(m, o->policy_id)))
				reject(b, o, "policy %u does not exist", o->policy_id);
			/* fallthrough */
		case OP_BYPASS:
		case OP_CGROUP_DEL:
		case OP_BYPASS_DEL:
		case OP_TIMEOUTS:
			for (int j = 0; j < i; j++)
				if (same_target(&b->ops[j], o))
					reject(b, o, "conflicts with line %d (one change per target per batch)", b->ops[j].line);
			break;
		case OP_POLICY_DEL:
			if (!policy_in_map(m, o->policy_id))
				reject(b, o, "policy %u does not exist", o->policy_id);
			if (defined_in_batch(b, o->policy_id))
				reject(b, o, "policy %u both defined and deleted in this batch", o->policy_id);
			break;
		}
	}

	/* A policy may go only when nothing references it after the batch. */
	for (int i = 0; i < b->n; i++) {
		struct op *o = &b->ops[i];
		if (o->kind != OP_POLICY_DEL || o->status < 0)
			continue;
		int dflt_changed = 0;
		for (int j = 0; j < b->n; j++)
			if (b->ops[j].kind == OP_DEFAULT) {
				dflt_changed = 1;
				if (b->ops[j].policy_id == o->policy_id)
					reject(b, o, "policy %u is the default after this batch", o->policy_id);
			}
		__u32 zero = 0;
		struct sluice_config cfg;
		if (!dflt_changed && !bpf_map_lookup_elem(m->config, &zero, &cfg) && cfg.default_policy_id == o->policy_id)
			reject(b, o, "policy %u is the default policy", o->policy_id);
		for (int j = 0; j < b->n; j++)
			if (b->ops[j].kind == OP_CGROUP && b->ops[j].policy_id == o->policy_id)
				reject(b, o, "policy %u is assigned on line %d", o->policy_id, b->ops[j].line);
		__u64 key, next, *prev = NULL;
		while (!bpf_map_get_next_key(m->cgroups, prev, &next)) {
			struct sluice_cgroup_entry ce;
			key = next;
			prev = &key;
			if (!bpf_map_lookup_elem(m->cgroups, &key, &ce) && ce.policy_id == o->policy_id &&
			    !cgroup_touched(b, key, o->policy_id))
				reject(b, o, "policy %u is still used by cgroup %llu", o->policy_id, (unsigned long long)key);
		}
	}

	for (int i = 0; i < b->n; i++)
		if (b->ops[i].kind == OP_POLICY && b->ops[i].status == 0) {
			plan_policy(b, b->ops[i].policy_id, pl);
			plan_hosts(b, b->ops[i].policy_id, pl);
		}
}

static int fail_errno(struct op *o, const char *what)
{
	snprintf(o->err, sizeof(o->err), "%s: %s", what, strerror(errno));
	o->status = -1;
	return -1;
}

static void rollback_new(const struct batch *b, const struct maps *m, const struct plan *pl)
{
	for (int i = 0; i < b->n; i++) {
		const struct op *o = &b->ops[i];
		if (o->kind == OP_POLICY)
			bpf_map_delete_elem(m->policies, &o->policy_id);
		if (o->kind == OP_RESOLVER) {
			struct sluice_resolver_key rk = { .policy_id = o->policy_id };
			memcpy(rk.addr, o->addr, 16);
			bpf_map_delete_elem(m->resolvers, &rk);
		}
	}
	for (int j = 0; j < pl->n; j++)
		bpf_map_delete_elem(m->rules, &pl->e[j].key);
	for (int j = 0; j < pl->nh; j++)
		bpf_map_delete_elem(m->hosts, &pl->h[j].key);
}

static int write_new_policies(struct batch *b, const struct maps *m, const struct plan *pl)
{
	for (int j = 0; j < pl->n; j++)
		if (bpf_map_update_elem(m->rules, &pl->e[j].key, &pl->e[j].val, BPF_NOEXIST))
			return fail_errno(&b->ops[pl->e[j].op], "writing rule entry");
	for (int j = 0; j < pl->nh; j++)
		if (bpf_map_update_elem(m->hosts, &pl->h[j].key, &pl->h[j].val, BPF_NOEXIST))
			return fail_errno(&b->ops[pl->h[j].op], "writing host rule");
	for (int i = 0; i < b->n; i++) {
		struct op *o = &b->ops[i];
		if (o->kind != OP_RESOLVER)
			continue;
		struct sluice_resolver_key rk = { .policy_id = o->policy_id };
		memcpy(rk.addr, o->addr, 16);
		if (bpf_map_update_elem(m->resolvers, &rk, &o->rule_id, BPF_NOEXIST))
			return fail_errno(o, "writing resolver");
	}
	/* The marker last: a policy is visible only when complete. */
	for (int i = 0; i < b->n; i++) {
		struct op *o = &b->ops[i];
		if (o->kind != OP_POLICY)
			continue;
		struct sluice_policy p = { .flags = o->policy_flags };
		if (bpf_map_update_elem(m->policies, &o->policy_id, &p, BPF_NOEXIST))
			return fail_errno(o, "writing policy");
	}
	return 0;
}

static int write_one(struct op *o, const struct maps *m)
{
	__u32 zero = 0;
	switch (o->kind) {
	case OP_DEFAULT: {
		struct sluice_config cfg = {};
		bpf_map_lookup_elem(m->config, &zero, &cfg);
		cfg.default_policy_id = o->policy_id;
		cfg.default_mode = o->mode;
		return bpf_map_update_elem(m->config, &zero, &cfg, BPF_ANY) ? fail_errno(o, "writing default") : 0;
	}
	case OP_TIMEOUTS: {
		struct sluice_config cfg = {};
		bpf_map_lookup_elem(m->config, &zero, &cfg);
		cfg.active_timeout_ns = o->active_ns;
		cfg.udp_idle_ns = o->udp_idle_ns;
		return bpf_map_update_elem(m->config, &zero, &cfg, BPF_ANY) ? fail_errno(o, "writing timeouts") : 0;
	}
	case OP_CGROUP: {
		struct sluice_cgroup_entry ce = { .policy_id = o->policy_id, .mode = o->mode };
		return bpf_map_update_elem(m->cgroups, &o->cgid, &ce, BPF_ANY) ? fail_errno(o, "writing cgroup") : 0;
	}
	case OP_BYPASS: {
		struct sluice_bypass bp = { .expires_boot_ns = o->expires_ns };
		return bpf_map_update_elem(m->bypass, &o->cgid, &bp, BPF_ANY) ? fail_errno(o, "writing bypass") : 0;
	}
	case OP_CGROUP_DEL:
		return bpf_map_delete_elem(m->cgroups, &o->cgid) && errno != ENOENT ? fail_errno(o, "deleting cgroup") : 0;
	case OP_BYPASS_DEL:
		return bpf_map_delete_elem(m->bypass, &o->cgid) && errno != ENOENT ? fail_errno(o, "deleting bypass") : 0;
	default:
		return 0;
	}
}

/* Waits until every program that started before now has returned. */
static void grace_period(void)
{
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		usleep(100 * 1000); /* nohz_full kernels refuse GLOBAL: a generous sleep instead */
}

static int delete_policy(struct op *o, const struct maps *m)
{
	if (bpf_map_delete_elem(m->policies, &o->policy_id))
		return fail_errno(o, "deleting policy");
	/* Collect first: deleting while walking get_next_key can skip keys. */
	struct sluice_rule_key rk, rcur, *rprev = NULL, *rkeys = NULL;
	int nr = 0, cap = 0;
	while (!bpf_map_get_next_key(m->rules, rprev, &rk)) {
		if (rk.policy_id == o->policy_id) {
			if (nr == cap && !(rkeys = realloc(rkeys, (cap = cap ? cap * 2 : 64) * sizeof(rk))))
				die(EXIT_FAIL, "apply: out of memory");
			rkeys[nr++] = rk;
		}
		rcur = rk;
		rprev = &rcur;
	}
	for (int i = 0; i < nr; i++)
		if (bpf_map_delete_elem(m->rules, &rkeys[i]) && errno != ENOENT)
			return free(rkeys), fail_errno(o, "deleting rule entry");
	free(rkeys);
	struct sluice_host_key hk, hcur, *hprev = NULL, *hkeys = NULL;
	int nhk = 0, caphk = 0;
	while (!bpf_map_get_next_key(m->hosts, hprev, &hk)) {
		if (hk.policy_id == o->policy_id) {
			if (nhk == caphk && !(hkeys = realloc(hkeys, (caphk = caphk ? caphk * 2 : 64) * sizeof(hk))))
				die(EXIT_FAIL, "apply: out of memory");
			hkeys[nhk++] = hk;
		}
		hcur = hk;
		hprev = &hcur;
	}
	for (int i = 0; i < nhk; i++)
		if (bpf_map_delete_elem(m->hosts, &hkeys[i]) && errno != ENOENT)
			return free(hkeys), fail_errno(o, "deleting host rule");
	free(hkeys);
	struct sluice_resolver_key sk, cur, *sprev = NULL;
	while (!bpf_map_get_next_key(m->resolvers, sprev, &sk)) {
		if (sk.policy_id == o->policy_id) {
			bpf_map_delete_elem(m->resolvers, &sk);
			sprev = NULL; /* restart: the walk position is gone */
			continue;
		}
		cur = sk;
		sprev = &cur;
	}
	return 0;
}

static int run_batch(struct batch *b, const struct maps *m)
{
	struct plan pl = { 0 };
	validate(b, m, &pl);
	int ok = b->errors == 0;
	if (ok && write_new_policies(b, m, &pl)) {
		rollback_new(b, m, &pl);
		ok = 0;
	}
	int need_grace = 0;
	static const enum op_kind order[] = { OP_TIMEOUTS, OP_DEFAULT, OP_CGROUP, OP_BYPASS, OP_CGROUP_DEL, OP_BYPASS_DEL };
	for (unsigned s = 0; ok && s < sizeof(order) / sizeof(order[0]); s++)
		for (int i = 0; ok && i < b->n; i++)
			if (b->ops[i].kind == order[s] && write_one(&b->ops[i], m))
				ok = 0;
	for (int i = 0; ok && i < b->n; i++)
		if (b->ops[i].kind == OP_POLICY_DEL) {
			if (!need_grace++)
				grace_period();
			if (delete_policy(&b->ops[i], m))
				ok = 0;
		}
	free(pl.e);
	free(pl.h);

	for (int i = 0; i < b->n; i++) {
		struct op *o = &b->ops[i];
		printf("{\"line\":%d,\"op\":\"%s\",\"ok\":%s", o->line, op_name(o->kind), ok ? "true" : "false");
		if (!ok) {
			char msg[256];
			if (o->status < 0)
				snprintf(msg, sizeof(msg), "%s", o->err);
			else
				snprintf(msg, sizeof(msg), "not applied: %s", b->errors ? "batch rejected" : "batch stopped");
			printf(",\"error\":");
			json_str(stdout, msg);
		}
		printf("}\n");
	}
	return ok;
}

int cmd_apply(const struct opts *o)
{
	pin_dir_prepare(o->pin, 0);
	writer_lock(o->pin, "apply");
	struct maps m = {
		.cgroups = open_pinned(o->pin, "cgroup_policy"),
		.config = open_pinned(o->pin, "config"),
		.policies = open_pinned(o->pin, "policies"),
		.bypass = open_pinned(o->pin, "bypass"),
		.rules = open_pinned(o->pin, "rules"),
		.resolvers = open_pinned(o->pin, "resolvers"),
		.hosts = open_pinned(o->pin, "host_rules"),
	};
	struct batch b = { 0 };
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, nbatch = 0, failed = 0, eof = 0;
	while (!eof) {
		ssize_t len = getline(&line, &cap, stdin);
		eof = len < 0;
		if (!eof) {
			lineno++;
			char *hash = strchr(line, '#');
			if (hash)
				*hash = 0;
			char *s = line + strspn(line, " \t\r\n");
			if (!*s)
				continue;
			if (strncmp(s, "commit", 6) || s[6 + strspn(s + 6, " \t\r\n")]) {
				parse_line(&b, lineno, s);
				continue;
			}
		}
		if (!b.n)
			continue;
		int ok = run_batch(&b, &m);
		nbatch++;
		failed += !ok;
		printf("{\"batch\":%d,\"ok\":%s,\"ops\":%d,\"errors\":%d}\n", nbatch, ok ? "true" : "false", b.n,
		       ok ? 0 : (b.errors ? b.errors : 1));
		fflush(stdout);
		b.n = 0;
		b.errors = 0;
	}
	free(line);
	free(b.ops);
	return failed ? EXIT_FAIL : EXIT_OK;
}
