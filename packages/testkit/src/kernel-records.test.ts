import { describe, expect, it } from 'vitest';
import { decodeKernelRecord, KERNEL_RECORD_FIELDS as F, KERNEL_RECORD_SIZE, nameHash } from '@sluice/contracts';
import { encodeRecord, markOf } from './kernel-records.ts';

describe('kernel record encoder', () => {
  it('writes what the contracts decoder reads', () => {
    const r = decodeKernelRecord(encodeRecord({ cgroupId: 2n ** 63n + 5n, tsNs: 77n, verdict: 3, pid: 99, comm: 'curl', dst: '10.1.2.3', dport: 5432 }));
    expect(r).toMatchObject({ kind: 'connect', verdict: 'BYPASSED', cgroupId: 2n ** 63n + 5n, tsNs: 77n, pid: 99, comm: 'curl', dstAddr: '10.1.2.3', dstPort: 5432 });
    const h = nameHash('api.example.test');
    const d = decodeKernelRecord(encodeRecord({ kind: 'dns', qname: 'api.example.test', domainHash: h, resolver: '127.0.0.53', dst: '10.9.8.7' }));
    expect(d).toMatchObject({ kind: 'dns', qname: 'api.example.test', domainHash: h, resolverAddr: '127.0.0.53', answer: '10.9.8.7' });
  });

  it('marks distinct noisy records whose padding stays zero', () => {
    const a = encodeRecord({ mark: 7 });
    const b = encodeRecord({ mark: 8 });
    expect(markOf(a)).toBe(7);
    expect(markOf(b)).toBe(8);
    expect(a.subarray(F.body[0] + 4).equals(b.subarray(F.body[0] + 4))).toBe(false);
    expect(a.readUInt32LE(F.src_port[0] + 2)).toBe(0);
    expect(() => decodeKernelRecord(a)).not.toThrow();
  });

  it('encodes into a shared buffer at an offset', () => {
    const out = new Uint8Array(2 * KERNEL_RECORD_SIZE);
    encodeRecord({ mark: 1 }, out, 0);
    encodeRecord({ mark: 2 }, out, KERNEL_RECORD_SIZE);
    expect([markOf(out, 0), markOf(out, KERNEL_RECORD_SIZE)]).toEqual([1, 2]);
  });
});
