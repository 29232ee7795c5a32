// Kernel vs iptables + ipset, side by side on the real kernel (root): the cost of an allowed
// loopback connect() from a managed cgroup in four set-ups, measured in the same rounds:
//   none      a cgroup neither Sluice nor iptables judges (no hook in OUTPUT)
//   sluice    a cgroup under the bench's private scope: policy with N CIDR rules, N host rules,
//             N managed cgroups, a stream draining the ring (as kernel.ts)
//   iptables  a cgroup outside the scope, matched by `-m cgroup --path` among N+1 per-cgroup rules
//             (its rule in the middle), allowlist of the same N CIDRs + N resolved names in an ipset
//   both      a Sluice-managed cgroup that iptables matches too (its rule next to the other's)
// Overheads are ns per connect over `none`, paired within each round, medians over rounds.
//   kernel.iptables_ratio            Sluice's overhead over iptables' at N = 1,000 (goal ≤ 1.0)
//   kernel.peers.nN.*                the four set-ups at N = 10, 1,000, 10,000 (growth)
// BENCH_QUICK=1: 3 rounds of 300 ms per set-up instead of 7 of 500 ms.
import { spawn } from 'node:child_process';
import { mkdirSync, rmdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { HELPER, PROBE, probe, type ProbeCounts } from '../test/kernel/exec.ts';
import { cgroup2Mount, Sandbox } from '../test/kernel/sandbox.ts';
import { IptablesPeer } from './lib/iptables-peer.ts';
import { median } from './lib/stats.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = QUICK ? 3 : 7;
const ROUND_MS = QUICK ? 300 : 500;
const SIZES = (process.env.BENCH_PEERS_SIZES ?? '10,1000,10000').split(',').map(Number);
const SERVER = '127.0.0.2';
const SETUPS = ['none', 'sluice', 'iptables', 'both'] as const;
type Setup = (typeof SETUPS)[number];

const cidr = (i: number) => `10.${(i >> 8) & 255}.${i & 255}.0/24`;
const hostAddr = (i: number) => `198.${18 + ((i >> 16) & 1)}.${(i >> 8) & 255}.${i & 255}`;

/** ns per connect of one `loop` run in `cgroup`; every connect must succeed. */
async function nsPerConnect(cgroup: string, port: number): Promise<number> {
  const [c] = await probe<ProbeCounts>(cgroup, 'loop', SERVER, port, ROUND_MS);
  if (!c || c.total === 0 || c.outcomes.OK !== c.total) throw new Error(`connects failed in ${cgroup}: ${JSON.stringify(c?.outcomes)}`);
  return (ROUND_MS * 1e6) / c.total;
}

function countingStream(pin: string, helper: string) {
  const child = spawn(helper, ['--pin', pin, 'stream', '--counters-ms', '0'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const done = new Promise<void>((r) => child.on('close', () => r()));
  return async () => {
    child.kill('SIGTERM');
    await done;
  };
}

async function atSize(n: number, port: number): Promise<Record<Setup, number[]>> {
  const sb = new Sandbox(`peers-${n}`);
  const mount = cgroup2Mount();
  const outside = join(mount, `sluice-bench-peers-${process.pid}`);
  const base = join(outside, 'base');
  const iptOnly = join(outside, 'ipt');
  let peer: IptablesPeer | undefined;
  let stopStream: (() => Promise<void>) | undefined;
  try {
    await sb.setup();
    mkdirSync(base, { recursive: true });
    mkdirSync(iptOnly, { recursive: true });
    const cgroups = Array.from({ length: n }, (_, i) => sb.cgroup(`c${i}`));
    const managed = cgroups[n >> 1]!;
    await sb.apply([
      'policy 1',
      `rule 1 1 ${SERVER}/32 ${port} tcp`,
      ...Array.from({ length: n - 1 }, (_, i) => `rule 1 ${i + 2} ${cidr(i)} 443 tcp`),
      ...Array.from({ length: n }, (_, i) => `host 1 ${n + i + 1} h${i}.peers.test 443 tcp`),
      ...cgroups.map((c) => `cgroup ${c.id} 1 enforce`),
    ]);
    const rel = (p: string) => `/${relative(mount, p)}`;
    const paths = cgroups.map((c) => rel(c.path));
    // The iptables-only cgroup sits right before the managed one: both walk ~n/2 cgroup rules.
    paths.splice(n >> 1, 0, rel(iptOnly));
    peer = new IptablesPeer({
      tag: String(process.pid),
      server: { addr: SERVER, port },
      cidrs: Array.from({ length: n - 1 }, (_, i) => cidr(i)),
      hostAddrs: Array.from({ length: n }, (_, i) => hostAddr(i)),
      cgroups: paths,
    });
    peer.setup();
    stopStream = countingStream(sb.pin, HELPER);
    const where: Record<Setup, string> = { none: base, sluice: managed.path, iptables: iptOnly, both: managed.path };
    const out: Record<Setup, number[]> = { none: [], sluice: [], iptables: [], both: [] };
    const phase = async (hooked: boolean, setups: Setup[]) => {
      if (hooked) peer!.hook();
      else peer!.unhook();
      for (const s of setups) out[s].push(await nsPerConnect(where[s], port));
    };
    const matchedBefore = peer.matched(rel(iptOnly));
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which phase and set-up goes first, so none gets all the warm moments.
      if (r % 2 === 0) {
        await phase(false, ['none', 'sluice']);
        await phase(true, ['iptables', 'both']);
      } else {
        await phase(true, ['both', 'iptables']);
        await phase(false, ['sluice', 'none']);
      }
    }
    peer.unhook();
    // Each iptables connect's SYN passed that cgroup's rule: without this the "iptables" column
    // could be measuring a rule that never matched (e.g. a kernel that cannot see the socket's cgroup).
    const matched = peer.matched(rel(iptOnly)) - matchedBefore;
    if (matched < ROUNDS) throw new Error(`the iptables cgroup rule matched ${matched} packets in ${ROUNDS} rounds`);
    return out;
  } finally {
    await stopStream?.();
    peer?.teardown();
    await sb.teardown();
    for (const p of [base, iptOnly, outside]) {
      try {
        rmdirSync(p);
      } catch {
        /* already gone */
      }
    }
  }
}

/** Per-round overhead over `none` (ns), median over rounds. */
export function overheadNs(t: Record<Setup, number[]>, s: Exclude<Setup, 'none'>): number {
  return median(t[s].map((v, i) => v - t.none[i]!));
}

export async function run(): Promise<Record<string, number>> {
  const port = 20000 + ((process.pid + 7) % 20000);
  const server = spawn(PROBE, ['serve', SERVER, String(port), String(30 * 60_000)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const out: Record<string, number> = {};
  try {
    await new Promise<void>((res, rej) => {
      server.stdout!.once('data', () => res());
      server.once('exit', (c) => rej(new Error(`benchmark listener exited (${c})`)));
    });
    for (const n of SIZES) {
      const t = await atSize(n, port);
      const k = `kernel.peers.n${n}`;
      out[`${k}.none_ns`] = Math.round(median(t.none));
      for (const s of ['sluice', 'iptables', 'both'] as const) out[`${k}.${s}_overhead_ns`] = Math.round(overheadNs(t, s));
      const ratio = overheadNs(t, 'sluice') / overheadNs(t, 'iptables');
      out[`${k}.iptables_ratio`] = Number(ratio.toFixed(3));
      if (n === 1000) out['kernel.iptables_ratio'] = out[`${k}.iptables_ratio`]!;
      process.stderr.write(
        `peers-kernel: n=${n} ns/connect ${SETUPS.map((s) => `${s} ${Math.round(median(t[s]))}`).join(', ')}; ratio ${ratio.toFixed(3)}\n`,
      );
    }
  } finally {
    server.kill();
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
