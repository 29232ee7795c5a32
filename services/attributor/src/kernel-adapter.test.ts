import { describe, expect, it } from 'vitest';
import { decodeKernelRecord, DnsEvent, EgressEvent, encodeSuppressed, KERNEL_RECORD_FIELDS, KERNEL_REASON, nameHash } from '@sluice/contracts';
import { encodeRecord } from '@sluice/testkit/unit';
import { fieldsText, kernelCodec, OFF, RECORD_SIZE } from './kernel-adapter.ts';
import { RecordError } from './record.ts';

const doc = (fields: string) => JSON.parse(`{"id":"x","time":"2026-11-23T12:00:00.000Z","node":"n","attribution":"unknown"${fields}}`);
/** The record as decoded, with its fields as the text render writes into its line. */
const dec = (b: Uint8Array, off = 0n) => {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const r = kernelCodec.decode(v, b, 0, off);
  return { ...r, fields: fieldsText(kernelCodec, v, b, r) };
};

describe('kernel adapter', () => {
  it('carries the socket type of sock_create, the escape of a task, and the forged flag of a DNS answer', () => {
    const sock = encodeRecord({ kind: 'sock_create', cgroupId: 3n, tsNs: 1n, reason: KERNEL_REASON.raw_socket });
    sock[KERNEL_RECORD_FIELDS['body.sock.sock_type'][0]] = 2;
    sock[KERNEL_RECORD_FIELDS['body.sock.sock_protocol'][0]] = 1;
    expect(EgressEvent.parse(doc(dec(sock).fields))).toMatchObject({ kind: 'sock_create', sock_type: 'dgram', sock_protocol: 1 });

    const esc = encodeRecord({ kind: 'escape', cgroupId: 3n, tsNs: 1n, comm: 'sh' });
    esc[KERNEL_RECORD_FIELDS.verdict[0]] = 0;
    esc[KERNEL_RECORD_FIELDS['body.escape.to_cgroup_id'][0]] = 1;
    const e = dec(esc);
    expect(EgressEvent.parse(doc(e.fields))).toMatchObject({ kind: 'escape', verdict: 'BYPASSED', reason: 'escape', comm: 'sh', cgroup_id: '3', to_cgroup_id: '1' });

    const dns = encodeRecord({ kind: 'dns', cgroupId: 3n, tsNs: 1n, qname: 'evil.corp.test', domainHash: nameHash('evil.corp.test') });
    dns[KERNEL_RECORD_FIELDS.flags[0]] = 32; // dns_forged
    dns[KERNEL_RECORD_FIELDS['body.dns.rejected'][0]] = 1;
    const d = dec(dns);
    expect(DnsEvent.parse(doc(d.fields))).toMatchObject({ qname: 'evil.corp.test', forged: true, rejected: 'unsolicited' });
    expect(d.qname, 'a forged answer teaches no name').toBeUndefined();
  });

  it('spells every cgroup id exactly, whether its string is cached (below 2^53) or not', () => {
    for (const id of [1n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 64n - 1n, 123_456_789_012n]) {
      expect(dec(encodeRecord({ cgroupId: id, tsNs: 1n, verdict: 1 })).cgroupId).toBe(id.toString());
      expect(dec(encodeRecord({ cgroupId: id, tsNs: 2n, verdict: 2 })).cgroupId, 'the second time, from the cache').toBe(id.toString());
    }
  });

  it('writes a comm and a DNS name with bytes ≥ 0x80 as the JSON of their text (comm Latin-1, the name UTF-8)', () => {
    const e = EgressEvent.parse(doc(dec(encodeRecord({ cgroupId: 1n, tsNs: 1n, verdict: 1, comm: 'café"\\' })).fields));
    expect(e.comm).toBe(Buffer.from('café"\\').toString('latin1'));
    const q = 'bücher.example';
    const d = dec(encodeRecord({ kind: 'dns', cgroupId: 1n, tsNs: 1n, comm: 'cu\u0001rl', qname: q, domainHash: nameHash(q) }));
    expect(DnsEvent.parse(doc(d.fields))).toMatchObject({ qname: q, comm: 'cu\u0001rl' });
    expect(d.qname).toBe(q);
  });

  it('gives each record its wall ms exactly, without BigInt, for any boot-clock ns and wall offset', () => {
    const b = encodeRecord({ cgroupId: 1n, verdict: 1 });
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const offsets = [0n, 999_999n, 1_700_000_000_123_456_789n, 1_764_000_000_000_000_001n];
    const stamps = [0n, 1n, 999_999n, 1_000_000n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 52n + 12_345n, 2n ** 53n + 999_999n, 2n ** 63n, 2n ** 64n - 1n];
    for (const off of offsets) {
      for (const ts of stamps) {
        v.setBigUint64(OFF.ts, ts, true);
        expect(kernelCodec.decode(v, b, 0, off).wallMs, `ts ${ts} offset ${off}`).toBe(Number((ts + off) / 1_000_000n));
      }
    }
  });

  it('names a refused bpf() call: kind bpf, reason bpf_syscall, the command', () => {
    const b = encodeRecord({ kind: 'bpf', cgroupId: 3n, tsNs: 1n, comm: 'bpftool', verdict: 2, reason: KERNEL_REASON.bpf_syscall });
    b[KERNEL_RECORD_FIELDS['body.bpf.cmd'][0]] = 34; // BPF_LINK_DETACH
    const r = dec(b);
    expect(r.verdict).toBe('DENIED');
    expect(EgressEvent.parse(doc(r.fields))).toMatchObject({ kind: 'bpf', verdict: 'DENIED', reason: 'bpf_syscall', comm: 'bpftool', cgroup_id: '3', bpf_cmd: 34 });
    expect(decodeKernelRecord(b)).toMatchObject({ kind: 'bpf', verdict: 'DENIED', reason: 'bpf_syscall', bpf: { cmd: 34 } });
  });

  it('agrees with the contracts decoder on every field an event carries', () => {
    const b = encodeRecord({ cgroupId: 2n ** 63n + 5n, tsNs: 77n, verdict: 3, pid: 99, comm: 'cu"rl', dst: '10.1.2.3', dport: 5432 });
    b[KERNEL_RECORD_FIELDS.src_addr[0]] = 172;
    b[KERNEL_RECORD_FIELDS.src_addr[0] + 3] = 9;
    const ref = decodeKernelRecord(b);
    const r = dec(b);
    expect(r.cgroupId).toBe(ref.cgroupId.toString());
    expect(r.wallMs).toBe(Number(ref.tsNs / 1_000_000n));
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

  it('decodes a comm with bytes ≥ 0x80 in the middle (an agent names its own process) instead of spinning', () => {
    // UTF-8 "é" then ASCII: the old loop stopped advancing at the first non-ASCII byte, forever.
    for (const comm of ['é-agent', 'a\u00ffb', '日本語x']) {
      const b = encodeRecord({ cgroupId: 3n, tsNs: 1n, verdict: 2, comm });
      const e = EgressEvent.parse(doc(dec(b).fields));
      expect(e.comm).toBe(decodeKernelRecord(b).kind === 'connect' ? (decodeKernelRecord(b) as { comm: string }).comm : '');
      expect(e.comm.length).toBeGreaterThan(0);
    }
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

  it('renders a DNS record as a DnsEvent: answer, ttl, qtype, rcode, resolver, and the hash for the name table', () => {
    const h = nameHash('api.example.test');
    const r = dec(encodeRecord({ kind: 'dns', cgroupId: 9n, tsNs: 1n, qname: 'api.example.test', dst: '127.0.0.5', resolver: '127.0.0.153', domainHash: h }));
    expect(r).toMatchObject({ out: 'dns', verdict: undefined, domainHash: h, qname: 'api.example.test', cgroupId: '9' });
    expect(DnsEvent.parse(doc(r.fields))).toMatchObject({
      qname: 'api.example.test',
      qtype: 'A',
      rcode: 'NOERROR',
      answers: ['127.0.0.5'],
      ttl: 60,
      resolver_ip: '127.0.0.153',
      cgroup_id: '9',
    });
  });

  it('gives a DNS record without an address (NXDOMAIN, CNAME only) no answers, and its rcode', () => {
    const b = encodeRecord({ kind: 'dns', cgroupId: 9n, tsNs: 1n, qname: 'nope.test', dst: '0.0.0.0', resolver: '10.0.0.2' });
    b[KERNEL_RECORD_FIELDS['body.dns.rcode'][0]] = 3;
    expect(DnsEvent.parse(doc(dec(b).fields))).toMatchObject({ answers: [], rcode: 'NXDOMAIN', resolver_ip: '10.0.0.2' });
  });

  it('prints an A answer and resolver the kernel mapped into IPv6 (IPv6 resolver) as IPv4', () => {
    const b = encodeRecord({ kind: 'dns', cgroupId: 9n, tsNs: 1n, qname: 'a.test' });
    b[KERNEL_RECORD_FIELDS.family[0]] = 10;
    const dst = KERNEL_RECORD_FIELDS.dst_addr[0];
    const src = KERNEL_RECORD_FIELDS.src_addr[0];
    b.fill(0, dst, dst + 32);
    b.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1], dst);
    b.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53], src);
    expect(DnsEvent.parse(doc(dec(b).fields))).toMatchObject({ answers: ['192.0.2.1'], resolver_ip: 'fd00::53' });
  });

  it('names the host and rule_port reasons as MatchReason does, and carries the hash and stale flag to render', () => {
    const h = nameHash('api.example.test');
    const host = dec(encodeRecord({ cgroupId: 1n, tsNs: 1n, verdict: 1, reason: KERNEL_REASON.host, domainHash: h, hostStale: true }));
    expect(EgressEvent.parse(doc(host.fields))).toMatchObject({ reason: 'host', domain_hash: h.toString() });
    expect(host).toMatchObject({ domainHash: h, hostStale: true });
    // dst_host / dst_host_stale belong to the name, which render adds when it knows it.
    expect(EgressEvent.parse(doc(host.fields)).dst_host_stale).toBeUndefined();
    const port = dec(encodeRecord({ cgroupId: 1n, tsNs: 1n, verdict: 2, reason: KERNEL_REASON.rule_port }));
    expect(EgressEvent.parse(doc(port.fields))).toMatchObject({ reason: 'rule_port', verdict: 'DENIED' });
    expect(port.domainHash).toBe(0n);
  });

  it('maps the flow body (bytes in/out, duration) on tcp_close, tcp_interim and udp_flow only', () => {
    const flow = { bytesOut: 1234n, bytesIn: 56789n, durationNs: 2_500_000n };
    for (const kind of ['tcp_close', 'tcp_interim', 'udp_flow'] as const) {
      const e = EgressEvent.parse(doc(dec(encodeRecord({ kind, cgroupId: 1n, tsNs: 1n, verdict: 1, flow })).fields));
      expect(e).toMatchObject({ kind, bytes_out: 1234, bytes_in: 56789, duration_ms: 2.5 });
    }
    const c = EgressEvent.parse(doc(dec(encodeRecord({ kind: 'connect', cgroupId: 1n, tsNs: 1n, flow })).fields));
    expect(c.bytes_out).toBeUndefined();
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
