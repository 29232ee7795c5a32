/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * `stream --ack-stdin`: records leave the ring only once the consumer says it
 * is done with them (the bpf-reader: once JetStream acknowledged the batch
 * holding them, or their drop was counted). The helper reads ahead of the
 * ring's consumer position and remembers, per record it wrote, the position
 * just past it; the consumer writes on stdin, one per line, how many of this
 * stream's records (COUNTERS records included) are done, and the ring is
 * released up to that record. Whatever a dead consumer (or helper) had not
 * acknowledged is still in the ring and is streamed again by the next helper.
 * The window is bounded: with `max` records unacknowledged the helper stops
 * reading ahead, the ring fills, and the kernel counts what it cannot hold
 * (ringbuf_full), as it does for a slow consumer.
 */
#ifndef SLUICE_ACKS_H
#define SLUICE_ACKS_H

#include <stddef.h>
#include <stdint.h>

struct acks {
	unsigned long *pos; /* ring position after record base + i, FIFO of cap entries */
	size_t cap, head, len;
	uint64_t base;  /* index (in this stream) of the oldest unacknowledged record */
	char line[32];  /* partial stdin line */
	size_t line_len;
};

void acks_init(struct acks *a, size_t cap);

static inline size_t acks_room(const struct acks *a)
{
	return a->cap - a->len;
}

/* Record number base + len was written; the ring may be released to `after` once it is done. */
void acks_push(struct acks *a, unsigned long after);

/*
 * Parses stdin bytes (decimal counts, one per line). Sets *release to the
 * ring position the acknowledged records allow, or leaves it alone if none
 * moved. Returns -1 on a malformed line or an ack beyond what was written.
 */
int acks_feed(struct acks *a, const char *buf, size_t n, unsigned long *release);

#endif
