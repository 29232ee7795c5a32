// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * `load`: make the kernel run this build's programs against the pinned maps,
 * without ever detaching anything. Maps are reused by pin name (policy and
 * counters survive), programs are pinned under progs/, and links already
 * pinned under links/ are moved to the new programs with bpf_link_update —
 * an atomic swap, link ids unchanged. The eBPF PR's re-init detached every
 * container's programs on each rule change; nothing here can.
 */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../map_types.h"
#include "connect.skel.h"
#include "sock.skel.h"
#include "flow.skel.h"
#include "skb.skel.h"
#include "guard.skel.h"
#include "escape.skel.h"
#include "tamper.skel.h"

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	fputs("libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

/* A pinned ring buffer keeps its size: libbpf refuses to reuse a map whose
 * max_entries differs, so an existing ring wins over the flag (with a warning). */
static __u32 ringbuf_size(const struct opts *o)
{
	char path[4096];
	int fd = bpf_obj_get(pin_path(path, sizeof(path), o->pin, "events"));
	if (fd >= 0) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
			close(fd);
			if (o->ringbuf_size && o->ringbuf_size != info.max_entries)
				warnx_("ring buffer already pinned with %u bytes; --ringbuf-size %lu ignored (unpin %s to resize)",
				       info.max_entries, o->ringbuf_size, path);
			return info.max_entries;
		}
		close(fd);
	}
	unsigned long size = o->ringbuf_size ? o->ringbuf_size : SLUICE_DEFAULT_RINGBUF;
	long page = sysconf(_SC_PAGESIZE);
	if (size < (unsigned long)page || (size & (size - 1)) || size > (1ul << 30))
		die(EXIT_USAGE, "--ringbuf-size %lu: must be a power of two between the page size (%ld) and 1 GiB",
		    size, page);
	return (__u32)size;
}

/* Pin under a temporary name (bpffs forbids dots in names), then rename over the old pin: never a moment without one. */
static void pin_prog(const char *pin, struct bpf_program *prog)
{
	char tmp[4096], dst[4096];
	const char *name = bpf_program__name(prog);
	pin_path(tmp, sizeof(tmp), pin, "progs/new_%s", name);
	pin_path(dst, sizeof(dst), pin, "progs/%s", name);
	unlink(tmp);
	if (bpf_obj_pin(bpf_program__fd(prog), tmp))
		die(EXIT_FAIL, "pin %s: %s", tmp, strerror(errno));
	if (rename(tmp, dst))
		die(EXIT_FAIL, "rename %s -> %s: %s", tmp, dst, strerror(errno));
}

static int prog_fd_by_name(struct bpf_object **objs, int nobjs, const char *name)
{
	for (int i = 0; i < nobjs; i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(objs[i], name);
		if (p)
			return bpf_program__fd(p);
	}
	return -1;
}

/* links/<cgroup id>/<program name>: move each to the freshly loaded program. */
static int update_links(const char *pin, struct bpf_object **objs, int nobjs)
{
	char dir[4096], path[4096];
	int updated = 0;
	DIR *top = opendir(pin_path(dir, sizeof(dir), pin, "links"));
	if (!top)
		return 0;
	struct dirent *cg;
	while ((cg = readdir(top))) {
		if (cg->d_name[0] == '.')
			continue;
		for (int i = 0; i < sluice_nprogs; i++) {
			const char *name = sluice_progs[i].name;
			int lfd = bpf_obj_get(pin_path(path, sizeof(path), pin, "links/%s/%s", cg->d_name, name));
			if (lfd < 0)
				continue;
			int pfd = prog_fd_by_name(objs, nobjs, name);
			if (pfd < 0)
				die(EXIT_FAIL, "cannot move link %s: program %s not in the new objects", path, name);
			if (bpf_link_update(lfd, pfd, NULL)) {
				if (errno != ENOLINK)
					die(EXIT_FAIL, "cannot move link %s to the new program: %s (the old program stays attached)",
					    path, strerror(errno));
				/* Someone detached this link (`bpftool link detach`): it enforces nothing and
				 * cannot be moved. Drop the pin so `attach` makes a live one, instead of
				 * refusing to load and leaving the scope unenforced. */
				close(lfd);
				if (unlink(path))
					die(EXIT_FAIL, "cannot remove the detached link %s: %s", path, strerror(errno));
				continue;
			}
			close(lfd);
			updated++;
		}
	}
	closedir(top);
	return updated;
}

/*
 * The escape detector traces the kernel, not a cgroup: one link per program for the whole
 * node, pinned at links/trace/<program>. Tracing links cannot be moved to a new program, so a
 * reload makes a new link and renames its pin over the old one (which then detaches): for a
 * moment both run, and an escape in that moment is recorded twice, never missed.
 */
static void attach_tracing(const char *pin, struct bpf_object *obj)
{
	char tmp[4096], dst[4096];
	if (mkdir_p(pin_path(dst, sizeof(dst), pin, "links/trace")))
		die(EXIT_FAIL, "cannot create %s: %s", dst, strerror(errno));
	struct bpf_program *p;
	bpf_object__for_each_program(p, obj)
	{
		const char *name = bpf_program__name(p);
		struct bpf_link *l = bpf_program__attach(p);
		if (!l)
			die(EXIT_FAIL, "attach %s: %s", name, strerror(errno));
		pin_path(tmp, sizeof(tmp), pin, "links/trace/new_%s", name);
		pin_path(dst, sizeof(dst), pin, "links/trace/%s", name);
		unlink(tmp);
		if (bpf_link__pin(l, tmp))
			die(EXIT_FAIL, "pin %s: %s", tmp, strerror(errno));
		if (rename(tmp, dst))
			die(EXIT_FAIL, "rename %s -> %s: %s", tmp, dst, strerror(errno));
		bpf_link__disconnect(l); /* the pin holds it now */
		bpf_link__destroy(l);
	}
}

/*
 * The tamper guard (tamper.bpf.c) needs the BPF LSM, which many kernels lack (CONFIG_BPF_LSM off,
 * "bpf" not in the boot's LSM list) and some refuse to load even where it is listed (trampoline
 * programs, lsm/ and fentry/ alike, get EPERM: measured on a 6.18 Firecracker guest). There,
 * enforcement still loads without it: fail open for this one program, loudly. Tamper protection
 * then rests on the pins' file permissions and seccomp refusing bpf(). *state says which;
 * returns the loaded object (to print and destroy) or NULL.
 */
static struct tamper_bpf *load_tamper(const char *pin, const struct bpf_object_open_opts *oo, __u32 ringbuf,
				      const char **state)
{
	char detail[256] = "";
	*state = "absent";
	int active = bpf_lsm_active(detail, sizeof(detail));
	if (active == 0) {
		warnx_("TAMPER GUARD ABSENT: %s. An agent that can open the pins (root, or CAP_DAC_OVERRIDE as in Docker's "
		       "default set) could detach enforcement; protection rests on file permissions and seccomp", detail);
		return NULL;
	}
	struct tamper_bpf *t = tamper_bpf__open_opts(oo);
	struct bpf_map *ev = t ? bpf_object__find_map_by_name(t->obj, "events") : NULL;
	int err = !t || !ev || bpf_map__set_max_entries(ev, ringbuf) ? -EINVAL : bpf_object__load(t->obj);
	if (err) {
		warnx_("TAMPER GUARD ABSENT: the kernel refused the lsm/bpf program (%s)%s%s. An agent that can open the pins "
		       "(root, or CAP_DAC_OVERRIDE) could detach enforcement; protection rests on file permissions and seccomp",
		       strerror(err < 0 ? -err : errno), *detail ? "; " : "", detail);
		tamper_bpf__destroy(t);
		return NULL;
	}
	struct bpf_program *p;
	bpf_object__for_each_program(p, t->obj) pin_prog(pin, p);
	attach_tracing(pin, t->obj);
	if (active < 0)
		warnx_("tamper guard attached, but whether the BPF LSM is active is unknown (%s): if it is not, the guard "
		       "never runs", detail);
	*state = active == 1 ? "attached" : "attached_unverified";
	return t;
}

static void print_prog(FILE *f, struct bpf_program *p, int *first)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len);
	fprintf(f, "%s\"%s\":%u", *first ? "" : ",", bpf_program__name(p), info.id);
	*first = 0;
}

int cmd_load(const struct opts *o)
{
	char path[4096];
	libbpf_set_print(libbpf_log);
	pin_dir_prepare(o->pin, 1);
	writer_lock(o->pin, "load");
	__u32 size = ringbuf_size(o);

	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = o->pin);
	struct connect_bpf *c = connect_bpf__open_opts(&oo);
	struct sock_bpf *s = sock_bpf__open_opts(&oo);
	struct flow_bpf *f = flow_bpf__open_opts(&oo);
	struct skb_bpf *k = skb_bpf__open_opts(&oo);
	struct guard_bpf *g = guard_bpf__open_opts(&oo);
	struct escape_bpf *e = escape_bpf__open_opts(&oo);
	if (!c || !s || !f || !k || !g || !e)
		die(EXIT_FAIL, "cannot open the BPF objects: %s", strerror(errno));
	struct bpf_object *objs[] = { c->obj, s->obj, f->obj, k->obj, g->obj, e->obj };
	const int nobjs = sizeof(objs) / sizeof(objs[0]);
	/* Every object declares the shared maps; the pinned instance wins, and all must agree on the ring size. */
	for (int i = 0; i < nobjs; i++) {
		struct bpf_map *ev = bpf_object__find_map_by_name(objs[i], "events");
		if (!ev || bpf_map__set_max_entries(ev, size))
			die(EXIT_FAIL, "cannot size the ring buffer");
	}
	for (int i = 0; i < nobjs; i++)
		if (bpf_object__load(objs[i]))
			die(EXIT_FAIL, "loading %s failed (see libbpf messages above; an incompatible pinned map "
				       "from an older layout must be removed from %s)", bpf_object__name(objs[i]), o->pin);

	if (mkdir_p(pin_path(path, sizeof(path), o->pin, "progs")) ||
	    mkdir_p(pin_path(path, sizeof(path), o->pin, "links")))
		die(EXIT_FAIL, "cannot create %s: %s", path, strerror(errno));

	struct bpf_program *p;
	for (int i = 0; i < nobjs; i++)
		bpf_object__for_each_program(p, objs[i]) pin_prog(o->pin, p);
	int updated = update_links(o->pin, objs, nobjs);
	attach_tracing(o->pin, e->obj);
	const char *guard = "absent";
	struct tamper_bpf *t = load_tamper(o->pin, &oo, size, &guard);

	printf("{\"pin\":");
	json_str(stdout, o->pin);
	printf(",\"ringbuf_size\":%u,\"links_updated\":%d,\"tamper_guard\":\"%s\",\"programs\":{", size, updated,
	       guard);
	int first = 1;
	for (int i = 0; i < nobjs; i++)
		bpf_object__for_each_program(p, objs[i]) print_prog(stdout, p, &first);
	if (t)
		bpf_object__for_each_program(p, t->obj) print_prog(stdout, p, &first);
	printf("}}\n");
	/* Pins and links hold the kernel objects; our fds can go. */
	connect_bpf__destroy(c);
	sock_bpf__destroy(s);
	flow_bpf__destroy(f);
	skb_bpf__destroy(k);
	guard_bpf__destroy(g);
	escape_bpf__destroy(e);
	tamper_bpf__destroy(t);
	return EXIT_OK;
}
