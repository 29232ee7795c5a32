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
 * Pins are also dropped without bpf(): unlinking (or renaming over) a link's
 * pin releases its last reference, which detaches it, and CAP_DAC_OVERRIDE
 * passes the pin directory's 0700. So unlink and rename in a bpffs are refused
 * to the scope too (inode_unlink / inode_rename: a bpffs check first, the
 * scope walk only then).
 *
 * Only the first hook argument (cmd) of `bpf` is read: the hook gained
 * arguments across kernels (attr, size, kernel), the first never moved. Attached for the whole
 * node like the escape tracepoints (links/trace/<program>); `load` leaves it
 * out, loudly, where the kernel has no active BPF LSM or refuses lsm/ programs.
 */
#include "emit.h"
#include "scope.h"

char LICENSE[] SEC("license") = "GPL";

#define SLUICE_EPERM 1
#define SLUICE_BPF_FS_MAGIC 0xcafe4a11

struct super_block {
	unsigned long s_magic;
} __attribute__((preserve_access_index));

struct inode {
	struct super_block *i_sb;
} __attribute__((preserve_access_index));

/* The current task, if it is inside a managed scope: its cgroup id; else 0. */
static __always_inline __u64 sluice_scoped_task(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct cgroup *cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	if (!cg || !sluice_in_scope(cg))
		return 0;
	return sluice_cgrp_id(cg);
}

static __always_inline int sluice_refuse(__u64 cgid, __u32 cmd)
{
	struct sluice_decision d = {};
	sluice_policy_for(&d, cgid);
	d.verdict = SLUICE_VERDICT_DENIED;
	d.reason = SLUICE_REASON_BPF;
	sluice_count_decision(&d);
	sluice_count(SLUICE_C_BPF_DENIED);
	struct sluice_record *r = sluice_record_begin(SLUICE_KIND_BPF, cgid, &d);
	if (r) {
		r->family = SLUICE_AF_INET; /* no address; a valid family keeps readers' checks simple */
		r->body.bpf.cmd = cmd;
		sluice_submit(r);
	}
	return -SLUICE_EPERM;
}

static __always_inline int sluice_on_bpffs(struct inode *dir)
{
	return dir && BPF_CORE_READ(dir, i_sb, s_magic) == SLUICE_BPF_FS_MAGIC;
}

/* LSM_HOOK(int, 0, bpf, int cmd, union bpf_attr *attr, unsigned int size[, bool kernel]) */
SEC("lsm/bpf")
int sluice_bpf_guard(__u64 *ctx)
{
	__u64 cgid = sluice_scoped_task();
	return cgid ? sluice_refuse(cgid, (__u32)(int)ctx[0]) : 0;
}

/* LSM_HOOK(int, 0, inode_unlink, struct inode *dir, struct dentry *dentry): only a bpffs dir
 * is looked at, and only then the scope walk. */
SEC("lsm/inode_unlink")
int sluice_bpffs_unlink(__u64 *ctx)
{
	if (!sluice_on_bpffs((struct inode *)ctx[0]))
		return 0;
	__u64 cgid = sluice_scoped_task();
	return cgid ? sluice_refuse(cgid, SLUICE_BPF_OP_UNLINK) : 0;
}

/* LSM_HOOK(int, 0, inode_rename, struct inode *old_dir, struct dentry *old_dentry,
 *          struct inode *new_dir, struct dentry *new_dentry): renaming over a pin drops it too. */
SEC("lsm/inode_rename")
int sluice_bpffs_rename(__u64 *ctx)
{
	if (!sluice_on_bpffs((struct inode *)ctx[0]) && !sluice_on_bpffs((struct inode *)ctx[2]))
		return 0;
	__u64 cgid = sluice_scoped_task();
	return cgid ? sluice_refuse(cgid, SLUICE_BPF_OP_RENAME) : 0;
}
