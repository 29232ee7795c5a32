/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* The test client's shared pieces: probe.c (the ordinary operations and main) and
 * probe_attack.c (what the bypass tier's attacker and its controls do). */
#ifndef SLUICE_PROBE_H
#define SLUICE_PROBE_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <netinet/ip6.h>

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

struct target {
	struct sockaddr_storage ss;
	socklen_t len;
	int family;
};

void parse_target(const char *addr, const char *port, struct target *t);
unsigned long long cookie_of(int fd);
/* One JSON line: op, ok, errno and its name, the socket cookie, the pid. */
void report(const char *op, int rc, int err, int fd);
long long now_ms(void);
/* A query for `name` of `type` with id `id` into buf; returns its length. */
int dns_query(unsigned char *buf, const char *name, int type, unsigned short id);

/* probe_attack.c */
void dnsask_op(const char *server, const char *name, long txid, long ms);
void dnsforge_op(const char *bindaddr, const char *dst, const char *port, const char *name, const char *answer,
		 long txid);
void dnsserve_op(const char *addr, const char *port, const char *answer, long ms);
void bind_op(const char *addr, const char *port, const char *proto);
void srcroute4_op(const char *kind, const char *mode, const char *via, const char *dst, const char *port);
void srcroute6_op(const char *mode, const char *via, const char *dst, const char *port);
void sniff_op(const char *ifname, long ms);
void cloneinto_op(const char *cgdir);

#endif
