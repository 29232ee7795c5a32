/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* Shared plumbing of the sluice-bpf helper: pin paths, the writer lock, cgroups, errors. */
#ifndef SLUICE_COMMON_H
#define SLUICE_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>

#define SLUICE_DEFAULT_PIN "/sys/fs/bpf/sluice"

/* Exit codes, documented in README.md. */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_LOCKED 3

struct opts {
	const char *pin;
	unsigned long ringbuf_size; /* load */
	long counters_ms;           /* stream */
	int poll_ms;                /* stream */
	int ack_stdin;              /* stream: release records only when acknowledged on stdin (acks.h) */
	unsigned long max_unacked;  /* stream --ack-stdin: records written but not yet acknowledged, at most */
	int ack_wait_ms;            /* stream --ack-stdin: after SIGTERM, how long to wait for the last acks */
	int packed;                 /* stream: records without their trailing zeros, after their length (record.h) */
};

/* Program name -> attach type, in one table so load/attach/dump agree. */
struct prog_spec {
	const char *name;
	int attach_type; /* enum bpf_attach_type */
};
extern const struct prog_spec sluice_progs[];
extern const int sluice_nprogs;

void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* `path` joined under the pin dir into buf; aborts on overflow. */
char *pin_path(char *buf, size_t len, const char *pin, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Creates the pin dir (bpffs checked) if asked; dies with a clear message otherwise. */
void pin_dir_prepare(const char *pin, int create);

/* Takes the per-node writer lock (flock on the pin dir). Returns the fd, kept
 * open for the process lifetime; dies with EXIT_LOCKED if another holds it. */
int writer_lock(const char *pin, const char *what);

/* Opens a pinned map or dies naming it. */
int open_pinned(const char *pin, const char *name);

/* Cgroup argument: a path (id = directory inode) or a decimal id. 0 on error. */
uint64_t cgroup_id_of(const char *arg, char *err, size_t errlen);

/* Nanoseconds of CLOCK_BOOTTIME: the clock of bpf_ktime_get_boot_ns(). */
uint64_t boot_ns(void);

int mkdir_p(const char *path);

/* 1: the BPF LSM is active (lsm/ programs run); 0: it is not; <0: cannot tell. detail says why not. */
int bpf_lsm_active(char *detail, size_t len);

void json_str(FILE *f, const char *s);

#endif
