// SPDX-License-Identifier: GPL-2.0 OR MIT
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

const struct prog_spec sluice_progs[] = {
	{ "sluice_connect4", BPF_CGROUP_INET4_CONNECT },
	{ "sluice_connect6", BPF_CGROUP_INET6_CONNECT },
	{ "sluice_sendmsg4", BPF_CGROUP_UDP4_SENDMSG },
	{ "sluice_sendmsg6", BPF_CGROUP_UDP6_SENDMSG },
	{ "sluice_sock_create", BPF_CGROUP_INET_SOCK_CREATE },
	{ "sluice_sock_release", BPF_CGROUP_INET_SOCK_RELEASE },
	{ "sluice_sock_ops", BPF_CGROUP_SOCK_OPS },
	{ "sluice_ingress", BPF_CGROUP_INET_INGRESS },
	{ "sluice_egress", BPF_CGROUP_INET_EGRESS },
	{ "sluice_bind4", BPF_CGROUP_INET4_BIND },
	{ "sluice_bind6", BPF_CGROUP_INET6_BIND },
	{ "sluice_setsockopt", BPF_CGROUP_SETSOCKOPT },
};
const int sluice_nprogs = sizeof(sluice_progs) / sizeof(sluice_progs[0]);

void die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("sluice-bpf: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(code);
}

void warnx_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("sluice-bpf: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

char *pin_path(char *buf, size_t len, const char *pin, const char *fmt, ...)
{
	int n = snprintf(buf, len, "%s/", pin);
	if (n < 0 || (size_t)n >= len)
		die(EXIT_USAGE, "pin path too long: %s", pin);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)m >= len - n)
		die(EXIT_USAGE, "pin path too long under %s", pin);
	return buf;
}

int mkdir_p(const char *path)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

void pin_dir_prepare(const char *pin, int create)
{
	struct statfs sfs;
	if (create && mkdir_p(pin))
		die(EXIT_FAIL, "cannot create pin dir %s: %s (is bpffs mounted? mount -t bpf bpf /sys/fs/bpf)",
		    pin, strerror(errno));
	if (statfs(pin, &sfs))
		die(EXIT_FAIL, "pin dir %s: %s (run `sluice-bpf load --pin %s` first)", pin, strerror(errno), pin);
	if ((unsigned long)sfs.f_type != BPF_FS_MAGIC)
		die(EXIT_FAIL, "pin dir %s is not on a bpf filesystem (mount -t bpf bpf /sys/fs/bpf)", pin);
}

/* The holder's pid, from /proc/locks, for the refusal message. */
static long lock_holder(int fd)
{
	struct stat st;
	if (fstat(fd, &st))
		return -1;
	FILE *f = fopen("/proc/locks", "r");
	if (!f)
		return -1;
	char line[256];
	long pid = -1;
	while (fgets(line, sizeof(line), f)) {
		long p;
		unsigned maj, min;
		unsigned long ino;
		char *s = strstr(line, "FLOCK");
		if (!s)
			continue;
		if (sscanf(s, "FLOCK %*s %*s %ld %x:%x:%lu", &p, &maj, &min, &ino) == 4 && ino == st.st_ino) {
			pid = p;
			break;
		}
	}
	fclose(f);
	return pid;
}

int writer_lock(const char *pin, const char *what)
{
	int fd = open(pin, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die(EXIT_FAIL, "cannot open pin dir %s: %s", pin, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	if (errno != EWOULDBLOCK)
		die(EXIT_FAIL, "cannot lock pin dir %s: %s", pin, strerror(errno));
	long holder = lock_holder(fd);
	if (holder > 0)
		die(EXIT_LOCKED, "%s refused: pin dir %s is locked by another sluice-bpf writer (pid %ld); one writer per node",
		    what, pin, holder);
	die(EXIT_LOCKED, "%s refused: pin dir %s is locked by another sluice-bpf writer; one writer per node", what, pin);
}

int open_pinned(const char *pin, const char *name)
{
	char path[4096];
	pin_path(path, sizeof(path), pin, "%s", name);
	int fd = bpf_obj_get(path);
	if (fd < 0)
		die(EXIT_FAIL, "cannot open pinned %s: %s (run `sluice-bpf load --pin %s` first)", path,
		    strerror(errno), pin);
	return fd;
}

uint64_t cgroup_id_of(const char *arg, char *err, size_t errlen)
{
	if (arg[0] == '/' || arg[0] == '.') {
		struct stat st;
		if (stat(arg, &st)) {
			snprintf(err, errlen, "cgroup %s: %s", arg, strerror(errno));
			return 0;
		}
		if (!S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "cgroup %s: not a directory", arg);
			return 0;
		}
		return st.st_ino;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	if (errno || *end || v == 0 || arg[0] == '-') {
		snprintf(err, errlen, "bad cgroup id %s (a cgroup path or a decimal id)", arg);
		return 0;
	}
	return v;
}

uint64_t boot_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}
