// DNS attribution benchmarks on the real kernel (root), part of bench/kernel.ts:
//   kernel.dns_attributed_ratio  connects issued immediately after resolution (same process, next
//                                syscall) whose record carries the right name, over all of them
//                                (≥ 10,000; goal 1.0). Every name and answer address is distinct.
//   kernel.dns_answers_per_s     DNS responses parsed by the cgroup_skb ingress program per second,
//                                every one parsed and recorded, zero ring-buffer drops.
import { nameHash } from '@sluice/contracts';
import { PROBE, probe, run, until, type ProbeCounts } from '../test/kernel/exec.ts';
import { dnsServer } from '../test/kernel/dns-server.ts';
import { spawnProbe } from '../test/kernel/probe-proc.ts';
import { Sandbox } from '../test/kernel/sandbox.ts';

const CONNECTS = 10_000;
const RESOLVER = '127.0.0.157';

const addrOf = (i: number) => `127.1.${(i >> 8) & 255}.${i & 255}`;

export async function dnsAttributedRatio(): Promise<number> {
  const sb = new Sandbox('bench-dns');
  const dns = await dnsServer(RESOLVER);
  try {
    await sb.setup({ ringbufSize: 16 << 20 });
    const stream = sb.stream(0);
    for (let i = 0; i < CONNECTS; i++) {
      const name = `n${i}.bench.test`;
      dns.zone.set(name, [{ name, type: 'A', ttl: 300, addr: addrOf(i) }]);
    }
    const cg = sb.cgroup('resolver-client');
    // Allowed by name only: a connect without the name would be denied (and counted wrong).
    await sb.apply(['policy 1', `resolver 1 1 ${RESOLVER}`, 'host 1 2 **.bench.test * tcp', `cgroup ${cg.path} 1 enforce`]);
    // Nothing listens on port 9: allowed connects are refused by the peer and recorded at close.
    const [r] = await probe<ProbeCounts>(cg.path, 'resolveconnect', RESOLVER, 'n%d.bench.test', CONNECTS, 9);
    if (r!.outcomes.resolved !== CONNECTS) throw new Error(`resolveconnect: ${JSON.stringify(r!.outcomes)}`);
    const want = new Map(Array.from({ length: CONNECTS }, (_, i) => [addrOf(i), nameHash(`n${i}.bench.test`)]));
    const flows = () => stream.kernel.filter((x) => x.pid === r!.pid && x.l4Proto === 6);
    await until(() => flows().length >= CONNECTS, 30_000, 'a record for every connect').catch(() => undefined);
    const right = flows().filter((x) => x.verdict === 'ALLOWED' && want.get(x.dstAddr) === x.domainHash).length;
    process.stderr.write(
      `kernel bench: ${right}/${CONNECTS} connects right after resolution carried the name (${JSON.stringify(r!.outcomes)})\n`,
    );
    return right / CONNECTS;
  } finally {
    await sb.teardown();
    await dns.close();
  }
}

export async function dnsAnswersPerSecond(): Promise<number> {
  const sb = new Sandbox('bench-dnsrate');
  try {
    await sb.setup({ ringbufSize: 64 << 20 });
    const cg = sb.cgroup('receiver');
    await sb.apply(['policy 1', `resolver 1 1 127.0.0.158`, `cgroup ${cg.path} 1 enforce`]);
    const stream = sb.stream(0);
    const recv = spawnProbe(cg.path, 'dnsrecv', '127.0.0.1', 60_000);
    const port = (await recv.line()).port as number;
    try {
      let n = 200_000;
      for (let trial = 0; trial < 5; trial++, n = Math.floor(n * 0.7)) {
        const before = (await sb.stats()).counters;
        // The sender stays in this process's (unmanaged) cgroup; only the receiver is managed.
        const out = await run(PROBE, ['dnsblast', '127.0.0.158', '127.0.0.1', String(port), String(n)]);
        if (out.code !== 0) throw new Error(`dnsblast failed: ${out.stderr}`);
        const b = JSON.parse(out.stdout) as { sent: number; ns: number };
        const s = (await sb.stats()).counters;
        const parsed = s.dns_answers - before.dns_answers;
        const dropped = s.drop_ringbuf_full - before.drop_ringbuf_full;
        await until(() => stream.dns.length >= parsed - dropped, 60_000, 'the stream to drain');
        process.stderr.write(`kernel bench: ${b.sent} DNS responses sent, ${parsed} parsed in ${(b.ns / 1e6).toFixed(0)} ms, ${dropped} dropped\n`);
        if (parsed === b.sent && dropped === 0) return parsed / (b.ns / 1e9);
      }
      throw new Error('no zero-drop run');
    } finally {
      recv.kill();
    }
  } finally {
    await sb.teardown();
  }
}
