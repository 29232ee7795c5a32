// SPDX-License-Identifier: GPL-2.0
/*
 * Tamper guard: no bpf() at all from a task inside a managed scope. With the
 * pinned objects' file permissions as the only gate (unprivileged_bpf_disabled
 * no longer gates BPF_OBJ_GET, LINK_DETACH or MAP_UPDATE since ~6.5), an agent
 * holding CAP_DAC_OVERRIDE (Docker's default set) or running as root could
 * open a pinned link and detach it, or rewrite its own cgroup's entry, and
 * its traffic would no longer be judged. A BPF LSM program on the `bpf` hook
 * sees every bpf() command before the kernel acts on it, so the refusal does
 * not depend on who the agent is or what it can open.
 *
 * Always DENIED, whatever the cgroup's mode or bypass: learn mode and a bypass
 * relax what the agent may reach on the network, never whether it may switch
 * the judging off (for itself or for another cgroup). Recorded with its own
 * reason and counted.
 *
 * Only the first hook argument (cmd) is read: the hook gained arguments across
 * kernels (attr, size, kernel), the first never moved. Attached for the whole
 * node like the escape tracepoints (links/trace/<program>); `load` leaves it
 * out, loudly, where the kernel has no active BPF LSM.
 */
#include "emit.h"
#include "scope.h"

char LICENSE[] SEC("license") = "GPL";

#define SLUICE_EPERM 1

SEC("lsm/bpf")
int sluice_bpf_guard(__u64 *ctx)
{
	int cmd = (int)ctx[0];
	struct task_struct *task = bpf_get_current_task_btf();
	struct cgroup *cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	if (!cg || !sluice_in_scope(cg))
		return 0;
	__u64 cgid = sluice_cgrp_id(cg);
	struct sluice_decision d = {};
	sluice_policy_for(&d, cgid);
	d.verdict = SLUICE_VERDICT_DENIED;
	d.reason = SLUICE_REASON_BPF;
	sluice_count_decision(&d);
	sluice_count(SLUICE_C_BPF_DENIED);
	struct sluice_record *r = sluice_record_begin(SLUICE_KIND_BPF, cgid, &d);
	if (r) {
		r->family = SLUICE_AF_INET; /* no address; a valid family keeps readers' checks simple */
		r->body.bpf.cmd = (__u32)cmd;
		sluice_submit(r);
	}
	return -SLUICE_EPERM;
}
