// Loopback listeners the probe connects to (the test process is outside the managed scope, so
// they are never judged themselves).
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';

export interface Listeners {
  tcp(host: string): Promise<number>;
  /** TCP: reads to the client's FIN, then answers `reply` bytes and closes; `received` per connection. */
  exchange(host: string, reply: number): Promise<{ port: number; received: number[] }>;
  udp(host: string): Promise<{ port: number; received: () => number }>;
  close(): Promise<void>;
}

export function listeners(): Listeners {
  const servers: Server[] = [];
  const conns = new Set<import('node:net').Socket>();
  const udps: UdpSocket[] = [];
  return {
    tcp(host) {
      return new Promise((res, rej) => {
        const s = createServer((c) => {
          conns.add(c);
          c.on('error', () => {}).on('close', () => conns.delete(c));
          c.end();
        });
        s.on('error', rej);
        s.listen({ host, port: 0, backlog: 4096 }, () => res((s.address() as { port: number }).port));
        servers.push(s);
      });
    },
    exchange(host, reply) {
      const received: number[] = [];
      return new Promise((res, rej) => {
        const s = createServer((c) => {
          conns.add(c);
          let n = 0;
          c.on('data', (d: Buffer) => (n += d.length));
          c.on('end', () => {
            received.push(n);
            c.end(Buffer.alloc(reply, 'y'));
          });
          c.on('error', () => {}).on('close', () => conns.delete(c));
        });
        s.on('error', rej);
        s.listen({ host, port: 0 }, () => res({ port: (s.address() as { port: number }).port, received }));
        servers.push(s);
      });
    },
    udp(host) {
      return new Promise((res, rej) => {
        const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
        let n = 0;
        s.on('message', () => n++);
        s.on('error', rej);
        s.bind(0, host, () => res({ port: s.address().port, received: () => n }));
        udps.push(s);
      });
    },
    async close() {
      // server.close() waits for every connection; a half-open one (TCP Fast Open) never ends.
      for (const c of conns) c.destroy();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      await Promise.all(udps.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
