// Docker's embedded DNS through the kernel programs, for real (issue #14, "must show"): a
// container on a user-defined network, in a private managed scope, resolves 1,000 fresh names
// through 127.0.0.11 (Docker DNATs it to its resolver's port) and connects to each. Every connect
// must be ALLOWED by the host rule with its own name, no answer may be flagged forged, and the
// resolver flow must carry its bytes both ways (UDP bytes out were 0 before). The programs, pin
// dir and scope are the test's own (test/kernel/sandbox.ts); the names are aliases of a server
// container, so nothing leaves the machine.
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { nameHash } from '@sluice/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BPF_BUILD, jsonLines, run, until } from '../kernel/exec.ts';
import type { RecordStream } from '../kernel/record-stream.ts';
import { cgroup2Mount, Sandbox } from '../kernel/sandbox.ts';

const IMAGE = 'sluice/base:busybox';
const PROBE = resolve(BPF_BUILD, 'probe-static');
const N = 1000;
const tag = `${process.pid}`;
const sb = new Sandbox('dockerdns');
const net = `sluice-test-dns-${tag}`;
const server = `sluice-test-dnssrv-${tag}`;
const client = `sluice-test-dnscli-${tag}`;
let stream: RecordStream;

async function docker(...args: string[]): Promise<string> {
  const r = await run('docker', args);
  if (r.code !== 0) throw new Error(`docker ${args.slice(0, 3).join(' ')} … failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  if (!existsSync(PROBE)) throw new Error(`${PROBE} is missing: run \`pnpm build\``);
  if ((await run('docker', ['image', 'inspect', IMAGE])).code !== 0) throw new Error(`${IMAGE} is missing: scripts/services.sh builds it`);
  await sb.setup();
  stream = sb.stream();
  // The container's cgroup is created by Docker under the scope: the default policy judges it.
  await sb.apply(['policy 90', 'resolver 90 901 127.0.0.11', 'host 90 902 *.bulk.test 8080 tcp', 'default 90 enforce']);
  await docker('network', 'create', net);
  const aliases = Array.from({ length: N }, (_, i) => ['--network-alias', `n${i}.bulk.test`]).flat();
  await docker('run', '-d', '--name', server, '--network', net, ...aliases, '-v', `${PROBE}:/probe:ro`, '--entrypoint', '/probe', IMAGE, 'serve', '0.0.0.0', '8080', '600000');
}, 120_000);

afterAll(async () => {
  await run('docker', ['rm', '-f', server, client]);
  await run('docker', ['network', 'rm', net]);
  await sb.teardown();
  // Docker's cgroupfs driver leaves the --cgroup-parent directories behind in the v1 hierarchies
  // of a hybrid host: remove ours (empty once the container is gone).
  const rel = sb.scope.slice(cgroup2Mount().length);
  for (const ctrl of readdirSync('/sys/fs/cgroup')) {
    for (const d of [`/sys/fs/cgroup/${ctrl}${rel}/agents`, `/sys/fs/cgroup/${ctrl}${rel}`]) {
      if (existsSync(d) && d !== sb.scope) rmdirSync(d);
    }
  }
}, 60_000);

describe("Docker's embedded DNS", () => {
  it(`${N} fresh names resolved and connected from a container are all ALLOWED by host, with their names`, async () => {
    const parent = sb.scope.slice(cgroup2Mount().length) + '/agents';
    const out = await docker(
      'run', '--name', client, '--network', net, '--cgroup-parent', parent, '-v', `${PROBE}:/probe:ro`, '--entrypoint', '/probe', IMAGE,
      'connect', '192.0.2.1', '80', 'resolveconnect', '127.0.0.11', 'n%d.bulk.test', String(N), '8080',
    );
    const [denied, bulk] = jsonLines<{ op: string; error?: string; outcomes?: Record<string, number> }>(out);
    // Precondition: the container really is under enforcement (an unlisted address is refused).
    expect(denied).toMatchObject({ op: 'connect', error: 'EPERM' });
    expect(bulk!.outcomes).toEqual({ resolved: N, OK: N, ECONNREFUSED: 0, other: 0 });

    const closes = () => stream.kernel.filter((r) => r.kind === 'tcp_close' && r.dstPort === 8080);
    await until(() => closes().length >= N, 15_000, `${N} tcp_close records`);
    const want = new Set(Array.from({ length: N }, (_, i) => nameHash(`n${i}.bulk.test`)));
    for (const c of closes()) expect([c.verdict, c.reason, want.has(c.domainHash)]).toEqual(['ALLOWED', 'host', true]);
    expect(new Set(closes().map((c) => c.domainHash)).size).toBe(N);
    expect(stream.dns.filter((d) => d.forged)).toEqual([]);
    // The resolver flow, recorded when the probe's socket closed: bytes both ways, one packet each per name.
    const flow = await stream.waitFor((r) => r.kind === 'udp_flow' && r.dstPort === 53, 5000, 'the resolver flow');
    expect(flow).toMatchObject({ reason: 'resolver', dstAddr: '127.0.0.11', flow: { packetsOut: N, packetsIn: N } });
    expect(flow.flow!.bytesOut).toBeGreaterThan(0n);
    expect(flow.flow!.bytesIn).toBeGreaterThan(flow.flow!.bytesOut);
    const c = (await sb.stats()).counters;
    expect([c.dns_unsolicited, c.dns_mismatch, c.dns_wrong_socket, c.drop_ringbuf_full]).toEqual([0, 0, 0, 0]);
  }, 120_000);
});
