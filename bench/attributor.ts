// attributor: the pure enrich path (raw batch bytes → decoded records → DNS names learned →
// cache lookup → NDJSON messages grouped by subject, dst_host named) on one core, and the heap
// cost of the label cache.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { nameHash, parseRawBatch } from '@sluice/contracts';
import { encodeBatch, headerGetter, type RecordSpec } from '@sluice/testkit/unit';
import { DnsNames } from '../services/attributor/src/dns-names.ts';
import { decodeBatch } from '../services/attributor/src/decode.ts';
import { renderBatch } from '../services/attributor/src/render.ts';
import { unattributed } from '../services/attributor/src/resolve-identities.ts';
import { learnNames, nameBatch } from '../services/attributor/src/host-names.ts';
import { LabelCache } from '../services/attributor/src/label-cache.ts';
import { kernelCodec, RECORD_SIZE } from '../services/attributor/src/kernel-adapter.ts';
import type { CachedIdentity } from '../services/attributor/src/identity.ts';

const NODE = 'bench-node';
const OFFSET = 1_700_000_000_000_000_000n;

function identity(i: number): CachedIdentity {
  return {
    attribution: 'docker',
    node: NODE,
    container_id: i.toString(16).padStart(64, '0'),
    container_name: `/agent-${i}`,
    image: 'sluice/base:busybox',
    cgroup_id: String(100_000 + i),
    agent: `agent.${i % 50} ✓`,
    project: `project ${i % 7}`,
    ips: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`],
    started_ms: 0,
    can_bypass_raw: true,
  };
}

function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function cacheMemoryPer10k(): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  const cache = new LabelCache({ graceMs: 10_000, startSlackMs: 2_000 });
  for (let i = 0; i < 10_000; i++) cache.upsert(identity(i));
  gc();
  const after = process.memoryUsage().heapUsed;
  if (cache.size !== 10_000) throw new Error('cache lost entries');
  return after - before;
}

export async function run(): Promise<Record<string, number>> {
  const cache = new LabelCache({ graceMs: 10_000, startSlackMs: 2_000 });
  for (let i = 0; i < 200; i++) cache.upsert(identity(i));
  const lookup = cache.lookupCgroup.bind(cache);

  const names = new DnsNames();
  // 64 batches of 512 records (the reader's typical batch), 95% known cgroups, 1 in 8 DNS records
  // (each cgroup resolves one of 50 names), half of the connects to a name their cgroup resolved.
  const qname = (cg: number) => `api-${cg % 50}.bench.example.test`;
  const hashes = Array.from({ length: 50 }, (_, k) => nameHash(qname(k)));
  const batches = Array.from({ length: 64 }, (_, b) => {
    const recs: RecordSpec[] = Array.from({ length: 512 }, (_, i) => {
      const cg = i % 20 === 0 ? 999_999 : 100_000 + ((b * 7 + i) % 200);
      const dns = i % 8 === 0;
      return {
        kind: dns ? 'dns' : 'connect',
        cgroupId: BigInt(cg),
        tsNs: BigInt(Date.now()) * 1_000_000n - OFFSET + BigInt(i),
        verdict: ((i % 3) + 1) as 1 | 2 | 3,
        qname: qname(cg),
        domainHash: dns || i % 2 === 1 ? hashes[cg % 50] : 0n,
      };
    });
    return encodeBatch(recs, { node: NODE, firstSeq: b * 512, wallOffsetNs: OFFSET });
  });

  const once = () => {
    let n = 0;
    for (const b of batches) {
      const meta = parseRawBatch(headerGetter(b.headers), b.body, RECORD_SIZE);
      const decoded = decodeBatch(meta, b.body, kernelCodec);
      learnNames(decoded, names);
      unattributed(decoded, lookup);
      const hosts = nameBatch(decoded, names);
      const out = renderBatch(decoded, lookup, 512 * 1024, hosts.hosts);
      for (const m of out.messages) n += m.count;
    }
    return n;
  };
  for (let i = 0; i < 5; i++) once(); // warm-up: JIT
  let events = 0;
  const start = process.hrtime.bigint();
  const deadline = start + 3_000_000_000n;
  while (process.hrtime.bigint() < deadline) events += once();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  let named = 0;
  for (const b of batches.slice(0, 4)) {
    const decoded = decodeBatch(parseRawBatch(headerGetter(b.headers), b.body, RECORD_SIZE), b.body, kernelCodec);
    named += renderBatch(decoded, lookup, 512 * 1024, nameBatch(decoded, names).hosts).hosts.named;
  }
  if (named === 0) throw new Error('the benchmark named no destination: the DNS-name path was not exercised');

  return {
    'attributor.events_per_s': Math.round(events / seconds),
    'attributor.cache_bytes_per_10k_containers': cacheMemoryPer10k(),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
