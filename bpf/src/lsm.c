// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Is the BPF LSM active? CONFIG_BPF_LSM=y alone is not enough: "bpf" must also be in the boot's
 * LSM list (lsm= or CONFIG_LSM), or an lsm/ program loads and attaches and is never called. Asked
 * of the kernel (lsm_list_modules, 6.8+), else read from securityfs; neither: cannot tell. */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_lsm_list_modules
#define __NR_lsm_list_modules 461 /* same number on every architecture's generic table */
#endif
#define SLUICE_LSM_ID_BPF 110 /* include/uapi/linux/lsm.h LSM_ID_BPF */

int bpf_lsm_active(char *detail, size_t len)
{
	__u64 ids[64];
	__u32 size = sizeof(ids);
	long n = syscall(__NR_lsm_list_modules, ids, &size, 0);
	if (n >= 0) {
		for (long i = 0; i < n && i < 64; i++)
			if (ids[i] == SLUICE_LSM_ID_BPF)
				return 1;
		snprintf(detail, len, "\"bpf\" is not among the active LSMs (boot with lsm=...,bpf; CONFIG_BPF_LSM=y needed)");
		return 0;
	}
	char buf[512] = "";
	FILE *f = fopen("/sys/kernel/security/lsm", "r");
	if (!f) {
		snprintf(detail, len, "cannot tell: no lsm_list_modules (kernel < 6.8) and /sys/kernel/security/lsm unreadable "
				      "(mount -t securityfs none /sys/kernel/security)");
		return -ENOENT;
	}
	size_t got = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[got] = 0;
	for (char *tok = strtok(buf, ",\n"); tok; tok = strtok(NULL, ",\n"))
		if (!strcmp(tok, "bpf"))
			return 1;
	snprintf(detail, len, "\"bpf\" is not among the active LSMs (/sys/kernel/security/lsm; boot with lsm=...,bpf)");
	return 0;
}
