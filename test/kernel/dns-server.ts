// A small authoritative-ish DNS server for the kernel tests, on 127.0.0.x:53 outside the managed
// scope. Answers from a zone given as data; unknown names get NXDOMAIN. `send` pushes raw
// messages (fuzz cases) from the same source address and port.
import { createSocket, type Socket } from 'node:dgram';
import { buildResponse, parseQuery, type RR } from './dns-wire.ts';

export type Zone = Map<string, RR[]>;

export interface DnsServer {
  readonly addr: string;
  readonly zone: Zone;
  queries: number;
  send(msg: Buffer, port: number, addr: string): Promise<void>;
  close(): Promise<void>;
}

export function dnsServer(addr: string, zone: Zone = new Map()): Promise<DnsServer> {
  const sock: Socket = createSocket(addr.includes(':') ? 'udp6' : 'udp4');
  const srv: DnsServer = {
    addr,
    zone,
    queries: 0,
    send: (msg, port, to) => new Promise((res, rej) => sock.send(msg, port, to, (e) => (e ? rej(e) : res()))),
    close: () => new Promise((res) => sock.close(() => res())),
  };
  sock.on('message', (q, rinfo) => {
    const parsed = parseQuery(q);
    if (!parsed) return;
    srv.queries++;
    const answers = zone.get(parsed.qname.toLowerCase());
    const msg = buildResponse({
      id: parsed.id,
      qname: parsed.qname,
      qtype: parsed.qtype,
      rcode: answers ? 0 : 3,
      answers: answers?.filter((a) => a.type === 'CNAME' || (parsed.qtype === 28) === (a.type === 'AAAA')) ?? [],
    });
    sock.send(msg, rinfo.port, rinfo.address);
  });
  return new Promise((res, rej) => {
    sock.once('error', rej);
    sock.bind(53, addr, () => res(srv));
  });
}
