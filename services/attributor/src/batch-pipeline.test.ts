// The per-batch pipeline with its two I/O stages played by in-memory stand-ins (the label cache
// and name table are the real ones): what each stage sees, and that the stages compose in order.
import { randomUUID } from 'node:crypto';
import { EgressEvent, nameHash, parseRawBatch } from '@sluice/contracts';
import { describe, expect, it } from 'vitest';
import { attributeBatch, type PipelineDeps } from './batch-pipeline.ts';
import { DnsNames } from './dns-names.ts';
import type { LearnedName } from './host-names.ts';
import { kernelCodec, RECORD_SIZE } from './kernel-adapter.ts';
import { encodeBatch, headerGetter, type RecordSpec } from '@sluice/testkit/unit';
import { LabelCache } from './label-cache.ts';

const API = 'api.example.test';
const CDN = 'cdn.example.test';

function raw(records: RecordSpec[]) {
  // Packed, as the reader publishes it: the pipeline gets the records parseRawBatch unpacked.
  const b = encodeBatch(records, { node: 'n1', bootId: randomUUID(), firstSeq: 1 }, 'packed');
  const { meta, records: body } = parseRawBatch(headerGetter(b.headers), b.body, RECORD_SIZE);
  return { meta, body };
}

describe('attributeBatch', () => {
  it('decodes, learns the batch names, resolves the unknown cgroup, names from the shared store, renders', async () => {
    const cache = new LabelCache({ graceMs: 1000, startSlackMs: 0 });
    const names = new DnsNames();
    const calls: string[] = [];
    const shared: LearnedName[] = [];
    const deps: PipelineDeps = {
      codec: kernelCodec,
      lookup: cache.lookupCgroup.bind(cache),
      // The version moves when the resolver fills the cache: render must look the records up again.
      lookupVersion: () => cache.version,
      names,
      maxMessageBytes: 1 << 20,
      // What the real resolver does once Docker answered: the cgroup's identity is in the cache.
      resolver: {
        resolve: async (node, ids) => {
          calls.push(`resolve ${node} ${[...ids].join(',')}`);
          cache.upsert({ attribution: 'docker', node, cgroup_id: '7', container_id: 'c7', project: 'p', agent: 'a', ips: [], started_ms: 0, can_bypass_raw: false });
        },
      },
      // Another replica had learned cgroup 7's CDN name.
      nameStore: {
        share: async (_node, learned) => void shared.push(...learned),
        resolve: async (node, misses) => {
          calls.push(`names ${node} ${[...misses].map(([cg, hs]) => `${cg}:${hs.size}`).join(',')}`);
          names.learn(node, '7', nameHash(CDN), CDN);
        },
      },
    };
    const { meta, body } = raw([
      { kind: 'connect', cgroupId: 7n, tsNs: 1n, dst: '10.0.0.1', domainHash: nameHash(API) }, // named by the DNS record after it
      { kind: 'dns', cgroupId: 7n, tsNs: 2n, qname: API, dst: '10.0.0.1', domainHash: nameHash(API) },
      { kind: 'connect', cgroupId: 7n, tsNs: 3n, dst: '10.0.0.2', domainHash: nameHash(CDN) }, // named by the shared store
    ]);
    const r = await attributeBatch(meta, body, deps);

    expect(r.batch.errors.size).toBe(0);
    expect(r.learned.names.map((l) => l.name)).toEqual([API]);
    expect(shared.map((l) => l.name)).toEqual([API]);
    expect(calls.sort()).toEqual(['names n1 7:1', 'resolve n1 7']);
    expect(r.rendered.attributed).toEqual({ docker: 3, registered: 0, unknown: 0 });
    expect(r.rendered.hosts).toEqual({ named: 2, unnamed: 0 });
    const egress = r.rendered.messages
      .filter((m) => m.subject.startsWith('sluice.events.'))
      .flatMap((m) => Buffer.from(m.data).toString('utf8').trim().split('\n'))
      .map((l) => EgressEvent.parse(JSON.parse(l)));
    expect(egress.map((e) => [e.project, e.agent, e.dst_ip, e.dst_host])).toEqual([
      ['p', 'a', '10.0.0.1', API],
      ['p', 'a', '10.0.0.2', CDN],
    ]);
  });

  it('asks nobody when the cache and the table already know everything', async () => {
    const cache = new LabelCache({ graceMs: 1000, startSlackMs: 0 });
    cache.upsert({ attribution: 'registered', node: 'n1', cgroup_id: '9', ips: [], started_ms: 0, can_bypass_raw: false });
    const fail = async () => {
      throw new Error('must not be called');
    };
    const { meta, body } = raw([{ kind: 'connect', cgroupId: 9n, tsNs: 1n }]);
    const r = await attributeBatch(meta, body, {
      codec: kernelCodec,
      lookup: cache.lookupCgroup.bind(cache),
      names: new DnsNames(),
      maxMessageBytes: 1 << 20,
      resolver: { resolve: fail },
      nameStore: { share: async () => undefined, resolve: fail },
    });
    expect(r.rendered.attributed).toEqual({ docker: 0, registered: 1, unknown: 0 });
  });

  it('render reuses the entries stage 3 looked up while the cache is unchanged, and looks up again once it changed', async () => {
    const records: RecordSpec[] = [
      { kind: 'connect', cgroupId: 9n, tsNs: 1n },
      { kind: 'dns', cgroupId: 9n, tsNs: 2n, qname: API, domainHash: nameHash(API) },
      { kind: 'connect', cgroupId: 8n, tsNs: 3n }, // unknown: the resolver is asked
    ];
    const run = async (reuse: boolean, resolverAdds: boolean) => {
      const cache = new LabelCache({ graceMs: 1000, startSlackMs: 0 });
      cache.upsert({ attribution: 'registered', node: 'n1', cgroup_id: '9', agent: 'nine', ips: [], started_ms: 0, can_bypass_raw: false });
      let lookups = 0;
      const { meta, body } = raw(records);
      const r = await attributeBatch(meta, body, {
        codec: kernelCodec,
        lookup: (node, cg, ms) => (lookups++, cache.lookupCgroup(node, cg, ms)),
        lookupVersion: reuse ? () => cache.version : undefined,
        names: new DnsNames(),
        maxMessageBytes: 1 << 20,
        resolver: {
          resolve: async () => {
            if (resolverAdds) cache.upsert({ attribution: 'registered', node: 'n1', cgroup_id: '8', agent: 'eight', ips: [], started_ms: 0, can_bypass_raw: false });
          },
        },
      });
      const bytes = r.rendered.messages.map((m) => `${m.subject} ${m.msgId}\n${Buffer.from(m.data).toString('utf8')}`).join('');
      return { bytes, lookups, attributed: r.rendered.attributed };
    };
    for (const adds of [false, true]) {
      const plain = await run(false, adds);
      const reused = await run(true, adds);
      expect(reused.bytes.replace(/[0-9a-f-]{36}/g, 'BOOT')).toBe(plain.bytes.replace(/[0-9a-f-]{36}/g, 'BOOT'));
      expect(plain.lookups).toBe(3 + 3);
      // Unchanged: each record looked up once; changed (cgroup 8 registered meanwhile): render looks all up again.
      expect(reused.lookups).toBe(adds ? 6 : 3);
      expect(reused.attributed).toEqual(adds ? { docker: 0, registered: 3, unknown: 0 } : { docker: 0, registered: 2, unknown: 1 });
    }
  });
});
