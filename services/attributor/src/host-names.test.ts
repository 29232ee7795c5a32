import { randomUUID } from 'node:crypto';
import { EgressEvent, nameHash, parseRawBatch } from '@sluice/contracts';
import { describe, expect, it } from 'vitest';
import { encodeBatch, headerGetter, type RecordSpec } from '@sluice/testkit/unit';
import { DnsNames } from './dns-names.ts';
import { decodeBatch, type DecodedBatch } from './decode.ts';
import { renderBatch } from './render.ts';
import { learnNames, nameBatch, renameMisses } from './host-names.ts';
import { kernelCodec, RECORD_SIZE } from './kernel-adapter.ts';

const API = 'api.example.test';
const H = nameHash(API);

function batch(records: RecordSpec[], node = 'n1'): DecodedBatch {
  const b = encodeBatch(records, { node, bootId: randomUUID(), firstSeq: 1 }, 'packed');
  const parsed = parseRawBatch(headerGetter(b.headers), b.body, RECORD_SIZE);
  return decodeBatch(parsed.meta, parsed.records, kernelCodec);
}

function egress(b: DecodedBatch, names: DnsNames): EgressEvent[] {
  const out = renderBatch(b, () => undefined, 1 << 20, nameBatch(b, names).hosts);
  return out.messages
    .filter((m) => m.subject.startsWith('sluice.events.'))
    .flatMap((m) => Buffer.from(m.data).toString('utf8').trim().split('\n'))
    .map((l) => EgressEvent.parse(JSON.parse(l)));
}

describe('DNS names in attributed events', () => {
  it('names a connect by the name its own cgroup resolved, whatever the order in the batch; never another cgroup', () => {
    const names = new DnsNames();
    const b = batch([
      { kind: 'connect', cgroupId: 7n, tsNs: 1n, dst: '127.0.0.5', domainHash: H }, // before its DNS record in the batch
      { kind: 'dns', cgroupId: 7n, tsNs: 2n, qname: API, dst: '127.0.0.5', domainHash: H },
      { kind: 'connect', cgroupId: 8n, tsNs: 3n, dst: '127.0.0.5', domainHash: H }, // a hash 8 never learned
      { kind: 'connect', cgroupId: 8n, tsNs: 4n, dst: '127.0.0.5' }, // direct-IP connect
    ]);
    const learned = learnNames(b, names);
    expect(learned).toEqual({ names: [{ cgroupId: '7', hash: H, name: API, fresh: true }], rejected: 0 });
    expect(nameBatch(b, names).misses).toEqual(new Map([['8', new Set([H])]]));
    const out = renderBatch(b, () => undefined, 1 << 20, nameBatch(b, names).hosts);
    expect(out.hosts).toEqual({ named: 1, unnamed: 1 });
    const evs = egress(b, names);
    expect(evs.map((e) => [e.cgroup_id, e.dst_host, e.domain_hash])).toEqual([
      ['7', API, H.toString()],
      ['8', undefined, H.toString()],
      ['8', undefined, undefined],
    ]);
  });

  it('flags a stale name only where a name is attached', () => {
    const names = new DnsNames();
    names.learn('n1', '7', H, API);
    const evs = egress(batch([{ cgroupId: 7n, tsNs: 1n, domainHash: H, hostStale: true }, { cgroupId: 9n, tsNs: 1n, domainHash: H, hostStale: true }]), names);
    expect(evs.map((e) => [e.dst_host, e.dst_host_stale])).toEqual([
      [API, true],
      [undefined, undefined],
    ]);
  });

  it('keeps cgroups of different nodes apart (cgroup ids are per node)', () => {
    const names = new DnsNames();
    learnNames(batch([{ kind: 'dns', cgroupId: 7n, tsNs: 1n, qname: API, domainHash: H }], 'n1'), names);
    expect(egress(batch([{ cgroupId: 7n, tsNs: 2n, domainHash: H }], 'n2'), names)[0]!.dst_host).toBeUndefined();
    expect(egress(batch([{ cgroupId: 7n, tsNs: 2n, domainHash: H }], 'n1'), names)[0]!.dst_host).toBe(API);
  });

  it('names the misses once the shared store taught the table (another replica had the DNS record)', () => {
    const names = new DnsNames();
    const b = batch([{ cgroupId: 7n, tsNs: 1n, domainHash: H }, { cgroupId: 7n, tsNs: 2n }]);
    const hosts = nameBatch(b, names);
    expect(hosts.hosts).toEqual([undefined, undefined]);
    names.learn('n1', '7', H, API); // what DnsNameStore.resolve does with a name read from Redis
    renameMisses(b, names, hosts);
    expect(hosts.hosts).toEqual([API, undefined]);
  });

  it('learns nothing from a DNS record whose qname does not hash to its domain_hash, and says so; a repeat is not fresh', () => {
    const names = new DnsNames();
    const bad = learnNames(batch([{ kind: 'dns', cgroupId: 7n, tsNs: 1n, qname: 'evil.test', domainHash: H }]), names);
    expect(bad).toEqual({ names: [], rejected: 1 });
    const rec = { kind: 'dns', cgroupId: 7n, tsNs: 1n, qname: API, domainHash: H } as const;
    learnNames(batch([rec]), names);
    expect(learnNames(batch([rec]), names).names[0]!.fresh).toBe(false);
  });
});
