// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * `attach CGROUP` / `detach CGROUP`: the managed scope. A cgroup bpf_link
 * (always multi-attach) on the scope runs for every descendant, including
 * cgroups created later, and coexists with other tools' programs. Links are
 * pinned, so enforcement outlives every helper process; only `detach`
 * (or removing the pins) ends it.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

static __u32 link_id(int fd)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* The cgroup a link is attached to; 0 once detached (`bpftool link detach`, or its cgroup gone). */
static __u64 link_cgroup(int fd)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.cgroup.cgroup_id;
}

int cmd_attach(const struct opts *o, const char *cgroup)
{
	char err[256], path[4096];
	uint64_t cgid = cgroup_id_of(cgroup, err, sizeof(err));
	if (!cgid || cgroup[0] != '/')
		die(EXIT_USAGE, "attach needs a cgroup directory path: %s", cgid ? cgroup : err);
	pin_dir_prepare(o->pin, 0);
	writer_lock(o->pin, "attach");
	int cg = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0)
		die(EXIT_FAIL, "cannot open cgroup %s: %s", cgroup, strerror(errno));
	if (mkdir_p(pin_path(path, sizeof(path), o->pin, "links/%llu", (unsigned long long)cgid)))
		die(EXIT_FAIL, "cannot create %s: %s", path, strerror(errno));

	/* The escape detector's list of scopes (a pin dir of an older build may lack the map). */
	int scopes = open_pinned(o->pin, "scopes");
	__u32 one = 1;
	if (bpf_map_update_elem(scopes, &cgid, &one, BPF_ANY))
		die(EXIT_FAIL, "cannot record scope %s: %s", cgroup, strerror(errno));
	close(scopes);

	printf("{\"cgroup_id\":\"%llu\",\"links\":{", (unsigned long long)cgid);
	for (int i = 0; i < sluice_nprogs; i++) {
		const struct prog_spec *ps = &sluice_progs[i];
		pin_path(path, sizeof(path), o->pin, "links/%llu/%s", (unsigned long long)cgid, ps->name);
		int lfd = bpf_obj_get(path); /* already attached: keep it (idempotent) */
		if (lfd >= 0 && link_cgroup(lfd) != cgid) {
			/* A pinned link someone detached enforces nothing: replace it, or a restart
			 * would keep the scope unenforced behind a pin that looks attached. */
			close(lfd);
			if (unlink(path))
				die(EXIT_FAIL, "cannot remove the detached link %s: %s", path, strerror(errno));
			lfd = -1;
		}
		if (lfd < 0) {
			char ppath[4096];
			int pfd = bpf_obj_get(pin_path(ppath, sizeof(ppath), o->pin, "progs/%s", ps->name));
			if (pfd < 0)
				die(EXIT_FAIL, "program %s not loaded: %s (run `sluice-bpf load --pin %s`)", ppath,
				    strerror(errno), o->pin);
			lfd = bpf_link_create(pfd, cg, ps->attach_type, NULL);
			if (lfd < 0)
				die(EXIT_FAIL, "attach %s to %s: %s", ps->name, cgroup, strerror(errno));
			if (bpf_obj_pin(lfd, path))
				die(EXIT_FAIL, "pin %s: %s", path, strerror(errno));
			close(pfd);
		}
		printf("%s\"%s\":%u", i ? "," : "", ps->name, link_id(lfd));
		close(lfd);
	}
	printf("}}\n");
	return EXIT_OK;
}

int cmd_detach(const struct opts *o, const char *cgroup)
{
	char err[256], path[4096];
	uint64_t cgid = cgroup_id_of(cgroup, err, sizeof(err));
	if (!cgid)
		die(EXIT_USAGE, "%s", err);
	pin_dir_prepare(o->pin, 0);
	writer_lock(o->pin, "detach");
	int n = 0;
	for (int i = 0; i < sluice_nprogs; i++) {
		pin_path(path, sizeof(path), o->pin, "links/%llu/%s", (unsigned long long)cgid, sluice_progs[i].name);
		int lfd = bpf_obj_get(path);
		if (lfd < 0)
			continue;
		/* Detach explicitly: another process holding the link fd must not keep it alive. */
		if (bpf_link_detach(lfd))
			die(EXIT_FAIL, "detach %s: %s", path, strerror(errno));
		close(lfd);
		unlink(path);
		n++;
	}
	rmdir(pin_path(path, sizeof(path), o->pin, "links/%llu", (unsigned long long)cgid));
	int scopes = bpf_obj_get(pin_path(path, sizeof(path), o->pin, "scopes"));
	if (scopes >= 0) {
		bpf_map_delete_elem(scopes, &cgid);
		close(scopes);
	}
	printf("{\"cgroup_id\":\"%llu\",\"detached\":%d}\n", (unsigned long long)cgid, n);
	return EXIT_OK;
}
