// The canary's two destinations: tiny TCP listeners on 127.0.0.1, random ports, in the policy
// service itself (outside the managed scope). Both accept, so a denied connect that gets through
// is seen as a connection, not confused with a refused one.
import { createServer, type AddressInfo, type Server } from 'node:net';
import { CANARY_ADDR } from './canary-policy.ts';

export interface CanaryListeners {
  ports: { allowed: number; denied: number };
  /** Connections the denied listener accepted: each one got past enforcement. */
  deniedAccepted(): number;
  close(): Promise<void>;
}

async function listen(onConnection: () => void, port = 0): Promise<Server> {
  const server = createServer((sock) => {
    onConnection();
    sock.on('error', () => {}); // the probe closes at once; a reset is expected
    sock.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, CANARY_ADDR, () => resolve());
  });
  return server;
}

/** `preferred`: the allowed port to take again if it is free (a restart keeps its canary policy). */
export async function openCanaryListeners(preferred?: number): Promise<CanaryListeners> {
  let denied = 0;
  const a = await listen(() => {}, preferred).catch(() => listen(() => {}));
  const d = await listen(() => denied++);
  const port = (s: Server) => (s.address() as AddressInfo).port;
  return {
    ports: { allowed: port(a), denied: port(d) },
    deniedAccepted: () => denied,
    close: async () => {
      await Promise.all([a, d].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
