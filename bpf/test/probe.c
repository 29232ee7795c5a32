// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Test client for the kernel tests: joins a cgroup itself (so every syscall
 * it makes is judged as that cgroup's), then runs the operations given on
 * the command line and prints one JSON line per operation with errno and the
 * socket cookie (to match the record the kernel emitted).
 *
 *   probe [--cgroup PATH] OP ARGS... [OP ARGS...]
 *     connect ADDR PORT        TCP connect (ADDR with ':' -> AF_INET6, e.g. ::ffff:127.0.0.2)
 *     udpconnect ADDR PORT     UDP connect
 *     sendto ADDR PORT         UDP sendto on an unconnected socket
 *     fastopen ADDR PORT       TCP Fast Open: sendto(MSG_FASTOPEN) without connect()
 *     raw 4|6                  socket(AF_INET[6], SOCK_RAW, ICMP)
 *     packet                   socket(AF_PACKET, SOCK_RAW, ETH_P_ALL)
 *     loop ADDR PORT MS        TCP connects for MS ms; counts per outcome
 *     paced ADDR PORT MS GAP   like loop, sleeping GAP µs between connects (leaves CPU to others)
 *     burst ADDR PORT N        N TCP connects as fast as possible; counts per outcome
 *     sendburst ADDR PORT N RATE   N UDP sendto on one socket (one syscall per verdict),
 *                              at most RATE per second (0 = unpaced); counts
 *     serve ADDR PORT MS       TCP listener accepting and closing for MS ms (benchmarks)
 *     resolve SERVER NAME TYPE DNS query (TYPE a|aaaa) to SERVER:53 over UDP; waits for the answer
 *     dnsrecv ADDR MS          binds UDP ADDR:0, prints {"op":"ready","port":P}, counts datagrams for MS ms
 *     resolveconnect SERVER FMT N PORT   N times: resolve FMT (printf, %d = i), TCP connect to the
 *                              last 4 answer bytes (the server's one A record) at PORT, close
 *     tcpflow ADDR PORT SEND PAUSE_MS   connect, send SEND bytes in two halves PAUSE_MS apart,
 *                              shutdown(SHUT_WR), read to EOF, close; reports bytes received
 *     dnsblast SRC DST PORT N  (outside the managed scope) N copies of a one-answer DNS response from
 *                              SRC:53 to DST:PORT as fast as possible; reports the elapsed ns
 *     v6onlyconnect ADDR PORT  TCP connect from an IPV6_V6ONLY socket (to ::ffff:a.b.c.d: fails
 *                              with ENETUNREACH in the kernel, after the connect hook)
 *     dnsask SERVER NAME TXID MS   unconnected UDP socket: one A query (id TXID) to SERVER:53,
 *                              prints {"op":"asked","port":P,...}, then counts datagrams for MS ms
 *     dnsforge BIND DST PORT NAME ANSWER TXID   bind BIND:53, send DST:PORT a response
 *                              "NAME A ANSWER" with id TXID; reports the bind and the send
 *     dnsserve ADDR PORT ANSWER MS   (outside the scope) answers every A query on ADDR:PORT
 *                              with ANSWER (ttl 300) for MS ms; prints ready, then the count
 *     bind ADDR PORT udp|tcp   bind(2) only; reports errno
 *     srcroute4 lsrr|ssrr opt|cmsg VIA DST PORT   UDP to DST:PORT with a source route via VIA,
 *                              set with setsockopt(IP_OPTIONS) or per datagram (IP_RETOPTS cmsg);
 *                              reports the option call and the send
 *     srcroute6 opt|cmsg VIA DST PORT   the same with an IPv6 segment routing header
 *                              (IPV6_RTHDR) whose next segment is VIA
 *     cloneinto CGROUP_DIR     clone3(CLONE_INTO_CGROUP) a child straight into CGROUP_DIR (it exits)
 *     sniff IFACE MS           (root, outside the scope) AF_PACKET on IFACE: counts outgoing
 *                              IPv4 packets with options and IPv6 packets with a routing header
 *     sleep MS
 */
#include "probe.h"

void parse_target(const char *addr, const char *port, struct target *t)
{
	memset(t, 0, sizeof(*t));
	int p = atoi(port);
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&t->ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(p);
		if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1) {
			fprintf(stderr, "probe: bad address %s\n", addr);
			exit(2);
		}
		t->len = sizeof(*s6);
		t->family = AF_INET6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&t->ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(p);
		if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1) {
			fprintf(stderr, "probe: bad address %s\n", addr);
			exit(2);
		}
		t->len = sizeof(*s4);
		t->family = AF_INET;
	}
}

unsigned long long cookie_of(int fd)
{
	unsigned long long c = 0;
	socklen_t l = sizeof(c);
	getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &l);
	return c;
}

void report(const char *op, int rc, int err, int fd)
{
	printf("{\"op\":\"%s\",\"ok\":%s,\"errno\":%d,\"error\":\"%s\",\"cookie\":\"%llu\",\"pid\":%d}\n", op,
	       rc == 0 ? "true" : "false", rc == 0 ? 0 : err, rc == 0 ? "" : strerrorname_np(err) ? strerrorname_np(err) : "?",
	       fd >= 0 ? cookie_of(fd) : 0ull, getpid());
	fflush(stdout);
}

/* One attempt; returns 0 or errno. */
static int attempt(const struct target *t, int type, int use_sendto, int *fd_out)
{
	int fd = socket(t->family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int rc = use_sendto ? (sendto(fd, "x", 1, 0, (struct sockaddr *)&t->ss, t->len) == 1 ? 0 : -1)
			    : connect(fd, (struct sockaddr *)&t->ss, t->len);
	int err = rc ? errno : 0;
	if (type == SOCK_STREAM && !fd_out) {
		/* Reset instead of FIN: loops of thousands of connects must not exhaust ports in TIME_WAIT. */
		struct linger l = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	if (fd_out)
		*fd_out = fd;
	else
		close(fd);
	return err;
}

static void single(const char *op, const char *addr, const char *port, int type, int use_sendto)
{
	struct target t;
	int fd = -1;
	parse_target(addr, port, &t);
	int err = attempt(&t, type, use_sendto, &fd);
	report(op, err ? -1 : 0, err, fd);
	if (fd >= 0)
		close(fd);
}

long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

/* Counts outcomes by errno (0 = success) for a time window or a fixed count. */
static void repeat(const char *op, const char *addr, const char *port, long limit, int by_time, long gap_us)
{
	struct target t;
	parse_target(addr, port, &t);
	static long counts[256];
	memset(counts, 0, sizeof(counts));
	long total = 0;
	long long end = now_ms() + limit;
	while (by_time ? now_ms() < end : total < limit) {
		int err = attempt(&t, SOCK_STREAM, 0, NULL);
		counts[err < 256 ? err : 255]++;
		total++;
		if (gap_us)
			usleep(gap_us);
	}
	printf("{\"op\":\"%s\",\"total\":%ld,\"outcomes\":{", op, total);
	for (int i = 0, first = 1; i < 256; i++)
		if (counts[i]) {
			printf("%s\"%s\":%ld", first ? "" : ",", i ? strerrorname_np(i) : "OK", counts[i]);
			first = 0;
		}
	printf("},\"pid\":%d}\n", getpid());
	fflush(stdout);
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void sendburst(const char *addr, const char *port, long n, long rate)
{
	long long start = now_ns();
	struct target t;
	parse_target(addr, port, &t);
	int fd = socket(t.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	long ok = 0, eperm = 0, other = 0;
	for (long i = 0; i < n; i++) {
		if (sendto(fd, "x", 1, 0, (struct sockaddr *)&t.ss, t.len) == 1)
			ok++;
		else if (errno == EPERM)
			eperm++;
		else
			other++;
		if (rate && i % 256 == 255) { /* pace in small steps: sleep off any lead over the schedule */
			long long due = start + (long long)((i + 1) * (1e9 / rate));
			long long lead = due - now_ns();
			if (lead > 0) {
				struct timespec ts = { .tv_sec = lead / 1000000000ll, .tv_nsec = lead % 1000000000ll };
				nanosleep(&ts, NULL);
			}
		}
	}
	close(fd);
	printf("{\"op\":\"sendburst\",\"total\":%ld,\"outcomes\":{\"OK\":%ld,\"EPERM\":%ld,\"other\":%ld},\"pid\":%d}\n",
	       n, ok, eperm, other, getpid());
	fflush(stdout);
}

static void serve(const char *addr, const char *port, long ms)
{
	struct target t;
	parse_target(addr, port, &t);
	int fd = socket(t.family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&t.ss, t.len) || listen(fd, 4096)) {
		fprintf(stderr, "probe: serve %s:%s: %s\n", addr, port, strerror(errno));
		exit(2);
	}
	printf("{\"op\":\"serve\",\"ok\":true,\"pid\":%d}\n", getpid());
	fflush(stdout);
	long long end = now_ms() + ms;
	long n = 0;
	while (now_ms() < end) {
		struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		int c = accept(fd, NULL, NULL);
		if (c >= 0) {
			close(c);
			n++;
		}
	}
	printf("{\"op\":\"served\",\"total\":%ld,\"pid\":%d}\n", n, getpid());
}

/* A DNS query for name (type 1 A, 28 AAAA) into buf; returns its length. */
int dns_query(unsigned char *buf, const char *name, int type, unsigned short id)
{
	int n = 0;
	buf[n++] = id >> 8;
	buf[n++] = id & 0xff;
	buf[n++] = 0x01; /* RD */
	buf[n++] = 0;
	buf[n++] = 0, buf[n++] = 1; /* QDCOUNT */
	memset(buf + n, 0, 6);
	n += 6;
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		int len = dot ? dot - p : (int)strlen(p);
		buf[n++] = len;
		memcpy(buf + n, p, len);
		n += len;
		p += len;
		if (*p == '.')
			p++;
	}
	buf[n++] = 0;
	buf[n++] = type >> 8, buf[n++] = type & 0xff;
	buf[n++] = 0, buf[n++] = 1; /* IN */
	return n;
}

/* One query on fd (connected to the server); returns the answer length or -errno. */
static int dns_roundtrip(int fd, const char *name, int type, unsigned char *ans, int cap)
{
	unsigned char q[512];
	int n = dns_query(q, name, type, (unsigned short)rand());
	if (send(fd, q, n, 0) != n)
		return -errno;
	int r = recv(fd, ans, cap, 0);
	return r < 0 ? -errno : r;
}

static int dns_socket(const char *server)
{
	struct target t;
	parse_target(server, "53", &t);
	int fd = socket(t.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { .tv_sec = 2, .tv_usec = 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd < 0 || connect(fd, (struct sockaddr *)&t.ss, t.len))
		return -errno;
	return fd;
}

static void resolve_op(const char *server, const char *name, const char *type)
{
	unsigned char ans[4096];
	int fd = dns_socket(server);
	int r = fd < 0 ? fd : dns_roundtrip(fd, name, !strcmp(type, "aaaa") ? 28 : 1, ans, sizeof(ans));
	printf("{\"op\":\"resolve\",\"ok\":%s,\"errno\":%d,\"bytes\":%d,\"cookie\":\"%llu\",\"pid\":%d}\n",
	       r >= 0 ? "true" : "false", r < 0 ? -r : 0, r < 0 ? 0 : r, fd >= 0 ? cookie_of(fd) : 0ull, getpid());
	fflush(stdout);
	if (fd >= 0)
		close(fd);
}

static void dnsrecv_op(const char *addr, long ms)
{
	struct target t;
	parse_target(addr, "0", &t);
	int fd = socket(t.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int big = 8 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	if (fd < 0 || bind(fd, (struct sockaddr *)&t.ss, t.len)) {
		fprintf(stderr, "probe: dnsrecv bind %s: %s\n", addr, strerror(errno));
		exit(2);
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	int port = ntohs(t.family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
	printf("{\"op\":\"ready\",\"port\":%d,\"cookie\":\"%llu\",\"pid\":%d}\n", port, cookie_of(fd), getpid());
	fflush(stdout);
	long n = 0;
	long long end = now_ms() + ms;
	unsigned char buf[4096];
	while (now_ms() < end) {
		struct timeval tv = { .tv_sec = 0, .tv_usec = 50000 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (recv(fd, buf, sizeof(buf), 0) >= 0)
			n++;
	}
	printf("{\"op\":\"dnsrecv\",\"total\":%ld,\"pid\":%d}\n", n, getpid());
	fflush(stdout);
	close(fd);
}

static void resolveconnect_op(const char *server, const char *fmt, long n, const char *port)
{
	unsigned char ans[4096];
	char name[256];
	long ok = 0, resolved = 0, refused = 0, other = 0;
	int fd = dns_socket(server);
	if (fd < 0) {
		fprintf(stderr, "probe: dns socket: %s\n", strerror(-fd));
		exit(2);
	}
	for (long i = 0; i < n; i++) {
		snprintf(name, sizeof(name), fmt, (int)i);
		int r = dns_roundtrip(fd, name, 1, ans, sizeof(ans));
		if (r < 16) {
			other++;
			continue;
		}
		resolved++;
		char ip[32];
		snprintf(ip, sizeof(ip), "%u.%u.%u.%u", ans[r - 4], ans[r - 3], ans[r - 2], ans[r - 1]);
		struct target t;
		parse_target(ip, port, &t);
		int err = attempt(&t, SOCK_STREAM, 0, NULL);
		if (!err)
			ok++;
		else if (err == ECONNREFUSED)
			refused++;
		else
			other++;
	}
	close(fd);
	printf("{\"op\":\"resolveconnect\",\"total\":%ld,\"outcomes\":{\"resolved\":%ld,\"OK\":%ld,\"ECONNREFUSED\":%ld,\"other\":%ld},\"pid\":%d}\n",
	       n, resolved, ok, refused, other, getpid());
	fflush(stdout);
}

static void tcpflow_op(const char *addr, const char *port, long send_bytes, long pause_ms)
{
	struct target t;
	parse_target(addr, port, &t);
	int fd = socket(t.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(fd, (struct sockaddr *)&t.ss, t.len)) {
		report("tcpflow", -1, errno, fd);
		close(fd);
		return;
	}
	static char buf[1 << 16];
	memset(buf, 'x', sizeof(buf));
	long sent = 0, received = 0;
	for (int half = 0; half < 2; half++) {
		long want = half ? send_bytes - send_bytes / 2 : send_bytes / 2;
		while (want > 0) {
			ssize_t w = write(fd, buf, want < (long)sizeof(buf) ? want : (long)sizeof(buf));
			if (w <= 0)
				break;
			want -= w;
			sent += w;
		}
		if (!half && pause_ms)
			usleep(pause_ms * 1000);
	}
	shutdown(fd, SHUT_WR);
	ssize_t r;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		received += r;
	unsigned long long cookie = cookie_of(fd);
	close(fd);
	printf("{\"op\":\"tcpflow\",\"ok\":true,\"errno\":0,\"error\":\"\",\"cookie\":\"%llu\",\"sent\":%ld,\"received\":%ld,\"pid\":%d}\n",
	       cookie, sent, received, getpid());
	fflush(stdout);
}

static void dnsblast_op(const char *src, const char *dst, const char *port, long n)
{
	static const unsigned char msg[] = {
		0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
		5, 'b', 'l', 'a', 's', 't', 5, 'b', 'e', 'n', 'c', 'h', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,
		0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1,
	};
	struct target s, d;
	parse_target(src, "53", &s);
	parse_target(dst, port, &d);
	int fd = socket(s.family, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&s.ss, s.len) || connect(fd, (struct sockaddr *)&d.ss, d.len)) {
		fprintf(stderr, "probe: dnsblast %s -> %s:%s: %s\n", src, dst, port, strerror(errno));
		exit(2);
	}
	long long t0 = now_ns();
	long sent = 0;
	for (long i = 0; i < n; i++)
		sent += send(fd, msg, sizeof(msg), 0) == (ssize_t)sizeof(msg);
	long long ns = now_ns() - t0;
	close(fd);
	printf("{\"op\":\"dnsblast\",\"total\":%ld,\"sent\":%ld,\"ns\":%lld,\"pid\":%d}\n", n, sent, ns, getpid());
	fflush(stdout);
}

static void join_cgroup(const char *path)
{
	char file[4096];
	snprintf(file, sizeof(file), "%s/cgroup.procs", path);
	int fd = open(file, O_WRONLY);
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%d\n", getpid());
	if (fd < 0 || write(fd, pid, n) != n) {
		fprintf(stderr, "probe: cannot join cgroup %s: %s\n", path, strerror(errno));
		exit(2);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	int i = 1;
	if (i + 1 < argc && !strcmp(argv[i], "--cgroup")) {
		join_cgroup(argv[i + 1]);
		i += 2;
	}
#define NEED(n) do { if (i + (n) >= argc) { fprintf(stderr, "probe: %s needs %d args\n", argv[i], n); return 2; } } while (0)
	while (i < argc) {
		const char *op = argv[i];
		if (!strcmp(op, "connect") || !strcmp(op, "udpconnect") || !strcmp(op, "sendto")) {
			NEED(2);
			single(op, argv[i + 1], argv[i + 2], op[0] == 'c' ? SOCK_STREAM : SOCK_DGRAM, op[0] == 's');
			i += 3;
		} else if (!strcmp(op, "fastopen")) {
			NEED(2);
			struct target t;
			parse_target(argv[i + 1], argv[i + 2], &t);
			int fd = socket(t.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
			int rc = sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&t.ss, t.len) == 1 ? 0 : -1;
			report(op, rc, errno, fd);
			close(fd);
			i += 3;
		} else if (!strcmp(op, "raw")) {
			NEED(1);
			int v6 = !strcmp(argv[i + 1], "6");
			int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
			report(op, fd < 0 ? -1 : 0, errno, fd);
			if (fd >= 0)
				close(fd);
			i += 2;
		} else if (!strcmp(op, "packet")) {
			int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
			report(op, fd < 0 ? -1 : 0, errno, -1);
			if (fd >= 0)
				close(fd);
			i += 1;
		} else if (!strcmp(op, "loop") || !strcmp(op, "burst")) {
			NEED(3);
			repeat(op, argv[i + 1], argv[i + 2], atol(argv[i + 3]), op[0] == 'l', 0);
			i += 4;
		} else if (!strcmp(op, "paced")) {
			NEED(4);
			repeat(op, argv[i + 1], argv[i + 2], atol(argv[i + 3]), 1, atol(argv[i + 4]));
			i += 5;
		} else if (!strcmp(op, "sendburst")) {
			NEED(4);
			sendburst(argv[i + 1], argv[i + 2], atol(argv[i + 3]), atol(argv[i + 4]));
			i += 5;
		} else if (!strcmp(op, "serve")) {
			NEED(3);
			serve(argv[i + 1], argv[i + 2], atol(argv[i + 3]));
			i += 4;
		} else if (!strcmp(op, "resolve")) {
			NEED(3);
			resolve_op(argv[i + 1], argv[i + 2], argv[i + 3]);
			i += 4;
		} else if (!strcmp(op, "dnsrecv")) {
			NEED(2);
			dnsrecv_op(argv[i + 1], atol(argv[i + 2]));
			i += 3;
		} else if (!strcmp(op, "resolveconnect")) {
			NEED(4);
			resolveconnect_op(argv[i + 1], argv[i + 2], atol(argv[i + 3]), argv[i + 4]);
			i += 5;
		} else if (!strcmp(op, "tcpflow")) {
			NEED(4);
			tcpflow_op(argv[i + 1], argv[i + 2], atol(argv[i + 3]), atol(argv[i + 4]));
			i += 5;
		} else if (!strcmp(op, "dnsblast")) {
			NEED(4);
			dnsblast_op(argv[i + 1], argv[i + 2], argv[i + 3], atol(argv[i + 4]));
			i += 5;
		} else if (!strcmp(op, "v6onlyconnect")) {
			NEED(2);
			struct target t;
			parse_target(argv[i + 1], argv[i + 2], &t);
			int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
			int rc = connect(fd, (struct sockaddr *)&t.ss, t.len);
			report(op, rc, errno, fd);
			close(fd);
			i += 3;
		} else if (!strcmp(op, "dnsask")) {
			NEED(4);
			dnsask_op(argv[i + 1], argv[i + 2], atol(argv[i + 3]), atol(argv[i + 4]));
			i += 5;
		} else if (!strcmp(op, "dnsforge")) {
			NEED(6);
			dnsforge_op(argv[i + 1], argv[i + 2], argv[i + 3], argv[i + 4], argv[i + 5], atol(argv[i + 6]));
			i += 7;
		} else if (!strcmp(op, "dnsserve")) {
			NEED(4);
			dnsserve_op(argv[i + 1], argv[i + 2], argv[i + 3], atol(argv[i + 4]));
			i += 5;
		} else if (!strcmp(op, "bind")) {
			NEED(3);
			bind_op(argv[i + 1], argv[i + 2], argv[i + 3]);
			i += 4;
		} else if (!strcmp(op, "srcroute4")) {
			NEED(5);
			srcroute4_op(argv[i + 1], argv[i + 2], argv[i + 3], argv[i + 4], argv[i + 5]);
			i += 6;
		} else if (!strcmp(op, "srcroute6")) {
			NEED(4);
			srcroute6_op(argv[i + 1], argv[i + 2], argv[i + 3], argv[i + 4]);
			i += 5;
		} else if (!strcmp(op, "cloneinto")) {
			NEED(1);
			cloneinto_op(argv[i + 1]);
			i += 2;
		} else if (!strcmp(op, "sniff")) {
			NEED(2);
			sniff_op(argv[i + 1], atol(argv[i + 2]));
			i += 3;
		} else if (!strcmp(op, "sleep")) {
			NEED(1);
			usleep(atol(argv[i + 1]) * 1000);
			i += 2;
		} else {
			fprintf(stderr, "probe: unknown op %s\n", op);
			return 2;
		}
	}
	return 0;
}
