// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * `nobpf CMD [ARGS]`: exec CMD with no way at Sluice's pinned objects: in a mount namespace of its
 * own without any bpffs mount (the pins are out of reach: a pin unlinked by an agent holding
 * CAP_DAC_OVERRIDE would detach its link without any bpf() call), and under a seccomp filter that
 * refuses bpf() (EPERM), as Docker's default profile does. `sluice run` and the policy service's canary start agents through it
 * (packages/runtime agent-argv.ts). Defence in depth under the kernel's tamper guard (tamper.bpf.c):
 * where the BPF LSM is absent, an agent that can open the pins (root, CAP_DAC_OVERRIDE) could
 * otherwise detach enforcement with bpftool. The filter is inherited by every descendant and
 * cannot be removed. Classic BPF, no libbpf: it must work where nothing else of ours loads.
 */
#define _GNU_SOURCE /* unshare */
#include "common.h"

#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <string.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define SLUICE_AUDIT_ARCH AUDIT_ARCH_X86_64
#define SLUICE_X32_BIT 0x40000000u
#define SLUICE_I386_NR_BPF 357 /* int 0x80 from a 64-bit process: the i386 table */
#elif defined(__aarch64__)
#define SLUICE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "nobpf: add this architecture's AUDIT_ARCH"
#endif

#define LD_ARCH BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch))
#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define DENY BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))
#define ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

/* A private view of the mounts (host mounts still propagate in, nothing propagates out) with
 * every bpffs detached. Needs CAP_SYS_ADMIN: run before the user switch (agent-argv.ts). */
static void hide_bpffs(void)
{
	if (unshare(CLONE_NEWNS))
		die(EXIT_FAIL, "nobpf: cannot make a mount namespace: %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL))
		die(EXIT_FAIL, "nobpf: cannot make the mounts a slave: %s", strerror(errno));
	/* Deepest first is not needed: MNT_DETACH takes submounts along. Re-read after each detach. */
	for (int round = 0; round < 64; round++) {
		FILE *f = fopen("/proc/self/mountinfo", "r");
		if (!f)
			die(EXIT_FAIL, "nobpf: /proc/self/mountinfo: %s", strerror(errno));
		char line[4096], mp[4096], fstype[64];
		int found = 0;
		while (fgets(line, sizeof(line), f)) {
			/* id parent maj:min root mountpoint opts... - fstype source superopts */
			char *sep = strstr(line, " - ");
			if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 || sscanf(sep + 3, "%63s", fstype) != 1)
				continue;
			if (strcmp(fstype, "bpf"))
				continue;
			/* mountinfo escapes spaces and such as \ooo; unescape in place. */
			char *w = mp;
			for (char *r = mp; *r; r++) {
				if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] && r[3]) {
					*w++ = (char)strtol((char[]){ r[1], r[2], r[3], 0 }, NULL, 8);
					r += 3;
				} else {
					*w++ = *r;
				}
			}
			*w = 0;
			found = 1;
			break;
		}
		fclose(f);
		if (!found)
			return;
		if (umount2(mp, MNT_DETACH))
			die(EXIT_FAIL, "nobpf: cannot detach the bpffs at %s: %s", mp, strerror(errno));
	}
	die(EXIT_FAIL, "nobpf: bpffs mounts keep appearing");
}

int cmd_nobpf(int argc, char **argv)
{
	if (argc < 1)
		die(EXIT_USAGE, "nobpf needs a command to run");
	hide_bpffs();
	struct sock_filter prog[] = {
		LD_ARCH,
#ifdef SLUICE_I386_NR_BPF
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, 2),
		LD_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SLUICE_I386_NR_BPF, 4, 5),
#endif
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SLUICE_AUDIT_ARCH, 0, 4),
		LD_NR,
#ifdef SLUICE_X32_BIT
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~SLUICE_X32_BIT), /* x32 calls carry this bit */
#else
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xffffffffu),
#endif
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 0, 1),
		DENY,
		ALLOW,
	};
	struct sock_fprog fprog = { .len = sizeof(prog) / sizeof(prog[0]), .filter = prog };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		die(EXIT_FAIL, "nobpf: no_new_privs: %s", strerror(errno));
	if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog))
		die(EXIT_FAIL, "nobpf: cannot install the seccomp filter: %s", strerror(errno));
	execvp(argv[0], argv);
	die(127, "nobpf: cannot run %s: %s", argv[0], strerror(errno));
}
