// SPDX-License-Identifier: GPL-2.0 OR MIT
/* sluice-bpf: load/pin/attach the Sluice programs, stream records, apply map changes. */
#include "common.h"
#include "../record.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

int cmd_load(const struct opts *o);
int cmd_attach(const struct opts *o, const char *cgroup);
int cmd_detach(const struct opts *o, const char *cgroup);
int cmd_stream(const struct opts *o);
int cmd_apply(const struct opts *o);
int cmd_dump(const struct opts *o, const char *map);
int cmd_stats(const struct opts *o);
int cmd_features(const struct opts *o, int nextra, char **extra);
int cmd_nobpf(int argc, char **argv);

static void __attribute__((noreturn)) usage(void)
{
	fputs("usage: sluice-bpf [--pin DIR] COMMAND [ARGS]\n"
	      "  load [--ringbuf-size BYTES]   load programs, pin maps/programs, move pinned links (never detaches)\n"
	      "  attach CGROUP_PATH            cover CGROUP_PATH and every descendant\n"
	      "  detach CGROUP_PATH|ID         remove that cgroup's links\n"
	      "  stream [--counters-ms MS] [--poll-ms MS] [--packed] [--ack-stdin [--max-unacked N] [--ack-wait-ms MS]]\n"
	      "                                records to stdout (256-byte frames; --packed: u32 kept length + the record\n"
	      "                                without its trailing zeros); with --ack-stdin a record leaves\n"
	      "                                the ring only once stdin acknowledged it (a count of records done per line)\n"
	      "  apply                         map operations from stdin (see bpf/README.md)\n"
	      "  dump MAP                      cgroup_policy policies bypass rules resolvers host_rules\n                                dns_cache config counters links\n"
	      "  stats                         counters and ring buffer facts as JSON\n"
	      "  version                       this build's record version/size and programs as JSON (needs no pin dir)\n"
	      "  features [helper:T:ID|attach:T:A ...]  probe the kernel for each feature the programs use (and those asked),\n"
	      "                                JSON lines, exit 1 if one is missing (needs no pin dir; root)\n"
	      "  nobpf [--] CMD [ARGS]         exec CMD under a seccomp filter refusing bpf() (EPERM); needs no pin dir\n"
	      "--pin defaults to $SLUICE_BPF_PIN or " SLUICE_DEFAULT_PIN "\n",
	      stderr);
	exit(EXIT_USAGE);
}

static void parse_opts(int argc, char **argv, const char *shortopts, struct opts *o)
{
	static const struct option longopts[] = {
		{ "pin", required_argument, 0, 'p' },
		{ "ringbuf-size", required_argument, 0, 'r' },
		{ "counters-ms", required_argument, 0, 'c' },
		{ "poll-ms", required_argument, 0, 'P' },
		{ "ack-stdin", no_argument, 0, 'A' },
		{ "max-unacked", required_argument, 0, 'M' },
		{ "ack-wait-ms", required_argument, 0, 'W' },
		{ "packed", no_argument, 0, 'K' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	int c;
	char *end;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->pin = optarg;
			break;
		case 'r':
			o->ringbuf_size = strtoul(optarg, &end, 0);
			if (*end)
				die(EXIT_USAGE, "bad --ringbuf-size %s", optarg);
			break;
		case 'c':
			o->counters_ms = strtol(optarg, &end, 0);
			if (*end || o->counters_ms < 0)
				die(EXIT_USAGE, "bad --counters-ms %s", optarg);
			break;
		case 'P':
			o->poll_ms = (int)strtol(optarg, &end, 0);
			if (*end || o->poll_ms < 1 || o->poll_ms > 1000)
				die(EXIT_USAGE, "bad --poll-ms %s (1..1000)", optarg);
			break;
		case 'A':
			o->ack_stdin = 1;
			break;
		case 'K':
			o->packed = 1;
			break;
		case 'M':
			o->max_unacked = strtoul(optarg, &end, 0);
			if (*end || o->max_unacked < 2 || o->max_unacked > (1ul << 24))
				die(EXIT_USAGE, "bad --max-unacked %s (2..16777216)", optarg);
			break;
		case 'W':
			o->ack_wait_ms = (int)strtol(optarg, &end, 0);
			if (*end || o->ack_wait_ms < 0 || o->ack_wait_ms > 60000)
				die(EXIT_USAGE, "bad --ack-wait-ms %s (0..60000)", optarg);
			break;
		default:
			usage();
		}
	}
}

int main(int argc, char **argv)
{
	struct opts o = { .pin = getenv("SLUICE_BPF_PIN"), .counters_ms = 1000, .poll_ms = 10, .max_unacked = 16384,
			  .ack_wait_ms = 1000 };
	if (!o.pin || !*o.pin)
		o.pin = SLUICE_DEFAULT_PIN;
	parse_opts(argc, argv, "+p:h", &o);
	if (optind >= argc)
		usage();
	const char *cmd = argv[optind++];
	if (!strcmp(cmd, "nobpf")) { /* the command's own options are not ours: no second parse */
		if (optind < argc && !strcmp(argv[optind], "--"))
			optind++;
		return cmd_nobpf(argc - optind, argv + optind);
	}
	parse_opts(argc, argv, "p:h", &o); /* options may also follow the command */
	int nargs = argc - optind;
	char **args = argv + optind;
	if (!strcmp(cmd, "load") && nargs == 0)
		return cmd_load(&o);
	if (!strcmp(cmd, "attach") && nargs == 1)
		return cmd_attach(&o, args[0]);
	if (!strcmp(cmd, "detach") && nargs == 1)
		return cmd_detach(&o, args[0]);
	if (!strcmp(cmd, "stream") && nargs == 0)
		return cmd_stream(&o);
	if (!strcmp(cmd, "apply") && nargs == 0)
		return cmd_apply(&o);
	if (!strcmp(cmd, "dump") && nargs == 1)
		return cmd_dump(&o, args[0]);
	if (!strcmp(cmd, "stats") && nargs == 0)
		return cmd_stats(&o);
	if (!strcmp(cmd, "features"))
		return cmd_features(&o, nargs, args);
	if (!strcmp(cmd, "version") && nargs == 0) {
		/* stream_formats: what `stream` can write (a reader asks before it passes --packed). */
		printf("{\"record_version\":%d,\"record_size\":%d,\"cgroup_programs\":%d,"
		       "\"stream_formats\":[\"fixed\",\"packed\"]}\n",
		       SLUICE_RECORD_VERSION, SLUICE_RECORD_SIZE, sluice_nprogs);
		return EXIT_OK;
	}
	usage();
}
