import { describe, expect, it } from 'vitest';
import { auditEvent, dnsEvent, egressEvent, ndjson } from '@sluice/testkit/unit';
import { parseBatch } from './parse.ts';

const observed = '2026-01-01T12:00:01.000Z';

describe('parseBatch', () => {
  it('turns each valid line into an ss4o document keyed by the event id', () => {
    const e = egressEvent(1, { verdict: 'DENIED', dst_host: 'api.github.com', dst_port: 443 });
    const { docs, rejects } = parseBatch('egress', ndjson([e, egressEvent(2)]), observed);
    expect(rejects).toEqual([]);
    expect(docs.map((d) => d.id)).toEqual(['node-t:boot:1', 'node-t:boot:2']);
    const doc = docs[0]!.doc;
    expect(doc['@timestamp']).toBe(e.time);
    expect(doc.observedTimestamp).toBe(observed);
    expect(doc.attributes).toEqual(e);
    expect(doc.resource.attributes).toEqual({ service: { name: 'sluice' }, host: { name: 'node-t' } });
    expect(doc.severity.text).toBe('WARN');
    expect(JSON.parse(docs[0]!.json)).toEqual(doc);
    expect(doc.body).toBe('DENIED connect tcp proj/agent-1 curl[101] -> api.github.com:443 (93.184.0.1) reason=rule out=3B in=5B');
  });

  it('rejects bad lines one by one, naming line and field, and keeps the rest', () => {
    const payload = [JSON.stringify(egressEvent(1)), '{not json', JSON.stringify({ ...egressEvent(3), dst_port: 70000 }), '', JSON.stringify(egressEvent(4))].join('\n');
    const { docs, rejects } = parseBatch('egress', payload, observed);
    expect(docs.map((d) => d.id)).toEqual(['node-t:boot:1', 'node-t:boot:4']);
    expect(rejects.map((r) => [r.kind, r.line])).toEqual([
      ['not_json', 2],
      ['schema', 3],
    ]);
    expect(rejects[0]!.raw).toBe('{not json');
    expect(rejects[1]!.reason).toMatch(/^line 3: dst_port: /);
  });

  it('serializes exactly the validated fields, also when the input carried unknown ones', () => {
    const line = JSON.stringify({ ...egressEvent(5), prompt: 'must not be stored' });
    const [d] = parseBatch('egress', line, observed).docs;
    expect(JSON.parse(d!.json)).toEqual(d!.doc);
    expect(d!.json).not.toContain('prompt');
    const padded = parseBatch('egress', `  ${JSON.stringify(egressEvent(6))}\r`, observed).docs[0]!;
    expect(JSON.parse(padded.json)).toEqual(padded.doc);
  });

  it('encodes each document after its frame, the same JSON as `json`', () => {
    const payload = [JSON.stringify(egressEvent(1)), '{not json', JSON.stringify({ ...egressEvent(2), prompt: 'x' }), JSON.stringify(egressEvent(3, { comm: 'é😀' }))].join('\n');
    const b = parseBatch('egress', payload, observed, (stream, id) => `<${stream} ${id}>\n`);
    expect(b.framed).toBe(true);
    const e = b.encoded!;
    expect(e.utf8.toString()).toBe(b.docs.map((d) => `<egress ${d.id}>\n${d.json}\n`).join(''));
    for (const [i, d] of b.docs.entries()) {
      expect(JSON.parse(e.utf8.toString('utf8', e.docStarts[i], e.starts[i + 1]! - 1))).toEqual(d.doc);
      expect(JSON.parse(d.json)).toEqual(d.doc);
    }
    expect(parseBatch('egress', payload, observed).encoded!.utf8.toString()).toBe(b.docs.map((d) => `${d.json}\n`).join(''));
  });

  it('validates each source against its own schema', () => {
    expect(parseBatch('dns', ndjson([dnsEvent(1)]), observed).docs[0]!.doc.body).toBe(
      'DNS A host-1.example.com NOERROR proj/agent-1 -> [93.184.0.1] ttl=60',
    );
    const audit = parseBatch('overseer', ndjson([auditEvent(1)]), observed).docs[0]!.doc;
    expect(audit.body).toBe('AUDIT policy_apply by operator@example.com rev 1 -> 2: tighten npm rules');
    expect(audit.resource.attributes.host).toBeUndefined();
    // An egress event is not an audit event.
    expect(parseBatch('overseer', ndjson([egressEvent(1)]), observed).rejects[0]!.reason).toMatch(/actor/);
  });

  it('describes unattributed and IPv6 destinations readably', () => {
    const e = egressEvent(1, { attribution: 'unknown', agent: undefined, project: undefined, dst_host: undefined, dst_ip: '2001:db8::1', family: 'ipv6' });
    delete (e as Record<string, unknown>).agent;
    delete (e as Record<string, unknown>).project;
    delete (e as Record<string, unknown>).dst_host;
    expect(parseBatch('egress', ndjson([e]), observed).docs[0]!.doc.body).toContain('(unknown) curl[101] -> [2001:db8::1]:443 reason=rule');
  });

  it('reads a message from its bytes exactly as from its text, CRLF lines and multi-byte characters included', () => {
    const lines = [JSON.stringify(egressEvent(1, { agent: 'agent ✓' })), '', `  ${JSON.stringify(egressEvent(2, { comm: 'é😀' }))}\r`, '{bad', JSON.stringify({ ...egressEvent(3), prompt: 'x' })];
    const text = `${lines.join('\n')}\n`;
    const frame = (stream: string, id: string) => `<${stream} ${id}>\n`;
    const fromText = parseBatch('egress', text, observed, frame);
    const fromBytes = parseBatch('egress', new TextEncoder().encode(text), observed, frame);
    expect(fromBytes.encoded!.utf8.equals(fromText.encoded!.utf8)).toBe(true);
    expect(fromBytes.docs.map((d) => d.json)).toEqual(fromText.docs.map((d) => d.json));
    expect(fromBytes.rejects).toEqual(fromText.rejects);
    expect(fromBytes.rejects.map((r) => r.line)).toEqual([4]);
  });

  it('never passes on bytes that are not UTF-8: the document carries U+FFFD in their place', () => {
    const line = Buffer.from(JSON.stringify(egressEvent(1, { comm: 'cu#l' })));
    line[line.indexOf('#')] = 0xff; // a byte that starts no UTF-8 sequence
    const b = parseBatch('egress', line, observed);
    expect(b.rejects).toEqual([]);
    const utf8 = b.encoded!.utf8;
    // What goes to OpenSearch decodes and re-encodes to the same bytes: it is valid UTF-8.
    expect(Buffer.from(utf8.toString('utf8')).equals(utf8)).toBe(true);
    expect(b.docs[0]!.doc.attributes.comm).toBe('cu\uFFFDl');
    expect(JSON.parse(b.docs[0]!.json).attributes.comm).toBe('cu\uFFFDl');
  });
});
