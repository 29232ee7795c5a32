// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Ring buffer layout as in the kernel's kernel/bpf/ringbuf.c and libbpf's ringbuf.c. */
#include "ring.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

int ring_open(struct ring *r, int map_fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return -1;
	if (info.type != BPF_MAP_TYPE_RINGBUF) {
		errno = EINVAL;
		return -1;
	}
	r->map_fd = map_fd;
	r->page = sysconf(_SC_PAGESIZE);
	r->mask = info.max_entries - 1;
	void *c = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (c == MAP_FAILED)
		return -1;
	/* Producer page, then the data area mapped twice (2 * size). */
	void *p = mmap(NULL, r->page + 2 * (size_t)info.max_entries, PROT_READ, MAP_SHARED, map_fd, r->page);
	if (p == MAP_FAILED)
		return -1;
	r->consumer_pos = c;
	r->producer_pos = p;
	r->data = (uint8_t *)p + r->page;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };
	if (r->epfd < 0 || epoll_ctl(r->epfd, EPOLL_CTL_ADD, map_fd, &ev))
		return -1;
	return 0;
}

int ring_wait(struct ring *r, int timeout_ms)
{
	if (__atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE) != __atomic_load_n(r->consumer_pos, __ATOMIC_ACQUIRE))
		return 1;
	struct epoll_event ev;
	int n = epoll_wait(r->epfd, &ev, 1, timeout_ms);
	if (n < 0 && errno == EINTR)
		return 0;
	return n;
}

unsigned long ring_producer(struct ring *r)
{
	return __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
}

unsigned long ring_consumer(struct ring *r)
{
	return __atomic_load_n(r->consumer_pos, __ATOMIC_ACQUIRE);
}

unsigned long ring_peek(struct ring *r, unsigned long from, size_t max,
			void (*on_record)(const void *, uint32_t, unsigned long, void *), void *ctx, size_t *count)
{
	unsigned long cons = from;
	unsigned long prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
	size_t n = 0;
	while (cons < prod && n < max) {
		uint32_t *hdr = (uint32_t *)(r->data + (cons & r->mask));
		uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
		if (len & BPF_RINGBUF_BUSY_BIT)
			break; /* reserved, not yet submitted: everything after waits for it */
		uint32_t size = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
		cons += (size + BPF_RINGBUF_HDR_SZ + 7) & ~7ul;
		if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
			on_record((uint8_t *)hdr + BPF_RINGBUF_HDR_SZ, size, cons, ctx);
			n++;
		}
	}
	*count = n;
	return cons;
}

void ring_release(struct ring *r, unsigned long pos)
{
	__atomic_store_n(r->consumer_pos, pos, __ATOMIC_RELEASE);
}
