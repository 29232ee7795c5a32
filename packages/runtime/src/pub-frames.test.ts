import { describe, expect, it } from 'vitest';
import { headerBlock, headerLines } from './pub-ack.ts';
import { encodeBatchFrames, encodeFrames, FrameError } from './pub-frames.ts';

const bytes = (s: string) => Buffer.from(s, 'utf8');

describe('encodeFrames', () => {
  it('writes each message as nats.js does: HPUB line, header block, data, CRLF, one after another', () => {
    const h = bytes('NATS/1.0\r\nNats-Msg-Id: a:1\r\n\r\n');
    const out = encodeFrames(
      [
        { subject: 'sluice.events.p.a.DENIED', reply: '_INBOX.x.0.0', headers: h, data: bytes('{"id":1}\n') },
        { subject: 'sluice.dns.p%E2%9C%93.a', reply: '_INBOX.x.0.1', headers: h, data: bytes('{"q":"bücher"}\n') },
        { subject: 'sluice.événement', reply: '_INBOX.x.0.2', headers: h, data: new Uint8Array(0) },
      ],
      1 << 20,
    );
    const expected =
      `HPUB sluice.events.p.a.DENIED _INBOX.x.0.0 ${h.length} ${h.length + 9}\r\n${h.toString()}{"id":1}\n\r\n` +
      `HPUB sluice.dns.p%E2%9C%93.a _INBOX.x.0.1 ${h.length} ${h.length + bytes('{"q":"bücher"}\n').length}\r\n${h.toString()}{"q":"bücher"}\n\r\n` +
      `HPUB sluice.événement _INBOX.x.0.2 ${h.length} ${h.length}\r\n${h.toString()}\r\n`;
    expect(Buffer.from(out).toString('utf8')).toBe(expected);
  });

  it('refuses what nats.js refuses: a subject with whitespace, an empty one, a message over max_payload', () => {
    const f = { subject: 's.a', reply: 'r.1', headers: bytes('NATS/1.0\r\n\r\n'), data: bytes('x'.repeat(100)) };
    expect(() => encodeFrames([{ ...f, subject: 's a' }], 1000)).toThrow(FrameError);
    expect(() => encodeFrames([{ ...f, reply: 'r\r\n' }], 1000)).toThrow(/whitespace/);
    expect(() => encodeFrames([{ ...f, subject: '' }], 1000)).toThrow(/empty/);
    expect(() => encodeFrames([f], 100)).toThrow(/112 bytes exceed the server's max_payload \(100\)/);
    expect(encodeFrames([f], 112).length).toBeGreaterThan(112);
  });
});

describe('encodeBatchFrames', () => {
  // Seeded random messages (runtime has no property-testing library): ASCII, 2-, 3- and 4-byte UTF-8.
  let seed = 20;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const UNITS = ['a', 'Z', '9', '.', '%', '-', ':', '+', 'ü', '✓', '😀'];
  const text = (max: number) => Array.from({ length: 1 + rnd(max) }, () => UNITS[rnd(rnd(4) === 0 ? UNITS.length : 8)]).join('');
  const message = () => ({
    subject: text(60),
    data: Uint8Array.from({ length: rnd(300) }, () => rnd(256)),
    msgId: text(rnd(5) === 0 ? 90 : 40),
    headers: rnd(3) === 0 ? undefined : `Sluice-Count: ${text(8)}\r\n`,
  });

  it('writes byte for byte the frames encodeFrames writes for the header blocks headerBlock builds', () => {
    for (let run = 0; run < 300; run++) {
      const messages = Array.from({ length: rnd(15) }, message);
      const shared = headerLines([
        ['Content-Type', 'application/x-ndjson'],
        ['Sluice-Node', text(30)],
      ]);
      const prefix = '_INBOX.ABC.7.';
      const frames = messages.map((m, i) => ({ subject: m.subject, reply: prefix + i, headers: headerBlock(shared, m.msgId, m.headers), data: m.data }));
      const ends = new Int32Array(messages.length);
      const want = new Int32Array(messages.length);
      const expected = encodeFrames(frames, 1 << 20, undefined, want);
      // Half the runs into a pooled buffer: old bytes, bigger than asked.
      const alloc = run % 2 ? (n: number) => Buffer.alloc(n + 17, 0xa5) : undefined;
      const out = encodeBatchFrames(messages, shared, prefix, 1 << 20, alloc, ends);
      expect(Buffer.from(out).equals(expected)).toBe(true);
      expect([...ends]).toEqual([...want]);
    }
  });

  it('refuses what encodeFrames refuses, with the same errors', () => {
    const m = { subject: 's.a', data: bytes('x'.repeat(100)), msgId: 'n:b:1+1' };
    const same = (ms: Array<typeof m>, prefix: string, max: number) => {
      const frames = ms.map((x, i) => ({ subject: x.subject, reply: prefix + i, headers: headerBlock('', x.msgId), data: x.data }));
      expect(() => encodeFrames(frames, max)).toThrow(FrameError);
      let message = '';
      try {
        encodeFrames(frames, max);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(() => encodeBatchFrames(ms, '', prefix, max)).toThrow(message);
    };
    same([{ ...m, subject: 's a' }], 'r.', 1000);
    same([m, { ...m, subject: '' }], 'r.', 1000);
    same([m], 'r\r\n', 1000);
    same([{ ...m, subject: 's b' }], 'r ', 1000);
    same([m, { ...m, subject: 's b' }], 'r ', 1000);
    same([m, m], 'r.', 100);
  });
});
