import { describe, expect, it } from 'vitest';
import { decodeKernelRecord, EgressEvent, encodeSuppressed, KERNEL_RECORD_FIELDS } from '@sluice/contracts';
import { kernelCodec, RECORD_SIZE } from './kernel-adapter.ts';
import { encodeRecord } from './kernel-fixture.ts';
import { RecordError } from './record.ts';

const doc = (fields: string) => JSON.parse(`{"id":"x","time":"2026-11-23T12:00:00.000Z","node":"n","attribution":"unknown"${fields}}`);
const dec = (b: Uint8Array, off = 0n) => kernelCodec.decode(new DataView(b.buffer, b.byteOffset, b.byteLength), b, 0, off);

describe('kernel adapter', () => {
  it('agrees with the contracts decoder on every field an event carries', () => {
    const b = encodeRecord({ cgroupId: 2n ** 63n + 5n, tsNs: 77n, verdict: 3, pid: 99, comm: 'cu"rl', dst: '10.1.2.3', dport: 5432 });
    b[KERNEL_RECORD_FIELDS.src_addr[0]] = 172;
    b[KERNEL_RECORD_FIELDS.src_addr[0] + 3] = 9;
    const ref = decodeKernelRecord(b);
    const r = dec(b);
    expect(r.cgroupId).toBe(ref.cgroupId.toString());
    expect(r.tsNs).toBe(ref.tsNs);
    const e = EgressEvent.parse(doc(r.fields));
    expect(ref.kind).toBe('connect');
    if (ref.kind !== 'connect') return;
    expect(e).toMatchObject({
      verdict: ref.verdict,
      cgroup_id: ref.cgroupId.toString(),
      pid: ref.pid,
      comm: ref.comm,
      dst_ip: ref.dstAddr,
      dst_port: ref.dstPort,
      src_ip: ref.srcAddr,
      socket_cookie: ref.socketCookie.toString(),
    });
  });

  it('turns a rate-limit summary into a suppressed event with its count and wall times', () => {
    const template = encodeRecord({ cgroupId: 8n, tsNs: 0n, verdict: 2 });
    const out = new Uint8Array(RECORD_SIZE);
    encodeSuppressed(out, 0, template, { count: 1234, firstTsNs: 1_000_000n, lastTsNs: 3_000_000n, byVerdict: [0, 4, 1230, 0] });
    const e = EgressEvent.parse(doc(dec(out, 1_700_000_000_000_000_000n).fields));
    expect(e).toMatchObject({ kind: 'suppressed', verdict: 'DENIED', suppressed_count: 1234 });
    expect(e.first_time).toBe(new Date(1_700_000_000_001).toISOString());
    expect(e.last_time).toBe(new Date(1_700_000_000_003).toISOString());
  });

  it('refuses counters records and unknown versions with a reason', () => {
    const b = encodeRecord({ cgroupId: 1n, tsNs: 1n });
    b[1] = 8;
    expect(() => dec(b)).toThrow(RecordError);
    b[1] = 1;
    b[0] = 2;
    expect(() => dec(b)).toThrow(/version 2/);
  });
});
