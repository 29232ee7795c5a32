// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Line protocol of `apply`, one operation per line (grammar in README.md). */
#include "apply.h"
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "../name_hash.h"

static const char *names[] = {
	[OP_POLICY] = "policy",         [OP_RULE] = "rule",           [OP_RESOLVER] = "resolver",
	[OP_DEFAULT] = "default",       [OP_CGROUP] = "cgroup",       [OP_BYPASS] = "bypass",
	[OP_CGROUP_DEL] = "cgroup-del", [OP_BYPASS_DEL] = "bypass-del", [OP_POLICY_DEL] = "policy-del",
	[OP_HOST] = "host",             [OP_TIMEOUTS] = "timeouts",
};

const char *op_name(enum op_kind k)
{
	return names[k];
}

static int fail(struct op *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct op *op, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(op->err, sizeof(op->err), fmt, ap);
	va_end(ap);
	op->status = -1;
	return -1;
}

/*
 * Every number in the protocol is unsigned decimal. strtoul/strtoull skip
 * blanks and accept a sign, and "-1" wraps to the maximum, so only a string
 * of digits gets that far.
 */
static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	if (!*s)
		return -1;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_u32(const char *s, __u32 *out, __u32 min)
{
	unsigned long long v;
	if (parse_uint(s, 0xffffffffULL, &v) || v < min)
		return -1;
	*out = (__u32)v;
	return 0;
}

/* Appended to a refusal whose value carries a minus sign, so the reason is plain. */
static const char *neg_note(const char *s)
{
	return strchr(s, '-') ? "; negative numbers are refused" : "";
}

static int parse_policy_id(struct op *op, const char *s, int allow_zero)
{
	if (parse_u32(s, &op->policy_id, allow_zero ? 0 : 1))
		return fail(op, "bad policy id '%s' (%s%s)", s,
			    allow_zero ? "an integer >= 0" : "an integer > 0; 0 is the reserved deny-all policy", neg_note(s));
	return 0;
}

static int parse_mode(struct op *op, const char *s)
{
	if (!strcmp(s, "enforce"))
		op->mode = SLUICE_MODE_ENFORCE;
	else if (!strcmp(s, "learn"))
		op->mode = SLUICE_MODE_LEARN;
	else
		return fail(op, "bad mode '%s' (enforce | learn)", s);
	return 0;
}

/* "a.b.c.d" or an IPv6 literal; IPv4 (and IPv4-mapped IPv6) land as ::ffff:a.b.c.d. */
static int parse_addr(const char *s, __u8 addr[16], int *is_v4)
{
	struct in_addr a4;
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, &a4) == 1) {
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &a4, 4);
		*is_v4 = 1;
		return 0;
	}
	*is_v4 = 0;
	return inet_pton(AF_INET6, s, addr) == 1 ? 0 : -1;
}

static int parse_cidr(struct op *op, const char *s)
{
	char buf[64];
	int v4;
	if (strlen(s) >= sizeof(buf))
		return fail(op, "bad CIDR '%s'", s);
	strcpy(buf, s);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (parse_addr(buf, op->addr, &v4))
		return fail(op, "bad address in '%s'", s);
	__u32 max = v4 ? 32 : 128, len = max;
	if (slash && parse_u32(slash + 1, &len, 0))
		return fail(op, "bad prefix length '%s' in '%s' (an integer 0-%u%s)", slash + 1, s, max, neg_note(slash + 1));
	if (len > max)
		return fail(op, "prefix length %u > %u in '%s'", len, max, s);
	op->prefixlen = v4 ? 96 + len : len;
	for (__u32 bit = op->prefixlen; bit < 128; bit++)
		if (op->addr[bit / 8] & (0x80 >> (bit % 8)))
			return fail(op, "'%s' has host bits set", s);
	return 0;
}

static int parse_ports(struct op *op, char *s, __u8 proto)
{
	if (!strcmp(s, "*")) {
		op->ranges[0] = (struct sluice_port_range){ .lo = 0, .hi = 65535, .proto = proto, .rule_id = op->rule_id };
		op->nranges = 1;
		return 0;
	}
	char *save, *tok;
	/* A range's dash makes "-1" look like one with no start; say so plainly. */
	if (s[0] == '-' || strstr(s, ",-") || strstr(s, "--"))
		return fail(op, "bad ports '%s' (PORT or LO-HI, 0-65535, comma-separated; negative numbers are refused)", s);
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		__u32 lo, hi;
		char *dash = strchr(tok, '-');
		if (dash)
			*dash = 0;
		if (parse_u32(tok, &lo, 0) || lo > 65535 || (dash && (parse_u32(dash + 1, &hi, 0) || hi > 65535)))
			return fail(op, "bad port or range '%s%s%s' (PORT or LO-HI, 0-65535)", tok, dash ? "-" : "",
				    dash ? dash + 1 : "");
		if (!dash)
			hi = lo;
		if (lo > hi)
			return fail(op, "empty port range %u-%u", lo, hi);
		if (op->nranges == SLUICE_MAX_RANGES)
			return fail(op, "more than %d port ranges in one rule", SLUICE_MAX_RANGES);
		op->ranges[op->nranges++] = (struct sluice_port_range){
			.lo = lo, .hi = hi, .proto = proto, .rule_id = op->rule_id };
	}
	if (!op->nranges)
		return fail(op, "no ports");
	return 0;
}

static int parse_expiry(struct op *op, const char *s)
{
	char *end;
	if (s[0] == '+') {
		/* strtod also takes a sign, blanks, hex, "inf" and "nan": only digits and one point reach it. */
		const char *p = s + 1;
		int digits = 0, points = 0;
		for (; *p; p++)
			if (*p >= '0' && *p <= '9')
				digits++;
			else if (*p == '.' && !points)
				points++;
			else
				break;
		errno = 0;
		double secs = *p || !digits ? 0 : strtod(s + 1, &end);
		if (*p || !digits || errno || *end || !(secs > 0) || secs > 1e9)
			return fail(op, "bad bypass duration '%s' (+SECONDS, a number > 0 and <= 1e9%s)", s, neg_note(s));
		op->expires_ns = boot_ns() + (uint64_t)(secs * 1e9);
		return 0;
	}
	if (s[0] == '@') {
		unsigned long long v;
		if (parse_uint(s + 1, ~0ULL, &v))
			return fail(op, "bad bypass expiry '%s' (@BOOT_NS, an unsigned decimal integer%s)", s, neg_note(s));
		op->expires_ns = v;
		return 0;
	}
	return fail(op, "bad bypass expiry '%s' (+SECONDS or @BOOT_NS%s)", s, neg_note(s));
}

static int parse_cgroup(struct op *op, const char *s)
{
	op->cgid = cgroup_id_of(s, op->err, sizeof(op->err));
	if (!op->cgid)
		op->status = -1;
	return op->cgid ? 0 : -1;
}

/*
 * PATTERN: name | *.name | **.name, as the policy document spells them. The
 * base is lower-cased (DNS names compare case-insensitively; the kernel
 * lower-cases answers too) and hashed here, with the kernel's function.
 */
static int parse_host(struct op *op, const char *s)
{
	const char *base = s;
	op->host_match = SLUICE_HOST_EXACT;
	if (!strncmp(s, "**.", 3)) {
		op->host_match = SLUICE_HOST_ANY;
		base = s + 3;
	} else if (!strncmp(s, "*.", 2)) {
		op->host_match = SLUICE_HOST_ONE;
		base = s + 2;
	}
	char name[256];
	size_t len = strlen(base);
	if (len && base[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return fail(op, "bad host pattern '%s' (a name of 1-253 characters, optionally after *. or **.)", s);
	int labels = 1, label_len = 0;
	for (size_t i = 0; i < len; i++) {
		char c = base[i];
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c == '.') {
			if (!label_len)
				return fail(op, "bad host pattern '%s': empty label", s);
			labels++;
			label_len = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
			if (++label_len > 63)
				return fail(op, "bad host pattern '%s': a label is longer than 63 characters", s);
		} else {
			return fail(op, "bad host pattern '%s': '%c' is not allowed (letters, digits, '-', '_'; a wildcard only as the first label)", s, c);
		}
		name[i] = c;
	}
	if (!label_len)
		return fail(op, "bad host pattern '%s': empty label", s);
	if (op->host_match == SLUICE_HOST_ANY && labels > SLUICE_HOST_DEPTH)
		return fail(op, "'%s': a **. base may have at most %d labels (the kernel keeps that many suffixes per name)",
			    s, SLUICE_HOST_DEPTH);
	op->name_hash = sluice_name_hash(name, len);
	return 0;
}

static int parse_ms(struct op *op, const char *s, uint64_t *ns, const char *what)
{
	__u32 ms;
	if (parse_u32(s, &ms, 1))
		return fail(op, "bad %s '%s' (milliseconds, an integer > 0%s)", what, s, neg_note(s));
	*ns = (uint64_t)ms * 1000000ull;
	return 0;
}

static int want(struct op *op, int ntok, int min, int max, const char *usage)
{
	if (ntok < min || ntok > max)
		return fail(op, "usage: %s", usage);
	return 0;
}

/* RULE_ID and PROTO fields shared by `rule` and `host`; nonzero (op failed) on a bad one. */
static int parse_rule_id_proto(struct op *op, const char *rule_id, const char *proto_word, __u8 *proto)
{
	if (parse_u32(rule_id, &op->rule_id, 1)) {
		fail(op, "bad rule id '%s' (an integer > 0%s)", rule_id, neg_note(rule_id));
		return -1;
	}
	*proto = !strcmp(proto_word, "tcp") ? IPPROTO_TCP : !strcmp(proto_word, "udp") ? IPPROTO_UDP : 0;
	if (!*proto && strcmp(proto_word, "any")) {
		fail(op, "bad protocol '%s' (tcp | udp | any)", proto_word);
		return -1;
	}
	return 0;
}

static void parse_op(struct op *op, int n, char **t)
{
	const char *k = t[0];
	if (!strcmp(k, "policy")) {
		op->kind = OP_POLICY;
		if (want(op, n, 2, 3, "policy ID [loopback]") || parse_policy_id(op, t[1], 0))
			return;
		if (n == 3 && strcmp(t[2], "loopback"))
			fail(op, "unknown policy flag '%s' (loopback)", t[2]);
		else if (n == 3)
			op->policy_flags = SLUICE_POLICY_LOOPBACK;
	} else if (!strcmp(k, "rule")) {
		op->kind = OP_RULE;
		if (want(op, n, 6, 6, "rule POLICY RULE_ID CIDR PORTS tcp|udp|any") || parse_policy_id(op, t[1], 0))
			return;
		__u8 proto;
		if (parse_rule_id_proto(op, t[2], t[5], &proto))
			return;
		if (!parse_cidr(op, t[3]))
			parse_ports(op, t[4], proto);
	} else if (!strcmp(k, "host")) {
		op->kind = OP_HOST;
		if (want(op, n, 6, 6, "host POLICY RULE_ID NAME|*.NAME|**.NAME PORTS tcp|udp|any") ||
		    parse_policy_id(op, t[1], 0))
			return;
		__u8 proto;
		if (parse_rule_id_proto(op, t[2], t[5], &proto))
			return;
		if (!parse_host(op, t[3]))
			parse_ports(op, t[4], proto);
	} else if (!strcmp(k, "timeouts")) {
		op->kind = OP_TIMEOUTS;
		if (!want(op, n, 3, 3, "timeouts ACTIVE_MS UDP_IDLE_MS") &&
		    !parse_ms(op, t[1], &op->active_ns, "active timeout"))
			parse_ms(op, t[2], &op->udp_idle_ns, "UDP idle window");
	} else if (!strcmp(k, "resolver")) {
		op->kind = OP_RESOLVER;
		int v4;
		if (want(op, n, 4, 4, "resolver POLICY RULE_ID ADDR") || parse_policy_id(op, t[1], 0))
			return;
		if (parse_u32(t[2], &op->rule_id, 1))
			fail(op, "bad rule id '%s' (an integer > 0%s)", t[2], neg_note(t[2]));
		else if (parse_addr(t[3], op->addr, &v4))
			fail(op, "bad resolver address '%s'", t[3]);
	} else if (!strcmp(k, "default")) {
		op->kind = OP_DEFAULT;
		if (!want(op, n, 3, 3, "default POLICY enforce|learn") && !parse_policy_id(op, t[1], 1))
			parse_mode(op, t[2]);
	} else if (!strcmp(k, "cgroup")) {
		op->kind = OP_CGROUP;
		if (!want(op, n, 4, 4, "cgroup CGROUP POLICY enforce|learn") && !parse_cgroup(op, t[1]) &&
		    !parse_policy_id(op, t[2], 1))
			parse_mode(op, t[3]);
	} else if (!strcmp(k, "bypass")) {
		op->kind = OP_BYPASS;
		if (!want(op, n, 3, 3, "bypass CGROUP +SECONDS|@BOOT_NS") && !parse_cgroup(op, t[1]))
			parse_expiry(op, t[2]);
	} else if (!strcmp(k, "cgroup-del")) {
		op->kind = OP_CGROUP_DEL;
		if (!want(op, n, 2, 2, "cgroup-del CGROUP"))
			parse_cgroup(op, t[1]);
	} else if (!strcmp(k, "bypass-del")) {
		op->kind = OP_BYPASS_DEL;
		if (!want(op, n, 2, 2, "bypass-del CGROUP"))
			parse_cgroup(op, t[1]);
	} else if (!strcmp(k, "policy-del")) {
		op->kind = OP_POLICY_DEL;
		if (!want(op, n, 2, 2, "policy-del ID"))
			parse_policy_id(op, t[1], 0);
	} else {
		op->kind = OP_POLICY;
		fail(op, "unknown operation '%s'", k);
	}
}

void parse_line(struct batch *b, int lineno, char *line)
{
	char *t[8] = { 0 }, *save;
	int n = 0;
	for (char *tok = strtok_r(line, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == 8)
			break;
		t[n++] = tok;
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->ops = realloc(b->ops, b->cap * sizeof(*b->ops));
		if (!b->ops)
			die(EXIT_FAIL, "apply: out of memory");
	}
	struct op *op = &b->ops[b->n++];
	memset(op, 0, sizeof(*op));
	op->line = lineno;
	if (n == 8)
		fail(op, "too many fields");
	else
		parse_op(op, n, t);
	if (op->status < 0)
		b->errors++;
}

void format_cidr(char *buf, size_t len, const __u8 addr[16], __u32 prefixlen)
{
	static const __u8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char a[INET6_ADDRSTRLEN];
	if (prefixlen >= 96 && !memcmp(addr, mapped, 12)) {
		inet_ntop(AF_INET, addr + 12, a, sizeof(a));
		snprintf(buf, len, "%s/%u", a, prefixlen - 96);
	} else {
		inet_ntop(AF_INET6, addr, a, sizeof(a));
		snprintf(buf, len, "%s/%u", a, prefixlen);
	}
}
