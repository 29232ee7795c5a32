import { describe, expect, it } from 'vitest';
import {
  decodeKernelRecord,
  decodeKernelRecords,
  formatIpv6,
  KERNEL_COUNTERS_EXT,
  KERNEL_FLAG,
  KERNEL_KIND,
  KERNEL_RECORD_FIELDS as F,
  KERNEL_RECORD_SIZE,
  KernelRecordError,
  tryDecodeKernelRecord,
  type KernelCountersRecord,
  type KernelEgressRecord,
} from './kernel-record.ts';

function egress(overrides: (b: Buffer) => void = () => {}): Buffer {
  const b = Buffer.alloc(KERNEL_RECORD_SIZE);
  b[0] = 1;
  b[1] = KERNEL_KIND.connect;
  b[2] = 2; // DENIED
  b[3] = 8; // rule_port
  b[4] = 10; // AF_INET6
  b[5] = 6;
  b[6] = 1; // learn
  b.writeUInt32LE(KERNEL_FLAG.audit | KERNEL_FLAG.v4mapped, F.flags[0]);
  b.writeUInt32LE(42, F.policy_id[0]);
  b.writeBigUInt64LE(123456789n, F.ts_ns[0]);
  b.writeBigUInt64LE(2n ** 63n + 5n, F.cgroup_id[0]);
  b.writeBigUInt64LE(77n, F.socket_cookie[0]);
  b.writeUInt32LE(1000, F.pid[0]);
  b.writeUInt32LE(1001, F.tid[0]);
  b.writeUInt32LE(7, F.rule_id[0]);
  Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 2]).copy(b, F.dst_addr[0]);
  b.writeUInt16LE(8080, F.dst_port[0]);
  b.write('curl', F.comm[0], 'latin1');
  overrides(b);
  return b;
}

describe('decodeKernelRecord', () => {
  it('decodes every header field of an egress record', () => {
    const r = decodeKernelRecord(egress()) as KernelEgressRecord;
    expect(r).toMatchObject({
      kind: 'connect',
      verdict: 'DENIED',
      reason: 'rule_port',
      mode: 'learn',
      audit: true,
      v4mapped: true,
      defaultPolicy: false,
      policyId: 42,
      ruleId: 7,
      tsNs: 123456789n,
      cgroupId: 2n ** 63n + 5n,
      socketCookie: 77n,
      pid: 1000,
      tid: 1001,
      family: 'ipv6',
      l4Proto: 6,
      dstAddr: '::ffff:127.0.0.2',
      dstPort: 8080,
      comm: 'curl',
    });
  });

  it('reads IPv4 from the first four bytes and decodes at an offset without copying', () => {
    const rec = egress((b) => {
      b[4] = 2;
      Buffer.from([10, 1, 2, 3]).copy(b, F.dst_addr[0]);
    });
    const buf = Buffer.concat([Buffer.alloc(3), rec]);
    expect((decodeKernelRecord(buf, 3) as KernelEgressRecord).dstAddr).toBe('10.1.2.3');
  });

  it('decodes sock_create and counters bodies', () => {
    const sock = decodeKernelRecord(
      egress((b) => {
        b[1] = KERNEL_KIND.sock_create;
        b[3] = 6;
        b.writeUInt32LE(3, F['body.sock.sock_type'][0]);
        b.writeUInt32LE(1, F['body.sock.sock_protocol'][0]);
      }),
    ) as KernelEgressRecord;
    expect(sock).toMatchObject({ kind: 'sock_create', reason: 'raw_socket', sock: { type: 3, protocol: 1 } });

    const c = Buffer.alloc(KERNEL_RECORD_SIZE);
    c[0] = 1;
    c[1] = KERNEL_KIND.counters;
    c.writeBigUInt64LE(10n, F['body.counters.value'][0]);
    c.writeBigUInt64LE(3n, F['body.counters.value'][0] + 8);
    c.writeBigUInt64LE(7n, KERNEL_COUNTERS_EXT[0] + 8); // slot 17
    const cr = decodeKernelRecord(c) as KernelCountersRecord;
    expect(cr.counters.generated).toBe(10n);
    expect(cr.counters.drop_ringbuf_full).toBe(3n);
    expect(cr.slots).toHaveLength(20);
    expect(cr.counters.escapes).toBe(0n);
    expect(cr.counters.sockopt_denied).toBe(7n);
  });

  it('rejects short buffers, unknown versions, kinds and enum values with a typed error', () => {
    const cases: [Buffer, number, string][] = [
      [Buffer.alloc(100), 0, 'short'],
      [egress(), 1, 'short'],
      [egress((b) => (b[0] = 2)), 0, 'version'],
      [egress((b) => (b[1] = 0)), 0, 'kind'],
      [egress((b) => (b[1] = 99)), 0, 'kind'],
      [egress((b) => (b[2] = 9)), 0, 'enum'],
      [egress((b) => (b[4] = 7)), 0, 'enum'],
    ];
    for (const [buf, off, code] of cases) {
      const r = tryDecodeKernelRecord(buf, off);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error).toBeInstanceOf(KernelRecordError);
        expect(r.error.code).toBe(code);
      }
    }
  });

  it('walks a buffer of whole records and refuses a torn tail', () => {
    const two = Buffer.concat([egress(), egress((b) => b.writeUInt32LE(9, F.rule_id[0]))]);
    expect([...decodeKernelRecords(two)].map((r) => (r as KernelEgressRecord).ruleId)).toEqual([7, 9]);
    expect(() => [...decodeKernelRecords(two.subarray(1))]).toThrow(KernelRecordError);
  });

  it('formats IPv6 per RFC 5952', () => {
    const a = new Uint8Array(16);
    a[15] = 1;
    expect(formatIpv6(a, 0)).toBe('::1');
    const b = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    expect(formatIpv6(b, 0)).toBe('2001:db8::1:0:0:1');
  });
});
