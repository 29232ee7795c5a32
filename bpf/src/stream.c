// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * `stream`: ring buffer -> stdout as back-to-back 256-byte records, written
 * once per batch (one write(2), not one per record). With --packed, each record
 * goes out without its trailing zero bytes, after its kept length (record.h):
 * half the bytes for most kinds, and the form of a SLUICE_RAW packed body, so
 * the reader copies runs of records into a batch without repacking them. Without --ack-stdin a
 * batch leaves the ring once the write returned (ring.c), so a kill -9 of the
 * helper loses nothing; with it (the bpf-reader), only once the consumer
 * acknowledged it (acks.h), so a kill -9 of the consumer loses nothing either. Every
 * --counters-ms the kernel counters are appended in-band as a COUNTERS
 * record when they changed, so the reader sees drops in order with the
 * records they concern. One consumer per ring (a second stream would split
 * the records): guarded by a lock separate from the writer lock.
 */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h> /* libbpf_num_possible_cpus */

#include "acks.h"
#include "ring.h"
#include "../record.h"
#include "../map_types.h"

#define FRAME_MAX (SLUICE_PACKED_HEADER + SLUICE_RECORD_SIZE)
#define OUT_CAP (512 * FRAME_MAX) /* records held out of the ring until written: keep small */

static volatile sig_atomic_t stop;
static unsigned char out[OUT_CAP];
static size_t out_len;
static unsigned long long bad_size;
static int ack_mode;
static int packed;
static struct acks acks;
static unsigned long cursor; /* ack mode: next ring position to read (the consumer position lags) */

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void flush_out(void)
{
	size_t off = 0;
	while (off < out_len) {
		ssize_t n = write(STDOUT_FILENO, out + off, out_len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die(EXIT_FAIL, "stream: writing stdout failed: %s", strerror(errno));
		off += n;
	}
	out_len = 0;
}

static void append(const void *data)
{
	if (out_len + FRAME_MAX > OUT_CAP)
		flush_out();
	if (!packed) {
		memcpy(out + out_len, data, SLUICE_RECORD_SIZE);
		out_len += SLUICE_RECORD_SIZE;
		return;
	}
	/* Whole zero words off the end, never into the header the reader checks. */
	const unsigned char *rec = data;
	uint32_t kept = SLUICE_RECORD_SIZE, w;
	while (kept > SLUICE_PACKED_MIN_KEEP) {
		memcpy(&w, rec + kept - 4, 4);
		if (w)
			break;
		kept -= 4;
	}
	unsigned char len[SLUICE_PACKED_HEADER] = { kept & 0xff, kept >> 8, 0, 0 }; /* u32 LE */
	memcpy(out + out_len, len, SLUICE_PACKED_HEADER);
	memcpy(out + out_len + SLUICE_PACKED_HEADER, rec, kept);
	out_len += SLUICE_PACKED_HEADER + kept;
}

static void on_record(const void *data, uint32_t size, unsigned long after, void *ctx)
{
	(void)ctx;
	(void)after;
	if (size != SLUICE_RECORD_SIZE) { /* programs and helper from different builds */
		if (!bad_size++)
			warnx_("stream: skipping records of %u bytes (expected %d); counted, reported at exit", size,
			       SLUICE_RECORD_SIZE);
		return;
	}
	append(data);
	if (ack_mode)
		acks_push(&acks, after);
}

/* Moves up to one output buffer of records to stdout, then releases them from the ring. */
static size_t drain_batch(struct ring *r)
{
	size_t n;
	size_t room = (OUT_CAP - out_len) / FRAME_MAX;
	if (ack_mode) {
		if (acks_room(&acks) - 1 < room) /* one slot kept for a COUNTERS record */
			room = acks_room(&acks) - 1;
		if (room == 0)
			return 0;
		cursor = ring_peek(r, cursor, room, on_record, NULL, &n);
		flush_out();
		return n;
	}
	unsigned long pos = ring_peek(r, ring_consumer(r), room, on_record, NULL, &n);
	flush_out();
	ring_release(r, pos);
	return n;
}

/* Reads what acks stdin holds (nonblocking) and releases the ring that far; 1 once stdin closed. */
static int read_acks(struct ring *r)
{
	char buf[4096];
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			die(EXIT_FAIL, "stream: reading acks on stdin failed: %s", strerror(errno));
		if (n == 0)
			return 1;
		unsigned long release = 0;
		if (acks_feed(&acks, buf, n, &release))
			die(EXIT_FAIL, "stream: bad ack on stdin (want the count of records done, one per line, at most %llu)",
			    (unsigned long long)(acks.base + acks.len));
		/* Everything written is done: entries skipped since (discarded, wrong size) go too. */
		if (acks.len == 0 && out_len == 0)
			release = cursor;
		if (release > ring_consumer(r))
			ring_release(r, release);
	}
}

/* Waits up to timeout_ms for acks on stdin (or a signal). */
static void wait_acks(int timeout_ms)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	poll(&p, 1, timeout_ms);
}

/* Sum of the per-CPU slots of `counters` and (slots SLUICE_C_SLOTS.., if ext_fd >= 0)
 * `counters_ext` into sum[SLUICE_C_ALL_SLOTS]; returns 0 on success. */
int read_counters(int fd, int ext_fd, __u64 *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return -1;
	__u64 *vals = calloc(ncpu, sizeof(__u64));
	if (!vals)
		return -1;
	for (__u32 k = 0; k < SLUICE_C_ALL_SLOTS; k++) {
		sum[k] = 0;
		int from = k < SLUICE_C_SLOTS ? fd : ext_fd;
		__u32 key = k < SLUICE_C_SLOTS ? k : k - SLUICE_C_SLOTS;
		if (from < 0)
			continue;
		if (bpf_map_lookup_elem(from, &key, vals)) {
			free(vals);
			return -1;
		}
		for (int c = 0; c < ncpu; c++)
			sum[k] += vals[c];
	}
	free(vals);
	return 0;
}

/* `counters_ext`, or -1 in a pin dir loaded by an older build. */
int open_counters_ext(const char *pin)
{
	char path[4096];
	return bpf_obj_get(pin_path(path, sizeof(path), pin, "counters_ext"));
}

static void emit_counters(int fd, int ext_fd, __u64 *last, int force)
{
	__u64 now[SLUICE_C_ALL_SLOTS];
	if (ack_mode && acks_room(&acks) == 0)
		return; /* the window is full: the next snapshot carries these values too */
	if (read_counters(fd, ext_fd, now))
		die(EXIT_FAIL, "stream: reading counters failed: %s", strerror(errno));
	if (!force && memcmp(now, last, sizeof(now)) == 0)
		return;
	memcpy(last, now, sizeof(now));
	struct sluice_record r;
	memset(&r, 0, sizeof(r));
	r.version = SLUICE_RECORD_VERSION;
	r.kind = SLUICE_KIND_COUNTERS;
	r.ts_ns = boot_ns();
	r.pid = getpid();
	memcpy(r.body.counters.value, now, SLUICE_C_SLOTS * sizeof(__u64));
	/* Slots 16..19 in the address bytes this kind leaves unused (record.h). */
	memcpy((unsigned char *)&r + SLUICE_COUNTERS_EXT_OFF, now + SLUICE_C_SLOTS, SLUICE_COUNTERS_EXT_SLOTS * sizeof(__u64));
	append(&r);
	/* Occupies no ring space: once it is done, so is everything read before it. */
	if (ack_mode)
		acks_push(&acks, cursor);
}

/*
 * Ack mode: read ahead while the window has room, release what stdin
 * acknowledges. The ring's epoll readiness is useless here (it reports data
 * whenever the consumer position lags, i.e. always), so the loop waits on
 * stdin with poll_ms as the bound on latency, as the kernel wakes no one
 * before the ring is full anyway (emit.h). Returns when stdin closes (the
 * consumer is gone: what it did not acknowledge stays in the ring for the
 * next stream) or on SIGTERM after a bounded wait for the last acks.
 */
static void stream_acked(struct ring *rb, const struct opts *o, int cnt, int cnt_ext, __u64 *last)
{
	uint64_t next = o->counters_ms > 0 ? boot_ns() + (uint64_t)o->counters_ms * 1000000ull : 0;
	fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
	while (!stop) {
		if (read_acks(rb))
			return;
		if (o->counters_ms > 0 && boot_ns() >= next) {
			emit_counters(cnt, cnt_ext, last, 0);
			next = boot_ns() + (uint64_t)o->counters_ms * 1000000ull;
		}
		if (acks_room(&acks) > 1 && ring_producer(rb) != cursor && drain_batch(rb) > 0)
			continue;
		flush_out();
		wait_acks(o->poll_ms);
	}
	/* Graceful stop: hand over what the window takes, then give the consumer time to acknowledge. */
	while (acks_room(&acks) > 1 && drain_batch(rb))
		;
	if (o->counters_ms > 0)
		emit_counters(cnt, cnt_ext, last, 1);
	flush_out();
	uint64_t deadline = boot_ns() + (uint64_t)o->ack_wait_ms * 1000000ull;
	while (acks.len > 0 && boot_ns() < deadline) {
		if (read_acks(rb))
			return;
		wait_acks(10);
	}
}

int cmd_stream(const struct opts *o)
{
	char path[4096];
	pin_dir_prepare(o->pin, 0);
	mkdir_p(pin_path(path, sizeof(path), o->pin, "stream_lock"));
	int lk = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lk < 0 || flock(lk, LOCK_EX | LOCK_NB))
		die(EXIT_LOCKED, "stream refused: another sluice-bpf stream is consuming %s/events", o->pin);

	int ev = open_pinned(o->pin, "events");
	int cnt = open_pinned(o->pin, "counters");
	int cnt_ext = open_counters_ext(o->pin);
	struct ring rb;
	if (ring_open(&rb, ev))
		die(EXIT_FAIL, "stream: cannot map the ring buffer: %s", strerror(errno));

	/* A 1 MiB pipe halves the context switches at high rates; best effort (not a pipe, or capped
	 * by /proc/sys/fs/pipe-max-size). */
	fcntl(STDOUT_FILENO, F_SETPIPE_SZ, 1 << 20);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	__u64 last[SLUICE_C_ALL_SLOTS] = { 0 };
	packed = o->packed;
	if (o->ack_stdin) {
		ack_mode = 1;
		acks_init(&acks, o->max_unacked);
		if (!acks.cap)
			die(EXIT_FAIL, "stream: cannot hold %lu unacknowledged positions", o->max_unacked);
		cursor = ring_consumer(&rb); /* the oldest record nobody acknowledged: a dead consumer's are sent again */
		if (o->counters_ms > 0)
			emit_counters(cnt, cnt_ext, last, 1);
		stream_acked(&rb, o, cnt, cnt_ext, last);
		if (bad_size)
			die(EXIT_FAIL, "stream: %llu records of unexpected size skipped (programs and helper from different builds?)",
			    bad_size);
		return EXIT_OK;
	}
	uint64_t next = 0, period = (uint64_t)o->counters_ms * 1000000ull;
	if (o->counters_ms > 0) {
		emit_counters(cnt, cnt_ext, last, 1);
		next = boot_ns() + period;
	}
	while (!stop) {
		/* The kernel wakes us only when the ring fills up (emit.h): poll_ms bounds latency. */
		int n = ring_wait(&rb, o->poll_ms);
		if (n < 0)
			die(EXIT_FAIL, "stream: waiting on the ring buffer failed: %s", strerror(errno));
		if (o->counters_ms > 0 && boot_ns() >= next) {
			emit_counters(cnt, cnt_ext, last, 0);
			next = boot_ns() + period;
		}
		if (n > 0)
			drain_batch(&rb);
		else
			flush_out();
	}
	/* Graceful stop: hand over everything already in the ring. */
	while (drain_batch(&rb))
		;
	if (o->counters_ms > 0)
		emit_counters(cnt, cnt_ext, last, 1);
	flush_out();
	if (bad_size)
		die(EXIT_FAIL, "stream: %llu records of unexpected size skipped (programs and helper from different builds?)",
		    bad_size);
	return EXIT_OK;
}
