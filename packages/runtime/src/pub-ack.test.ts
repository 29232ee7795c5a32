import { MsgHdrsImpl } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { headerBlock, headerLines, parsePubAck } from './pub-ack.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('parsePubAck', () => {
  it('reads a stored and a duplicate ack', () => {
    expect(parsePubAck(bytes('{"stream":"SLUICE_EVENTS","seq":42}'))).toEqual({ ok: true, stream: 'SLUICE_EVENTS', duplicate: false });
    expect(parsePubAck(bytes('{"stream":"S","seq":42,"duplicate":true}'))).toEqual({ ok: true, stream: 'S', duplicate: true });
    expect(parsePubAck(bytes('{"stream":"S","domain":"hub","seq":7}'))).toEqual({ ok: true, stream: 'S', duplicate: false });
    // What nats-server 2.15 sends for a duplicate (found by batch-publisher.int.test.ts): a space after the colon.
    expect(parsePubAck(bytes('{"stream":"S", "seq":1,"duplicate": true}'))).toEqual({ ok: true, stream: 'S', duplicate: true });
    expect(parsePubAck(bytes('{"stream": "S","seq":1,"duplicate":false}'))).toEqual({ ok: true, stream: 'S', duplicate: false });
  });

  it('a JetStream error reply is a refusal naming its description and codes', () => {
    const r = parsePubAck(bytes('{"error":{"code":400,"err_code":10054,"description":"message size exceeds maximum allowed"}}'));
    expect(r).toEqual({ ok: false, error: 'message size exceeds maximum allowed (code 400, err_code 10054)' });
  });

  it('an empty reply is a refusal; 503 says no stream listens', () => {
    expect(parsePubAck(new Uint8Array(0), 503)).toMatchObject({ ok: false, error: expect.stringContaining('no stream listens') });
    expect(parsePubAck(new Uint8Array(0))).toMatchObject({ ok: false, error: 'empty reply' });
  });

  it('anything else is not an ack', () => {
    expect(parsePubAck(bytes('hello'))).toMatchObject({ ok: false, error: expect.stringContaining('not a publish acknowledgement') });
    expect(parsePubAck(bytes('{"error":'))).toMatchObject({ ok: false, error: expect.stringContaining('unreadable error reply') });
    expect(parsePubAck(bytes('{"stream":"'))).toMatchObject({ ok: false });
  });

  it('reads the plain ack byte by byte as the general reading does, whatever the stream and wherever it ends', () => {
    const cases: Array<[string, ReturnType<typeof parsePubAck>]> = [
      ['{"stream":"SLUICE_EVENTS","seq":1}', { ok: true, stream: 'SLUICE_EVENTS', duplicate: false }],
      ['{"stream":"OTHER","seq":18446744073709551615}', { ok: true, stream: 'OTHER', duplicate: false }],
      ['{"stream":"SLUICE_EVENTS","seq":2}', { ok: true, stream: 'SLUICE_EVENTS', duplicate: false }],
      ['{"stream":"SLUICE_EVENTZ","seq":2}', { ok: true, stream: 'SLUICE_EVENTZ', duplicate: false }],
      ['{"stream":"SLUICE_EVENT","seq":2}', { ok: true, stream: 'SLUICE_EVENT', duplicate: false }],
      ['{"stream":"a\\"b","seq":2}', { ok: true, stream: 'a\\', duplicate: false }],
      ['{"stream":"Ü","seq":2}', { ok: true, stream: Buffer.from('Ü').toString('latin1'), duplicate: false }],
      ['{"stream":"S","seq":2,"duplicate":true}', { ok: true, stream: 'S', duplicate: true }],
      ['{"stream":"S","seq":}', { ok: true, stream: 'S', duplicate: false }],
      ['{"stream":"S","seq":1x}', { ok: true, stream: 'S', duplicate: false }],
      ['{"stream":"","seq":1}', { ok: false, error: 'not a publish acknowledgement: {"stream":"","seq":1}' }],
      ['{"stream":"S', { ok: false, error: 'not a publish acknowledgement: {"stream":"S' }],
      ['{"stream":"S","seq"', { ok: true, stream: 'S', duplicate: false }],
      ['{"stream":"error","seq":1}', { ok: false, error: 'unknown error (code ?, err_code ?)' }],
      ['{"stream":"errors","seq":1}', { ok: true, stream: 'errors', duplicate: false }],
    ];
    for (const [ack, want] of cases) {
      // Alone, and inside a larger buffer.
      expect(parsePubAck(bytes(ack)), ack).toEqual(want);
      const buf = bytes(`{"stream":"X","seq":9}${ack}{`);
      expect(parsePubAck(buf.subarray(22, buf.length - 1)), ack).toEqual(want);
    }
  });

  it('reads an ack that sits inside a larger buffer', () => {
    const buf = bytes('xx{"stream":"S","seq":1}yy');
    expect(parsePubAck(buf.subarray(2, buf.length - 2))).toEqual({ ok: true, stream: 'S', duplicate: false });
  });
});

describe('headerBlock', () => {
  it('encodes what nats.js would, and decodes back to the same headers', () => {
    const shared = headerLines([
      ['Content-Type', 'application/x-ndjson'],
      ['Sluice-Node', 'node-ü'],
    ]);
    const block = headerBlock(shared, 'n:b:1+3', headerLines([['Sluice-Count', '3']]));
    const h = MsgHdrsImpl.decode(block);
    expect(h.get('Content-Type')).toBe('application/x-ndjson');
    expect(h.get('Sluice-Node')).toBe('node-ü');
    expect(h.get('Sluice-Count')).toBe('3');
    expect(h.get('Nats-Msg-Id')).toBe('n:b:1+3');
    expect(new TextDecoder().decode(block)).toBe('NATS/1.0\r\nContent-Type: application/x-ndjson\r\nSluice-Node: node-ü\r\nSluice-Count: 3\r\nNats-Msg-Id: n:b:1+3\r\n\r\n');
  });

  it('refuses values and names that would break the block', () => {
    expect(() => headerLines([['A', 'x\r\nNats-Msg-Id: forged']])).toThrow(/header A: a value cannot contain CR or LF/);
    expect(() => headerLines([['A:B', 'x']])).toThrow(/header name "A:B"/);
    expect(() => headerBlock('', 'id\n')).toThrow(/Nats-Msg-Id/);
  });
});
