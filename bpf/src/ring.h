/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * A BPF ring buffer consumer that releases records only after the caller has
 * written them out. libbpf's ring_buffer__poll advances the consumer position
 * per record, before we could write it: kill -9 between the two lost records
 * silently. Here the position moves after write(2) returns, so a crash loses
 * nothing that was in the ring (at worst, a record written just before the
 * kill is delivered again by the next stream: at-least-once).
 */
#ifndef SLUICE_RING_H
#define SLUICE_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring {
	int map_fd, epfd;
	size_t mask, page;
	volatile unsigned long *consumer_pos; /* rw page */
	volatile unsigned long *producer_pos; /* ro page */
	uint8_t *data;                        /* ro, mapped twice so records never wrap */
};

int ring_open(struct ring *r, int map_fd);

/* Waits up to timeout_ms for data; <0 on error (errno), 0 on timeout, >0 if data is ready. */
int ring_wait(struct ring *r, int timeout_ms);

/* Where the kernel will next write (records below it are committed or reserved). */
unsigned long ring_producer(struct ring *r);

/* The consumer position: everything below it is released to the kernel. */
unsigned long ring_consumer(struct ring *r);

/*
 * Calls on_record for committed records from position `from` (the consumer
 * position, or a cursor ahead of it) without releasing them, up to max
 * records; `after` is the position just past that record. Returns the
 * position after the last entry visited (pass it, or an `after`, to
 * ring_release once those records are safe).
 */
unsigned long ring_peek(struct ring *r, unsigned long from, size_t max,
			void (*on_record)(const void *data, uint32_t len, unsigned long after, void *ctx), void *ctx,
			size_t *count);

void ring_release(struct ring *r, unsigned long pos);

#endif
