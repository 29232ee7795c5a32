// SPDX-License-Identifier: GPL-2.0 OR MIT
#include "acks.h"

#include <stdlib.h>

void acks_init(struct acks *a, size_t cap)
{
	a->pos = calloc(cap, sizeof(*a->pos));
	a->cap = a->pos ? cap : 0;
	a->head = a->len = 0;
	a->base = 0;
	a->line_len = 0;
}

void acks_push(struct acks *a, unsigned long after)
{
	a->pos[(a->head + a->len) % a->cap] = after;
	a->len++;
}

static int ack_upto(struct acks *a, uint64_t done, unsigned long *release)
{
	if (done <= a->base)
		return 0; /* stale or repeated: acks are cumulative */
	if (done > a->base + a->len)
		return -1;
	size_t k = done - a->base;
	*release = a->pos[(a->head + k - 1) % a->cap];
	a->head = (a->head + k) % a->cap;
	a->len -= k;
	a->base = done;
	return 0;
}

int acks_feed(struct acks *a, const char *buf, size_t n, unsigned long *release)
{
	for (size_t i = 0; i < n; i++) {
		char c = buf[i];
		if (c != '\n') {
			if (c < '0' || c > '9' || a->line_len >= sizeof(a->line) - 1)
				return -1;
			a->line[a->line_len++] = c;
			continue;
		}
		if (a->line_len == 0)
			return -1;
		a->line[a->line_len] = 0;
		a->line_len = 0;
		if (ack_upto(a, strtoull(a->line, NULL, 10), release))
			return -1;
	}
	return 0;
}
