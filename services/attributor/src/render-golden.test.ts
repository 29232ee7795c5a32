// Pins render's output byte for byte: the NDJSON lines, their order, the subjects, message ids and
// splits of a batch. The snapshot was written by the string renderer (every record's fields a
// string, JSON.stringify for comm, qname and names) before render wrote bytes from the kernel
// record; any change in a line's bytes is a contract change and fails here. A seeded batch of
// random records reaches every kind, family, flag and byte a comm or qname can hold.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KERNEL_AF_INET, KERNEL_AF_INET6, KERNEL_FLAG, KERNEL_RECORD_SIZE, encodeSuppressed, nameHash } from '@sluice/contracts';
import { BufferPool } from '@sluice/runtime';
import { encodeRecord, seeded, type RecordSpec } from '@sluice/testkit/unit';
import { decodeBatch } from './decode.ts';
import { KIND, kernelCodec, OFF, RECORD_VERSION } from './kernel-adapter.ts';
import { LabelCache } from './label-cache.ts';
import { renderBatch, type Rendered } from './render.ts';

const OFFSET = 1_700_000_000_000_000_000n;
const T0 = 1_700_000_100_000;
const tsAt = (wallMs: number, ns = 0) => BigInt(wallMs) * 1_000_000n - OFFSET + BigInt(ns);

function cache(): LabelCache {
  const c = new LabelCache({ graceMs: 1000, startSlackMs: 0 });
  const base = { node: 'node-a', ips: [], started_ms: T0, can_bypass_raw: false };
  c.upsert({ ...base, attribution: 'docker', container_id: 'c'.repeat(64), container_name: '/web', image: 'img:1', cgroup_id: '1', agent: 'agent.one ✓', project: 'my project.v2' });
  c.upsert({ ...base, attribution: 'registered', cgroup_id: '2', agent: 'a"q\\', project: 'p\u0001' });
  c.upsert({ ...base, attribution: 'docker', container_id: 'd'.repeat(64), cgroup_id: '3', agent: '🚀', project: 'proj' });
  c.upsert({ ...base, attribution: 'registered', cgroup_id: '18446744073709551615', agent: 'big', project: 'big' });
  return c;
}

const HOSTS = ['api.example.test', 'bücher.example', 'q"uote\\.test', 'ctl\u0007\u001f.test', '🚀.test', 'x'.repeat(253)];

/** Every kind and its variants, by hand. */
function handPicked(): { body: Uint8Array; hosts: Array<string | undefined> } {
  const specs: Array<RecordSpec & { host?: string; edit?: (b: Uint8Array, v: DataView) => void }> = [
    { cgroupId: 1n, verdict: 1, reason: 1 },
    { cgroupId: 1n, verdict: 2, domainHash: nameHash('api.example.test'), host: 'api.example.test' },
    { cgroupId: 1n, verdict: 3, domainHash: nameHash('bücher.example'), hostStale: true, host: 'bücher.example' },
    { cgroupId: 1n, verdict: 2, domainHash: 0xffff_ffff_ffff_fff0n },
    { kind: 'sendmsg', cgroupId: 2n, verdict: 1, dport: 53, resolver: '10.0.0.9' },
    { kind: 'tcp_close', cgroupId: 2n, verdict: 1, flow: { bytesOut: 1234n, bytesIn: 0xffff_ffff_ffffn, durationNs: 1_234_567_891n } },
    { kind: 'tcp_interim', cgroupId: 3n, verdict: 1, flow: { bytesOut: 2n ** 64n - 1n, bytesIn: 0n, durationNs: 300_000_000_000n } },
    { kind: 'udp_flow', cgroupId: 3n, verdict: 3, flow: { bytesOut: 1n, bytesIn: 2n, durationNs: 7n } },
    { kind: 'sock_create', cgroupId: 1n, verdict: 2, edit: (_b, v) => (v.setUint32(OFF.sockType, 3, true), v.setUint32(OFF.sockProtocol, 255, true)) },
    { kind: 'sock_create', cgroupId: 1n, verdict: 2, edit: (_b, v) => v.setUint32(OFF.sockType, 9, true) },
    { kind: 'bpf', cgroupId: 1n, verdict: 2, reason: 12, edit: (_b, v) => v.setUint32(OFF.bpfCmd, 34, true) },
    { kind: 'bind', cgroupId: 1n, verdict: 2 },
    { kind: 'sockopt', cgroupId: 1n, verdict: 2, reason: 10 },
    { kind: 'packet', cgroupId: 1n, verdict: 2, reason: 6 },
    { kind: 'escape', cgroupId: 1n, edit: (_b, v) => v.setBigUint64(OFF.escapeTo, 77n, true) },
    { kind: 'dns', cgroupId: 1n, qname: 'api.example.test', domainHash: nameHash('api.example.test'), resolver: '10.0.0.2' },
    { kind: 'dns', cgroupId: 1n, qname: 'nx.example.test', domainHash: nameHash('nx.example.test'), dst: '0.0.0.0', edit: (b) => (b[OFF.dnsRcode] = 3) },
    { kind: 'dns', cgroupId: 2n, qname: 'bücher.example', edit: (b, v) => ((b[OFF.dnsRejected] = 1), v.setUint32(OFF.flags, KERNEL_FLAG.dns_forged, true)) },
    { kind: 'dns', cgroupId: 2n, qname: 'q"\\\u0001.test', edit: (b, v) => ((b[OFF.dnsRejected] = 9), v.setUint16(OFF.dnsQtype, 99, true), (b[OFF.dnsRcode] = 77)) },
    { kind: 'dns', cgroupId: 3n, qname: 'v6.example.test', edit: (b) => v6(b, true) },
    { kind: 'dns', cgroupId: 3n, qname: 'x'.repeat(200) },
    { cgroupId: 9n, verdict: 2, comm: 'café\\x' },
    { cgroupId: 1n, verdict: 2, comm: 'q"u\\o\u0001\u001f\u007f' },
    { cgroupId: 1n, verdict: 1, comm: '' },
    { cgroupId: 1n, verdict: 1, comm: '0123456789abcdef' },
    { cgroupId: 1n, verdict: 2, edit: (b) => v6(b, false) },
    { cgroupId: 1n, verdict: 2, edit: (b, v) => (v6(b, false), v.setUint32(OFF.flags, KERNEL_FLAG.v4mapped | KERNEL_FLAG.audit, true)) },
    { cgroupId: 18446744073709551615n, verdict: 1, pid: 4294967295 },
    { cgroupId: 2n ** 53n + 1n, verdict: 1 },
    { kind: 'connect', cgroupId: 1n, verdict: 0 },
    { kind: 'counters', cgroupId: 1n },
    { kind: 99, cgroupId: 1n },
  ];
  const body = new Uint8Array((specs.length + 1) * KERNEL_RECORD_SIZE);
  const hosts: Array<string | undefined> = [];
  specs.forEach((s, i) => {
    const at = i * KERNEL_RECORD_SIZE;
    encodeRecord({ tsNs: tsAt(T0 + 5, i * 400_000), ...s }, body, at);
    s.edit?.(body.subarray(at, at + KERNEL_RECORD_SIZE), new DataView(body.buffer, at, KERNEL_RECORD_SIZE));
    hosts.push(s.host);
  });
  const template = encodeRecord({ cgroupId: 1n, verdict: 2, dport: 8443 });
  encodeSuppressed(body, specs.length * KERNEL_RECORD_SIZE, template, { count: 12, firstTsNs: tsAt(T0), lastTsNs: tsAt(T0 + 2000), byVerdict: [0, 1, 11, 0] });
  hosts.push(undefined);
  return { body, hosts };
}

function v6(b: Uint8Array, dns: boolean): void {
  b[OFF.family] = KERNEL_AF_INET6;
  b.fill(0, OFF.dst, OFF.dst + 16);
  b.fill(0, OFF.src, OFF.src + 16);
  b.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], OFF.dst);
  if (dns) b.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 53], OFF.src);
  else b.set([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7], OFF.src);
}

/** Seeded random records: valid headers mostly, every other byte noise, comm and qname any bytes. */
function randomBatch(seed: number, n: number): { body: Uint8Array; hosts: Array<string | undefined> } {
  const rnd = seeded(seed);
  const int = (k: number) => Math.floor(rnd() * k);
  const body = new Uint8Array(n * KERNEL_RECORD_SIZE);
  const v = new DataView(body.buffer);
  const kinds = [KIND.connect, KIND.sendmsg, KIND.tcp_close, KIND.tcp_interim, KIND.udp_flow, KIND.dns, KIND.sock_create, KIND.bind, KIND.sockopt, KIND.packet, KIND.escape, KIND.bpf];
  const cgroups = [1n, 2n, 3n, 18446744073709551615n, 9n, 2n ** 60n + 5n];
  const hosts: Array<string | undefined> = [];
  for (let i = 0; i < n; i++) {
    const o = i * KERNEL_RECORD_SIZE;
    for (let k = 0; k < KERNEL_RECORD_SIZE; k++) body[o + k] = int(256);
    body[o + OFF.version] = rnd() < 0.98 ? RECORD_VERSION : int(256);
    body[o + OFF.kind] = rnd() < 0.98 ? kinds[int(kinds.length)]! : int(256);
    body[o + OFF.family] = rnd() < 0.97 ? (rnd() < 0.7 ? KERNEL_AF_INET : KERNEL_AF_INET6) : int(256);
    body[o + OFF.verdict] = rnd() < 0.98 ? 1 + int(3) : int(256);
    body[o + OFF.reason] = int(16);
    v.setBigUint64(o + OFF.cgroup, cgroups[int(cgroups.length)]!, true);
    v.setBigUint64(o + OFF.ts, tsAt(T0 + int(3000), int(1_000_000)), true);
    if (rnd() < 0.3) v.setBigUint64(o + OFF.domainHash, 0n, true);
    if (rnd() < 0.3) body.fill(0, o + OFF.src, o + OFF.src + 16);
    if (rnd() < 0.2) body.fill(0, o + OFF.dst, o + OFF.dst + 16);
    if (rnd() < 0.2) body.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], o + OFF.dst);
    if (rnd() < 0.5) v.setBigUint64(o + OFF.durationNs, BigInt(int(2 ** 31)) * BigInt(int(2 ** 22)), true);
    if (rnd() < 0.5) v.setBigUint64(o + OFF.bytesOut, BigInt(int(2 ** 31)), true);
    // comm and qname: a NUL somewhere (or none), ASCII mostly, any byte sometimes.
    const text = (at: number, len: number) => {
      const ascii = rnd() < 0.7;
      for (let k = 0; k < len; k++) if (ascii) body[o + at + k] = 0x20 + int(0x5f);
      if (rnd() < 0.9) body[o + at + int(len)] = 0;
    };
    text(OFF.comm, 16);
    text(OFF.dnsQname, 120);
    if (rnd() < 0.3) body[o + OFF.dnsRejected] = 0;
    hosts.push(rnd() < 0.5 ? HOSTS[int(HOSTS.length)] : undefined);
  }
  return { body, hosts };
}

function serialise(r: Rendered, errors: Map<string, number>): string {
  const msgs = r.messages.map((m) => `# ${m.subject} ${m.msgId} ${m.count} ${m.data.byteLength}\n${Buffer.from(m.data).toString('utf8')}`);
  return `${JSON.stringify({ attributed: r.attributed, hosts: r.hosts, errors: [...errors] })}\n${msgs.join('')}`;
}

function render(body: Uint8Array, hosts: Array<string | undefined>, max: number, pool?: BufferPool): string {
  const c = cache();
  const meta = { node: 'node-a', bootId: 'b00t-id', firstSeq: 4_294_967_290, wallOffsetNs: OFFSET, count: body.byteLength / KERNEL_RECORD_SIZE };
  const batch = decodeBatch(meta, body, kernelCodec);
  const out = renderBatch(batch, c.lookupCgroup.bind(c), max, hosts, pool);
  const text = serialise(out, batch.errors);
  // As raw-consumer.ts does once the publisher copied the messages; old bytes stay in it.
  pool?.give(out.buffer);
  return text;
}

describe('render, byte for byte', () => {
  it('renders every kind and variant exactly as the snapshot', async () => {
    const { body, hosts } = handPicked();
    await expect(render(body, hosts, 1 << 20)).toMatchFileSnapshot('./__snapshots__/render-golden.ndjson');
  });

  it('renders seeded random records exactly as before, whole and split under a small bound', () => {
    const digests = [1, 2, 3].flatMap((seed) => {
      const { body, hosts } = randomBatch(seed, 2000);
      return [1 << 20, 3000].map((max) => createHash('sha256').update(render(body, hosts, max)).digest('hex').slice(0, 16));
    });
    // The same through pooled buffers that still hold an earlier batch's bytes (garbage-filled first).
    const pool = new BufferPool();
    pool.give(pool.take(1 << 16).fill(0xff));
    const pooled = [1, 2, 3].flatMap((seed) => {
      const { body, hosts } = randomBatch(seed, 2000);
      return [1 << 20, 3000].map((max) => createHash('sha256').update(render(body, hosts, max, pool)).digest('hex').slice(0, 16));
    });
    expect(pooled).toEqual(digests);
    expect(digests).toMatchInlineSnapshot(`
      [
        "66f0d4c7acd12566",
        "1717f7a2ec19dea4",
        "5f5e93142926f58b",
        "68b7fffb91c8a672",
        "c16c843ba4e1e64a",
        "0cb94bf8e40581b1",
      ]
    `);
  });
});
