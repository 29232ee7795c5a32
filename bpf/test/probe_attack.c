// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The probe's attack operations (see probe.c for the command line): forged DNS answers and the
 * queries they target, binds, source-routed datagrams, and a loopback sniffer that counts what
 * actually left. The bypass tier runs them as an agent would (test/bypass/agent.ts) and, as
 * controls, outside the managed scope.
 */
#include "probe.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h> /* struct clone_args, CLONE_INTO_CGROUP */

/* A response "NAME IN A ANSWER" (ttl 300) to a query with id TXID. */
int dns_answer(unsigned char *buf, const char *name, const char *answer, unsigned short id)
{
	int n = dns_query(buf, name, 1, id);
	buf[2] = 0x81, buf[3] = 0x80; /* QR RD RA */
	buf[7] = 1;                    /* ANCOUNT */
	static const unsigned char rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4 };
	memcpy(buf + n, rr, sizeof(rr));
	n += sizeof(rr);
	if (inet_pton(AF_INET, answer, buf + n) != 1) {
		fprintf(stderr, "probe: bad answer %s\n", answer);
		exit(2);
	}
	return n + 4;
}

void dnsask_op(const char *server, const char *name, long txid, long ms)
{
	struct target t;
	parse_target(server, "53", &t);
	int fd = socket(t.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned char q[512];
	int n = dns_query(q, name, 1, (unsigned short)txid);
	int rc = sendto(fd, q, n, 0, (struct sockaddr *)&t.ss, t.len) == n ? 0 : -1;
	int err = errno;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	int port = ntohs(t.family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
	printf("{\"op\":\"asked\",\"ok\":%s,\"errno\":%d,\"port\":%d,\"cookie\":\"%llu\",\"pid\":%d}\n",
	       rc ? "false" : "true", rc ? err : 0, port, cookie_of(fd), getpid());
	fflush(stdout);
	long got = 0;
	long long end = now_ms() + ms;
	unsigned char buf[4096];
	while (now_ms() < end) {
		struct timeval tv = { .tv_sec = 0, .tv_usec = 20000 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (recv(fd, buf, sizeof(buf), 0) >= 12)
			got++;
	}
	printf("{\"op\":\"dnsask\",\"received\":%ld,\"pid\":%d}\n", got, getpid());
	fflush(stdout);
	close(fd);
}

void dnsforge_op(const char *bindaddr, const char *dst, const char *port, const char *name, const char *answer,
			long txid)
{
	struct target b, d;
	parse_target(bindaddr, "53", &b);
	parse_target(dst, port, &d);
	int fd = socket(b.family, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	int rc = bind(fd, (struct sockaddr *)&b.ss, b.len);
	report("dnsforge_bind", rc, errno, fd);
	if (rc == 0) {
		unsigned char m[512];
		int n = dns_answer(m, name, answer, (unsigned short)txid);
		rc = sendto(fd, m, n, 0, (struct sockaddr *)&d.ss, d.len) == n ? 0 : -1;
		report("dnsforge_send", rc, errno, fd);
	}
	close(fd);
}

void dnsserve_op(const char *addr, const char *port, const char *answer, long ms)
{
	struct target t;
	parse_target(addr, port, &t);
	int fd = socket(t.family, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&t.ss, t.len)) {
		fprintf(stderr, "probe: dnsserve %s:%s: %s\n", addr, port, strerror(errno));
		exit(2);
	}
	printf("{\"op\":\"ready\",\"pid\":%d}\n", getpid());
	fflush(stdout);
	long n = 0;
	long long end = now_ms() + ms;
	unsigned char q[512], a[1024];
	while (now_ms() < end) {
		struct timeval tv = { .tv_sec = 0, .tv_usec = 20000 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t len = recvfrom(fd, q, sizeof(q) - 1, 0, (struct sockaddr *)&from, &fl);
		if (len < 17)
			continue;
		/* The question's name back to dotted text, to build the answer from it. */
		char name[256];
		int o = 12, w = 0;
		while (o < len && q[o] && w < 250) {
			int l = q[o++];
			if (w)
				name[w++] = '.';
			for (int k = 0; k < l && o < len && w < 250; k++)
				name[w++] = q[o++];
		}
		name[w] = 0;
		int m = dns_answer(a, name, answer, (unsigned short)(q[0] << 8 | q[1]));
		sendto(fd, a, m, 0, (struct sockaddr *)&from, fl);
		n++;
	}
	printf("{\"op\":\"dnsserve\",\"answered\":%ld,\"pid\":%d}\n", n, getpid());
	fflush(stdout);
	close(fd);
}

void bind_op(const char *addr, const char *port, const char *proto)
{
	struct target t;
	parse_target(addr, port, &t);
	int fd = socket(t.family, (!strcmp(proto, "tcp") ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	int rc = bind(fd, (struct sockaddr *)&t.ss, t.len);
	report("bind", rc, errno, fd);
	close(fd);
}

/* Sends one datagram to t on fd, with `level/type` ancillary data when cmsg_len > 0. */
static int send_with(int fd, const struct target *t, int level, int type, const void *data, int len)
{
	char ctl[CMSG_SPACE(256)];
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct msghdr mh = { .msg_name = (void *)&t->ss, .msg_namelen = t->len, .msg_iov = &iov, .msg_iovlen = 1 };
	if (len > 0) {
		memset(ctl, 0, sizeof(ctl));
		mh.msg_control = ctl;
		mh.msg_controllen = CMSG_SPACE(len);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = level;
		c->cmsg_type = type;
		c->cmsg_len = CMSG_LEN(len);
		memcpy(CMSG_DATA(c), data, len);
	}
	return sendmsg(fd, &mh, 0) == 1 ? 0 : -1;
}

void srcroute4_op(const char *kind, const char *mode, const char *via, const char *dst, const char *port)
{
	struct target t;
	parse_target(dst, port, &t);
	unsigned char opt[8] = { 1, !strcmp(kind, "ssrr") ? 137 : 131, 7, 4 };
	if (inet_pton(AF_INET, via, opt + 4) != 1) {
		fprintf(stderr, "probe: bad address %s\n", via);
		exit(2);
	}
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int cmsg = !strcmp(mode, "cmsg");
	if (!cmsg) {
		int rc = setsockopt(fd, IPPROTO_IP, IP_OPTIONS, opt, sizeof(opt));
		report("srcroute_opt", rc, errno, fd);
	}
	int rc = cmsg ? send_with(fd, &t, IPPROTO_IP, IP_RETOPTS, opt, sizeof(opt)) : send_with(fd, &t, 0, 0, 0, 0);
	report("srcroute_send", rc, errno, fd);
	close(fd);
}

void srcroute6_op(const char *mode, const char *via, const char *dst, const char *port)
{
	struct target t;
	parse_target(dst, port, &t);
	/* Segment routing header, two segments: [0] the destination (the kernel writes it), [1] VIA,
	 * the next one (segments_left 1): the packet goes to VIA first. */
	unsigned char srh[8 + 32] = { 0, 4, 4, 1, 1 };
	if (inet_pton(AF_INET6, via, srh + 8 + 16) != 1 || inet_pton(AF_INET6, dst, srh + 8) != 1) {
		fprintf(stderr, "probe: bad address %s / %s\n", via, dst);
		exit(2);
	}
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int cmsg = !strcmp(mode, "cmsg");
	if (!cmsg) {
		int rc = setsockopt(fd, IPPROTO_IPV6, IPV6_RTHDR, srh, sizeof(srh));
		report("srcroute_opt", rc, errno, fd);
	}
	int rc = cmsg ? send_with(fd, &t, IPPROTO_IPV6, IPV6_RTHDR, srh, sizeof(srh)) : send_with(fd, &t, 0, 0, 0, 0);
	report("srcroute_send", rc, errno, fd);
	close(fd);
}

void sniff_op(const char *ifname, long ms)
{
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = if_nametoindex(ifname) };
	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		fprintf(stderr, "probe: sniff %s: %s\n", ifname, strerror(errno));
		exit(2);
	}
	printf("{\"op\":\"ready\",\"pid\":%d}\n", getpid());
	fflush(stdout);
	long v4opts = 0, v6rthdr = 0, total = 0;
	long long end = now_ms() + ms;
	unsigned char buf[2048];
	while (now_ms() < end) {
		struct timeval tv = { .tv_sec = 0, .tv_usec = 20000 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 20 || from.sll_pkttype != PACKET_OUTGOING)
			continue;
		total++;
		if ((buf[0] >> 4) == 4 && (buf[0] & 15) > 5)
			v4opts++;
		if ((buf[0] >> 4) == 6 && n >= 40 && buf[6] == 43)
			v6rthdr++;
	}
	printf("{\"op\":\"sniff\",\"total\":%ld,\"v4opts\":%ld,\"v6rthdr\":%ld,\"pid\":%d}\n", total, v4opts, v6rthdr,
	       getpid());
	fflush(stdout);
	close(fd);
}

/* clone3(CLONE_INTO_CGROUP): a child born directly in CGROUP_DIR; it exits at once. */
void cloneinto_op(const char *cgdir)
{
	int cfd = open(cgdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct clone_args args;
	memset(&args, 0, sizeof(args));
	args.flags = CLONE_INTO_CGROUP;
	args.exit_signal = SIGCHLD;
	args.cgroup = cfd;
	long pid = cfd < 0 ? -1 : syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0)
		_exit(0);
	int err = errno;
	if (pid > 0)
		waitpid(pid, NULL, 0);
	printf("{\"op\":\"cloneinto\",\"ok\":%s,\"errno\":%d,\"child\":%ld,\"pid\":%d}\n", pid > 0 ? "true" : "false",
	       pid > 0 ? 0 : err, pid, getpid());
	fflush(stdout);
}
