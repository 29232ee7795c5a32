import { describe, expect, it } from 'vitest';
import { encodeFrames, FrameError } from './pub-frames.ts';

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
