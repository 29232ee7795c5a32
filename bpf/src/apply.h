/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* The `apply` batch: parsed operations (apply_parse.c), checked and written (apply.c). */
#ifndef SLUICE_APPLY_H
#define SLUICE_APPLY_H

#include <stdint.h>
#include <stddef.h>
#include "../map_types.h"
#include "../record.h"

enum op_kind {
	OP_POLICY,
	OP_RULE,
	OP_RESOLVER,
	OP_DEFAULT,
	OP_CGROUP,
	OP_BYPASS,
	OP_CGROUP_DEL,
	OP_BYPASS_DEL,
	OP_POLICY_DEL,
	OP_HOST,
	OP_TIMEOUTS,
};

struct op {
	int line;
	enum op_kind kind;
	int status; /* 0 pending, 1 applied, -1 failed */
	char err[200];
	__u32 policy_id;
	__u32 rule_id;
	__u32 policy_flags;
	uint64_t cgid;
	__u8 mode;
	__u8 addr[16];       /* IPv4 stored mapped */
	__u32 prefixlen;     /* over the 128-bit address */
	int nranges;
	struct sluice_port_range ranges[SLUICE_MAX_RANGES];
	uint64_t expires_ns; /* bypass: absolute CLOCK_BOOTTIME */
	__u32 host_match;    /* host: enum sluice_host_match */
	__u64 name_hash;     /* host: name_hash.h of the pattern's base */
	uint64_t active_ns, udp_idle_ns; /* timeouts */
};

struct batch {
	struct op *ops;
	int n, cap;
	int errors;
};

const char *op_name(enum op_kind k);

/* Parses one non-empty, non-comment line into the batch; on error the op
 * carries status -1 and a message (the batch will be rejected). */
void parse_line(struct batch *b, int lineno, char *line);

/* Formats addr/prefixlen as CIDR text (IPv4-mapped prefixes >= 96 as IPv4). */
void format_cidr(char *buf, size_t len, const __u8 addr[16], __u32 prefixlen);

#endif
