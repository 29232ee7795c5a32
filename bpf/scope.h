/* SPDX-License-Identifier: GPL-2.0 */
/*
 * "Is this task's cgroup a managed scope or below one?", for the programs that
 * run on a kernel hook rather than on a cgroup (escape.bpf.c, tamper.bpf.c):
 * the cgroup's ancestors are walked against the `scopes` map, which `attach`
 * fills.
 *
 * Kernel structs are declared with only the fields read, relocated against
 * the running kernel's BTF (CO-RE), so no vmlinux.h is needed.
 */
#ifndef SLUICE_SCOPE_H
#define SLUICE_SCOPE_H

#include "maps.h"
#include <bpf/bpf_core_read.h>

#define SLUICE_MAX_CGROUP_DEPTH 32

struct kernfs_node {
	__u64 id;
} __attribute__((preserve_access_index));

struct cgroup {
	struct kernfs_node *kn;
	int level;
	struct cgroup *ancestors[];
} __attribute__((preserve_access_index));

struct css_set {
	struct cgroup *dfl_cgrp;
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	int tgid;
	char comm[16];
	struct css_set *cgroups;
} __attribute__((preserve_access_index));

static __always_inline __u64 sluice_cgrp_id(struct cgroup *c)
{
	return BPF_CORE_READ(c, kn, id);
}

/* Is c a managed scope or below one? */
static __always_inline int sluice_in_scope(struct cgroup *c)
{
	int level = BPF_CORE_READ(c, level);
	for (int i = 0; i < SLUICE_MAX_CGROUP_DEPTH; i++) {
		if (i > level)
			break;
		struct cgroup *a = 0;
		bpf_core_read(&a, sizeof(a), &c->ancestors[i]);
		if (!a)
			break;
		__u64 id = sluice_cgrp_id(a);
		if (bpf_map_lookup_elem(&scopes, &id))
			return 1;
	}
	return 0;
}

#endif
