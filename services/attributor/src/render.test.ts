import { describe, expect, it } from 'vitest';
import { DnsEvent, EgressEvent, nameHash, parseEventSubject, parseRawBatch } from '@sluice/contracts';
import { encodeBatch, headerGetter } from '@sluice/testkit/unit';
import { decodeBatch } from './decode.ts';
import { renderBatch } from './render.ts';
import { unattributed } from './resolve-identities.ts';
import { LabelCache } from './label-cache.ts';
import { kernelCodec, RECORD_SIZE } from './kernel-adapter.ts';

const OFFSET = 1_700_000_000_000_000_000n; // wall ns − boot ns
const at = (wallMs: number) => BigInt(wallMs) * 1_000_000n - OFFSET;
const T0 = 1_700_000_100_000;

function setup() {
  const cache = new LabelCache({ graceMs: 1000, startSlackMs: 0 });
  cache.upsert({
    attribution: 'docker',
    node: 'node-a',
    container_id: 'c'.repeat(64),
    cgroup_id: '555',
    agent: 'agent.one ✓',
    project: 'my project.v2',
    ips: [],
    started_ms: T0,
    can_bypass_raw: false,
  });
  return cache;
}

function lines(data: Uint8Array): unknown[] {
  const text = new TextDecoder().decode(data);
  expect(text.endsWith('\n')).toBe(true);
  return text.trimEnd().split('\n').map((l) => JSON.parse(l));
}

describe('decode and render', () => {
  it('attributes records with the exact raw labels and routes them by encoded subject', () => {
    const cache = setup();
    const lookup = cache.lookupCgroup.bind(cache);
    const b = encodeBatch(
      [
        { cgroupId: 555n, tsNs: at(T0 + 10), verdict: 2 },
        { cgroupId: 555n, tsNs: at(T0 + 11), verdict: 1 },
        { cgroupId: 999n, tsNs: at(T0 + 12), verdict: 2 },
        { kind: 'dns', cgroupId: 555n, tsNs: at(T0 + 13), qname: 'api.github.com' },
      ],
      { node: 'node-a', firstSeq: 40, wallOffsetNs: OFFSET },
      'packed',
    );
    const { meta, records } = parseRawBatch(headerGetter(b.headers), b.body, RECORD_SIZE);
    const batch = decodeBatch(meta, records, kernelCodec);
    expect([...unattributed(batch, lookup)]).toEqual(['999']);
    const out = renderBatch(batch, lookup, 1 << 20);
    expect(out.attributed).toEqual({ docker: 3, registered: 0, unknown: 1 });
    const bySubject = new Map(out.messages.map((m) => [m.subject, m]));
    expect([...bySubject.keys()].sort()).toEqual(
      [
        'sluice.dns.my%20project%2Ev2.agent%2Eone%20%E2%9C%93',
        'sluice.events.%.%.DENIED',
        'sluice.events.my%20project%2Ev2.agent%2Eone%20%E2%9C%93.ALLOWED',
        'sluice.events.my%20project%2Ev2.agent%2Eone%20%E2%9C%93.DENIED',
      ].sort(),
    );
    const denied = bySubject.get('sluice.events.my%20project%2Ev2.agent%2Eone%20%E2%9C%93.DENIED')!;
    expect(parseEventSubject(denied.subject)).toMatchObject({ project: 'my project.v2', agent: 'agent.one ✓' });
    const [ev] = lines(denied.data).map((l) => EgressEvent.parse(l));
    expect(ev).toMatchObject({
      id: `node-a:${meta.bootId}:40`,
      time: new Date(T0 + 10).toISOString(),
      attribution: 'docker',
      agent: 'agent.one ✓',
      project: 'my project.v2',
      container_id: 'c'.repeat(64),
      cgroup_id: '555',
      verdict: 'DENIED',
      dst_ip: '93.184.216.34',
      dst_port: 443,
    });
    const unknown = EgressEvent.parse(lines(bySubject.get('sluice.events.%.%.DENIED')!.data)[0]);
    expect(unknown.attribution).toBe('unknown');
    expect(unknown.agent).toBeUndefined();
    expect(unknown.id).toBe(`node-a:${meta.bootId}:42`);
    const dns = DnsEvent.parse(lines(bySubject.get('sluice.dns.my%20project%2Ev2.agent%2Eone%20%E2%9C%93')!.data)[0]);
    expect(dns).toMatchObject({ qname: 'api.github.com', answers: ['93.184.216.34'], qtype: 'A', agent: 'agent.one ✓' });
  });

  it('renders the same message ids for a redelivered batch and splits big groups under the size bound', () => {
    const cache = setup();
    const lookup = cache.lookupCgroup.bind(cache);
    const recs = Array.from({ length: 50 }, (_, i) => ({ cgroupId: 555n, tsNs: at(T0 + i) }));
    const b = encodeBatch(recs, { node: 'node-a', firstSeq: 1000, wallOffsetNs: OFFSET });
    const render = () => renderBatch(decodeBatch(b.meta, b.body, kernelCodec), lookup, 4096);
    const first = render();
    expect(first.messages.length).toBeGreaterThan(1);
    for (const m of first.messages) expect(m.data.byteLength).toBeLessThanOrEqual(4096);
    expect(first.messages.reduce((n, m) => n + m.count, 0)).toBe(50);
    expect(render().messages.map((m) => m.msgId)).toEqual(first.messages.map((m) => m.msgId));
    expect(new Set(first.messages.map((m) => m.msgId)).size).toBe(first.messages.length);
  });

  it('writes non-ASCII labels, node, comm and names as UTF-8 whose JSON reads back exactly', () => {
    const cache = new LabelCache({ graceMs: 1000, startSlackMs: 0 });
    cache.upsert({ attribution: 'registered', node: 'nœud ✓', cgroup_id: '7', agent: 'agént 🚀', project: 'projet "q"', ips: [], started_ms: T0, can_bypass_raw: false });
    const host = 'bücher.example';
    const b = encodeBatch(
      [
        { cgroupId: 7n, tsNs: at(T0 + 1), verdict: 2, comm: 'café\\x', domainHash: nameHash(host), hostStale: true },
        { cgroupId: 7n, tsNs: at(T0 + 2), verdict: 2, comm: 'curl' },
        { kind: 'dns', cgroupId: 7n, tsNs: at(T0 + 3), comm: 'curl', qname: host, domainHash: nameHash(host) },
      ],
      { node: 'nœud ✓', bootId: 'b', firstSeq: 5, wallOffsetNs: OFFSET },
    );
    // comm is read as Latin-1 (the kernel's bytes, one character each): characters 0x80–0xff, two UTF-8 bytes.
    // Small messages, so the split path measures the multi-byte lines too.
    for (const max of [1 << 20, 4096]) {
      const out = renderBatch(decodeBatch(b.meta, b.body, kernelCodec), cache.lookupCgroup.bind(cache), max, [host, undefined, undefined]);
      const docs = out.messages.flatMap((m) => lines(m.data) as Array<Record<string, unknown>>);
      expect(docs.map((d) => d.id).sort()).toEqual(['nœud ✓:b:5', 'nœud ✓:b:6', 'nœud ✓:b:7']);
      for (const d of docs) expect(d).toMatchObject({ node: 'nœud ✓', agent: 'agént 🚀', project: 'projet "q"', attribution: 'registered' });
      expect(docs.find((d) => d.id === 'nœud ✓:b:5')).toMatchObject({ comm: Buffer.from('café\\x').toString('latin1'), dst_host: host, dst_host_stale: true });
      expect(docs.find((d) => d.id === 'nœud ✓:b:7')).toMatchObject({ qname: host });
    }
  });

  it('drops only undecodable records and names why', () => {
    const cache = setup();
    const b = encodeBatch(
      [
        { cgroupId: 555n, tsNs: at(T0) },
        { cgroupId: 555n, tsNs: at(T0) },
      ],
      { node: 'node-a', firstSeq: 1, wallOffsetNs: OFFSET },
    );
    b.body[0] = 9; // record 0: unknown layout version
    const batch = decodeBatch(b.meta, b.body, kernelCodec);
    expect(batch.errors).toEqual(new Map([['bad_version', 1]]));
    const out = renderBatch(batch, cache.lookupCgroup.bind(cache), 1 << 20);
    expect(out.messages).toHaveLength(1);
    expect(lines(out.messages[0]!.data)).toHaveLength(1);
    expect((lines(out.messages[0]!.data)[0] as { id: string }).id).toMatch(/:2$/);
  });
});
