// SPDX-License-Identifier: GPL-2.0
/*
 * Escape detection: a task that leaves the managed scope is no longer judged
 * by the cgroup programs, so its leaving is recorded (an ESCAPE record: the
 * task, where it was, where it went). Two ways out:
 *   - a write to another cgroup's cgroup.procs/cgroup.threads (the
 *     cgroup_attach_task tracepoint, which fires once the move succeeded), and
 *   - clone3(CLONE_INTO_CGROUP) into a cgroup outside (sched_process_fork: the
 *     child starts outside while its parent is inside).
 * The attach tracepoint fires after the move, when the task's old cgroup is
 * gone from it, so the programs keep where each task of the scope is
 * (`tracked`, by thread id): set when a task is moved into the scope, copied
 * to children at fork, dropped at exit. (fentry/kprobe on cgroup_attach_task
 * would see the old cgroup directly, but some kernels load neither: measured
 * on 6.18 in a VM.) A task already in the scope when the programs were loaded
 * is unknown to `tracked` (its children are learned when it forks): its own
 * move out is not recorded.
 *
 * Detected, not prevented: the kernel offers no BPF hook that can refuse a
 * cgroup migration. Prevention is not giving the agent the right to write
 * there (`sluice run` drops root and capabilities; containers get a
 * read-only cgroupfs).
 */
#include "emit.h"
#include "scope.h"

char LICENSE[] SEC("license") = "GPL";

#define SLUICE_MAX_TRACKED 65536

struct sluice_escape {
	__u64 from;
	__u64 to;
	__u32 pid;
	__u32 tid;
	char comm[16];
};

/* thread id -> cgroup id, for every task known to be in the scope. Pinned: a reload must not
 * forget the tasks already inside. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_MAX_TRACKED);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tracked SEC(".maps");

static __always_inline void sluice_escape_emit(const struct sluice_escape *e, __u32 flags)
{
	struct sluice_decision d = { .flags = flags };
	sluice_count(SLUICE_C_ESCAPES);
	struct sluice_record *r = sluice_record_begin(SLUICE_KIND_ESCAPE, e->from, &d);
	if (!r)
		return;
	r->family = SLUICE_AF_INET; /* no address; a valid family keeps readers' checks simple */
	r->pid = e->pid;
	r->tid = e->tid;
	__builtin_memcpy(r->comm, e->comm, sizeof(r->comm));
	r->body.escape.to_cgroup_id = e->to;
	sluice_submit(r);
}

static __always_inline void sluice_escape_of(struct task_struct *task, __u64 from, __u64 to, __u32 flags)
{
	struct sluice_escape e = { .from = from, .to = to };
	e.pid = BPF_CORE_READ(task, tgid);
	e.tid = BPF_CORE_READ(task, pid);
	BPF_CORE_READ_STR_INTO(&e.comm, task, comm);
	sluice_escape_emit(&e, flags);
}

/* TP_PROTO(struct cgroup *dst_cgrp, const char *path, struct task_struct *task, bool threadgroup) */
SEC("tp_btf/cgroup_attach_task")
int sluice_escape_attach(__u64 *ctx)
{
	struct cgroup *dst = (struct cgroup *)ctx[0];
	struct task_struct *task = (struct task_struct *)ctx[2];
	__u32 tid = BPF_CORE_READ(task, pid);
	__u64 to = sluice_cgrp_id(dst);
	if (sluice_in_scope(dst)) {
		bpf_map_update_elem(&tracked, &tid, &to, BPF_ANY);
		return 0;
	}
	__u64 *from = bpf_map_lookup_elem(&tracked, &tid);
	if (!from)
		return 0;
	sluice_escape_of(task, *from, to, 0);
	bpf_map_delete_elem(&tracked, &tid);
	return 0;
}

/* TP_PROTO(struct task_struct *parent, struct task_struct *child) */
SEC("tp_btf/sched_process_fork")
int sluice_escape_fork(__u64 *ctx)
{
	struct task_struct *parent = (struct task_struct *)ctx[0];
	struct task_struct *child = (struct task_struct *)ctx[1];
	__u32 ptid = BPF_CORE_READ(parent, pid);
	__u64 *from = bpf_map_lookup_elem(&tracked, &ptid);
	struct cgroup *cg = BPF_CORE_READ(child, cgroups, dfl_cgrp);
	__u64 at = sluice_cgrp_id(cg);
	__u32 ctid = BPF_CORE_READ(child, pid);
	if (!from) {
		/* A parent we never saw enter (in the scope before the programs were loaded): its
		 * children are learned here, at the cost of an ancestor walk per such fork. */
		if (sluice_in_scope(cg))
			bpf_map_update_elem(&tracked, &ctid, &at, BPF_ANY);
		return 0;
	}
	if (at == *from || sluice_in_scope(cg)) {
		bpf_map_update_elem(&tracked, &ctid, &at, BPF_ANY);
		return 0;
	}
	/* clone3(CLONE_INTO_CGROUP) to outside the scope. */
	sluice_escape_of(child, *from, at, SLUICE_F_CLONE_INTO);
	return 0;
}

/* TP_PROTO(struct task_struct *p, ...) */
SEC("tp_btf/sched_process_exit")
int sluice_escape_exit(__u64 *ctx)
{
	struct task_struct *p = (struct task_struct *)ctx[0];
	__u32 tid = BPF_CORE_READ(p, pid);
	bpf_map_delete_elem(&tracked, &tid);
	return 0;
}
