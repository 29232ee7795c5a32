// SPDX-License-Identifier: GPL-2.0 OR MIT
/* `dump MAP` (one JSON object per line) and `stats` (one JSON object). */
#include "common.h"
#include "apply.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "../record.h"

int read_counters(int fd, int ext_fd, __u64 *sum);
int open_counters_ext(const char *pin);

static const char *mode_name(__u8 m)
{
	return m == SLUICE_MODE_LEARN ? "learn" : m == SLUICE_MODE_ENFORCE ? "enforce" : "invalid";
}

static const char *proto_name(__u8 p)
{
	return p == 6 ? "tcp" : p == 17 ? "udp" : p == 0 ? "any" : "other";
}

/*
 * The show functions read each entry as this build's struct, and the lookups
 * copy value_size bytes (times the CPU count for per-CPU maps) into fixed
 * buffers: a map pinned by a different build, or a per-CPU map under an
 * expected name, must be refused here rather than overflow them.
 */
static void check_map(int fd, const char *map, __u32 ksz, __u32 vsz, int percpu)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		die(EXIT_FAIL, "dump: reading map info of '%s': %s", map, strerror(errno));
	if (info.key_size != ksz)
		die(EXIT_FAIL, "dump: map '%s' has key size %u bytes, this build expects %u (pinned by a different build? reload it)",
		    map, info.key_size, ksz);
	if (info.value_size != vsz)
		die(EXIT_FAIL, "dump: map '%s' has value size %u bytes, this build expects %u (pinned by a different build? reload it)",
		    map, info.value_size, vsz);
	int is_percpu = info.type == BPF_MAP_TYPE_PERCPU_HASH || info.type == BPF_MAP_TYPE_PERCPU_ARRAY ||
			info.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	if (is_percpu != percpu)
		die(EXIT_FAIL, "dump: map '%s' is %s (type %u), this build expects %s", map,
		    is_percpu ? "per-CPU" : "not per-CPU", info.type, percpu ? "per-CPU" : "not per-CPU");
}

/* Walks a hash/trie map, calling show(key, value) for each entry. */
static void walk(int fd, const char *map, size_t ksz, size_t vsz, void (*show)(const void *, const void *))
{
	unsigned char key[64], next[64], val[512], *prev = NULL;
	if (ksz > sizeof(key) || vsz > sizeof(val))
		die(EXIT_FAIL, "dump: map '%s' entries (key %zu, value %zu bytes) exceed the buffers (key %zu, value %zu)",
		    map, ksz, vsz, sizeof(key), sizeof(val));
	check_map(fd, map, ksz, vsz, 0);
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, ksz);
		prev = key;
		if (!bpf_map_lookup_elem(fd, key, val))
			show(key, val);
	}
}

static void show_cgroup(const void *k, const void *v)
{
	const struct sluice_cgroup_entry *e = v;
	printf("{\"cgroup_id\":\"%llu\",\"policy_id\":%u,\"mode\":\"%s\"}\n", *(const unsigned long long *)k,
	       e->policy_id, mode_name(e->mode));
}

static void show_policy(const void *k, const void *v)
{
	const struct sluice_policy *p = v;
	printf("{\"policy_id\":%u,\"loopback\":%s}\n", *(const __u32 *)k,
	       p->flags & SLUICE_POLICY_LOOPBACK ? "true" : "false");
}

static void show_bypass(const void *k, const void *v)
{
	const struct sluice_bypass *b = v;
	uint64_t now = boot_ns();
	printf("{\"cgroup_id\":\"%llu\",\"expires_boot_ns\":\"%llu\",\"active\":%s}\n", *(const unsigned long long *)k,
	       (unsigned long long)b->expires_boot_ns, b->expires_boot_ns > now ? "true" : "false");
}

static void show_rule(const void *k, const void *v)
{
	const struct sluice_rule_key *key = k;
	const struct sluice_rule_value *val = v;
	char cidr[64];
	format_cidr(cidr, sizeof(cidr), key->addr, key->prefixlen - 32);
	printf("{\"policy_id\":%u,\"cidr\":\"%s\",\"ranges\":[", key->policy_id, cidr);
	for (__u32 i = 0; i < val->count && i < SLUICE_MAX_RANGES; i++)
		printf("%s{\"lo\":%u,\"hi\":%u,\"proto\":\"%s\",\"rule_id\":%u}", i ? "," : "", val->range[i].lo,
		       val->range[i].hi, proto_name(val->range[i].proto), val->range[i].rule_id);
	printf("]}\n");
}

static void show_resolver(const void *k, const void *v)
{
	const struct sluice_resolver_key *key = k;
	char cidr[64];
	format_cidr(cidr, sizeof(cidr), key->addr, 128);
	*strrchr(cidr, '/') = 0;
	printf("{\"policy_id\":%u,\"addr\":\"%s\",\"rule_id\":%u}\n", key->policy_id, cidr, *(const __u32 *)v);
}

static const char *counter_names[SLUICE_C_ALL_SLOTS] = {
	[SLUICE_C_GENERATED] = "generated",       [SLUICE_C_DROP_RINGBUF_FULL] = "drop_ringbuf_full",
	[SLUICE_C_ALLOWED] = "allowed",           [SLUICE_C_DENIED] = "denied",
	[SLUICE_C_BYPASSED] = "bypassed",         [SLUICE_C_AUDIT] = "audit",
	[SLUICE_C_DNS_ANSWERS] = "dns_answers",   [SLUICE_C_DNS_MALFORMED] = "dns_malformed",
	[SLUICE_C_DNS_UNTRUSTED] = "dns_untrusted", [SLUICE_C_DNS_PARTIAL] = "dns_partial",
	[SLUICE_C_FLOW_NO_STORAGE] = "flow_no_storage", [SLUICE_C_UDP_TABLE_FULL] = "udp_table_full",
	[SLUICE_C_HOST_ALLOWED] = "host_allowed",
	[SLUICE_C_DNS_UNSOLICITED] = "dns_unsolicited", [SLUICE_C_DNS_MISMATCH] = "dns_mismatch",
	[SLUICE_C_DNS_WRONG_SOCKET] = "dns_wrong_socket", [SLUICE_C_BIND_DENIED] = "bind_denied",
	[SLUICE_C_SOCKOPT_DENIED] = "sockopt_denied", [SLUICE_C_SRCROUTE_DROPPED] = "srcroute_dropped",
	[SLUICE_C_ESCAPES] = "escapes",           [SLUICE_C_BPF_DENIED] = "bpf_denied",
};

static const char *match_name(__u32 m)
{
	return m == SLUICE_HOST_EXACT ? "exact" : m == SLUICE_HOST_ONE ? "one" : m == SLUICE_HOST_ANY ? "any" : "invalid";
}

/* Names are not in the map (only their hashes): the caller maps them back. */
static void show_host(const void *k, const void *v)
{
	const struct sluice_host_key *key = k;
	const struct sluice_rule_value *val = v;
	printf("{\"policy_id\":%u,\"match\":\"%s\",\"name_hash\":\"%llu\",\"ranges\":[", key->policy_id,
	       match_name(key->match), (unsigned long long)key->name_hash);
	for (__u32 i = 0; i < val->count && i < SLUICE_MAX_RANGES; i++)
		printf("%s{\"lo\":%u,\"hi\":%u,\"proto\":\"%s\",\"rule_id\":%u}", i ? "," : "", val->range[i].lo,
		       val->range[i].hi, proto_name(val->range[i].proto), val->range[i].rule_id);
	printf("]}\n");
}

static void show_dns(const void *k, const void *v)
{
	const struct sluice_dns_key *key = k;
	const struct sluice_dns_name *n = v;
	char addr[64];
	format_cidr(addr, sizeof(addr), key->addr, 128);
	*strrchr(addr, '/') = 0;
	printf("{\"cgroup_id\":\"%llu\",\"addr\":\"%s\",\"name_hash\":\"%llu\",\"labels\":%u,\"stale\":%s}\n",
	       (unsigned long long)key->cgroup_id, addr, (unsigned long long)n->full, n->nlabels,
	       n->expires_boot_ns <= boot_ns() ? "true" : "false");
}

/* Read before anything is printed, so a refusal leaves no half-written JSON. */
static void read_all_counters(const struct opts *o, __u64 sum[SLUICE_C_ALL_SLOTS])
{
	int fd = open_pinned(o->pin, "counters"), ext_fd = open_counters_ext(o->pin);
	/* read_counters copies one __u64 per CPU per slot. */
	check_map(fd, "counters", sizeof(__u32), sizeof(__u64), 1);
	if (ext_fd >= 0)
		check_map(ext_fd, "counters_ext", sizeof(__u32), sizeof(__u64), 1);
	if (read_counters(fd, ext_fd, sum))
		die(EXIT_FAIL, "reading counters: %s", strerror(errno));
}

static void print_counters(const __u64 sum[SLUICE_C_ALL_SLOTS])
{
	printf("\"counters\":{");
	for (int i = 0, first = 1; i < SLUICE_C_ALL_SLOTS; i++) {
		if (!counter_names[i])
			continue;
		printf("%s\"%s\":%llu", first ? "" : ",", counter_names[i], (unsigned long long)sum[i]);
		first = 0;
	}
	printf("}");
}

/* links/<cgroup id>/<program>: the pinned attachments with their kernel ids. */
static void dump_links(const struct opts *o)
{
	char dir[4096], path[4096];
	DIR *top = opendir(pin_path(dir, sizeof(dir), o->pin, "links"));
	struct dirent *cg;
	while (top && (cg = readdir(top))) {
		if (cg->d_name[0] == '.')
			continue;
		for (int i = 0; i < sluice_nprogs; i++) {
			int fd = bpf_obj_get(pin_path(path, sizeof(path), o->pin, "links/%s/%s", cg->d_name,
						      sluice_progs[i].name));
			if (fd < 0)
				continue;
			struct bpf_link_info info = {};
			__u32 len = sizeof(info);
			bpf_obj_get_info_by_fd(fd, &info, &len);
			printf("{\"cgroup_id\":\"%s\",\"program\":\"%s\",\"link_id\":%u,\"prog_id\":%u,\"attached_cgroup_id\":\"%llu\"}\n",
			       cg->d_name, sluice_progs[i].name, info.id, info.prog_id,
			       (unsigned long long)info.cgroup.cgroup_id);
			close(fd);
		}
	}
	if (top)
		closedir(top);
}

int cmd_dump(const struct opts *o, const char *map)
{
	pin_dir_prepare(o->pin, 0);
	if (!strcmp(map, "cgroup_policy"))
		walk(open_pinned(o->pin, map), map, 8, sizeof(struct sluice_cgroup_entry), show_cgroup);
	else if (!strcmp(map, "policies"))
		walk(open_pinned(o->pin, map), map, 4, sizeof(struct sluice_policy), show_policy);
	else if (!strcmp(map, "bypass"))
		walk(open_pinned(o->pin, map), map, 8, sizeof(struct sluice_bypass), show_bypass);
	else if (!strcmp(map, "rules"))
		walk(open_pinned(o->pin, map), map, sizeof(struct sluice_rule_key), sizeof(struct sluice_rule_value), show_rule);
	else if (!strcmp(map, "resolvers"))
		walk(open_pinned(o->pin, map), map, sizeof(struct sluice_resolver_key), 4, show_resolver);
	else if (!strcmp(map, "host_rules"))
		walk(open_pinned(o->pin, map), map, sizeof(struct sluice_host_key), sizeof(struct sluice_rule_value), show_host);
	else if (!strcmp(map, "dns_cache"))
		walk(open_pinned(o->pin, map), map, sizeof(struct sluice_dns_key), sizeof(struct sluice_dns_name), show_dns);
	else if (!strcmp(map, "config")) {
		__u32 zero = 0;
		struct sluice_config c = {};
		int fd = open_pinned(o->pin, map);
		check_map(fd, map, sizeof(zero), sizeof(c), 0);
		if (bpf_map_lookup_elem(fd, &zero, &c))
			die(EXIT_FAIL, "reading config: %s", strerror(errno));
		printf("{\"default_policy_id\":%u,\"default_mode\":\"%s\",\"active_timeout_ns\":\"%llu\",\"udp_idle_ns\":\"%llu\"}\n",
		       c.default_policy_id, mode_name(c.default_mode),
		       (unsigned long long)(c.active_timeout_ns ? c.active_timeout_ns : SLUICE_DEFAULT_ACTIVE_NS),
		       (unsigned long long)(c.udp_idle_ns ? c.udp_idle_ns : SLUICE_DEFAULT_UDP_IDLE_NS));
	} else if (!strcmp(map, "counters")) {
		__u64 sum[SLUICE_C_ALL_SLOTS];
		read_all_counters(o, sum);
		printf("{");
		print_counters(sum);
		printf("}\n");
	} else if (!strcmp(map, "links"))
		dump_links(o);
	else
		die(EXIT_USAGE, "unknown map '%s' (cgroup_policy policies bypass rules resolvers host_rules dns_cache config counters links)", map);
	return EXIT_OK;
}

int cmd_stats(const struct opts *o)
{
	pin_dir_prepare(o->pin, 0);
	__u64 sum[SLUICE_C_ALL_SLOTS];
	read_all_counters(o, sum);
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	bpf_obj_get_info_by_fd(open_pinned(o->pin, "events"), &info, &len);
	printf("{\"pin\":");
	json_str(stdout, o->pin);
	printf(",\"ringbuf_size\":%u,\"record_size\":%d,\"record_version\":%d,", info.max_entries, SLUICE_RECORD_SIZE,
	       SLUICE_RECORD_VERSION);
	print_counters(sum);
	printf("}\n");
	return EXIT_OK;
}
