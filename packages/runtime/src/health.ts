// Liveness says the process is running; readiness says every dependency a component registered is
// currently usable. Kubernetes-style probes and `sluice status` read the JSON bodies.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.ts';

export interface Check {
  ok: boolean;
  detail: string;
  /** false: a dependency the component degrades without; shown, but never blocks readiness. */
  required: boolean;
}

export class Readiness {
  private readonly checks = new Map<string, Check>();

  set(name: string, ok: boolean, detail = '', opts: { required?: boolean } = {}): void {
    this.checks.set(name, { ok, detail, required: opts.required ?? true });
  }

  get ready(): boolean {
    for (const c of this.checks.values()) if (c.required && !c.ok) return false;
    return this.checks.size > 0;
  }

  /** Some optional dependency is down: ready, but running on a fallback. */
  get degraded(): boolean {
    for (const c of this.checks.values()) if (!c.required && !c.ok) return true;
    return false;
  }

  snapshot(): Record<string, Check> {
    return Object.fromEntries(this.checks);
  }
}

export interface HealthServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(opts: {
  host: string;
  port: number;
  service: string;
  readiness: Readiness;
  metrics: Metrics;
}): Promise<HealthServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') return opts.metrics.handle(req, res);
    if (path === '/healthz' || path === '/readyz') {
      const ready = opts.readiness.ready;
      const ok = path === '/healthz' || ready;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ service: opts.service, live: true, ready, degraded: opts.readiness.degraded, checks: opts.readiness.snapshot() }),
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
