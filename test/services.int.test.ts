// Issue 2: scripts/services.sh reports NATS (with JetStream), Redis and OpenSearch as up, and each of
// them really answers on the endpoint it reports, in its own protocol (no client libraries, no mocks).
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { testServer } from '@sluice/testkit';

const SERVICES_SH = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'services.sh');
const NATS_MONITOR_URL = testServer('NATS_MONITOR_URL');
const SERVERS = ['nats', 'redis', 'opensearch'] as const;

interface ServerStatus {
  state: string;
  endpoint: string;
}

let statusOut = '';
let statusCode = 0;
const status = new Map<string, ServerStatus>();

beforeAll(async () => {
  // status exits 1 when a server is down; its stdout still says which, so keep it either way.
  const r = await promisify(execFile)('bash', [SERVICES_SH, 'status', ...SERVERS]).then(
    (ok) => ({ ...ok, code: 0 }),
    (err: { stdout?: string; stderr?: string; code?: number }) => ({
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? '',
      code: err.code ?? 1,
    }),
  );
  statusOut = r.stdout;
  statusCode = r.code;
  // Lines look like: "nats        up    nats://127.0.0.1:4222            pid 123"
  for (const line of r.stdout.split('\n')) {
    const [name, state, endpoint] = line.trim().split(/\s+/);
    if (name && state && endpoint) status.set(name, { state, endpoint });
  }
});

/** Opens a TCP connection, optionally writes `send`, and resolves with what arrived once `done` accepts it. */
function tcpExchange(url: string, send: string | undefined, done: (received: string) => boolean): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = connect({ host: hostname, port: Number(port) });
    socket.setTimeout(5000, () => socket.destroy(new Error(`no complete reply from ${url} within 5 s: ${JSON.stringify(received)}`)));
    socket.on('connect', () => {
      if (send !== undefined) socket.write(send);
    });
    socket.on('data', (chunk) => {
      received += chunk.toString('utf8');
      if (done(received)) {
        socket.end();
        resolve(received);
      }
    });
    socket.on('error', reject);
  });
}

describe('scripts/services.sh status', () => {
  it('lists nats, redis and opensearch as up and exits 0', () => {
    for (const name of SERVERS) {
      expect(status.get(name)?.state, `${name} in:\n${statusOut}\n(run: scripts/services.sh up)`).toBe('up');
    }
    expect(statusCode).toBe(0);
  });
});

describe('NATS', () => {
  it('is healthy and greets clients with JetStream enabled', async () => {
    const health = await fetch(`${NATS_MONITOR_URL}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });

    // The server speaks first: one INFO line whose JSON announces JetStream.
    const info = await tcpExchange(status.get('nats')!.endpoint, undefined, (r) => r.includes('\r\n'));
    expect(info.startsWith('INFO ')).toBe(true);
    const fields = JSON.parse(info.slice('INFO '.length, info.indexOf('\r\n'))) as { jetstream?: boolean; version: string };
    expect(fields.jetstream).toBe(true);
  });
});

describe('Redis', () => {
  it('answers PING with PONG over RESP', async () => {
    const reply = await tcpExchange(status.get('redis')!.endpoint, '*1\r\n$4\r\nPING\r\n', (r) => r.endsWith('\r\n'));
    expect(reply).toBe('+PONG\r\n');
  });
});

describe('OpenSearch', () => {
  it('is an OpenSearch node whose single-node cluster is at least yellow', async () => {
    const url = status.get('opensearch')!.endpoint;
    const root = (await (await fetch(url)).json()) as { version: { distribution: string; number: string } };
    expect(root.version.distribution).toBe('opensearch');
    expect(root.version.number).toMatch(/^\d+\.\d+\.\d+$/);

    const r = await fetch(`${url}/_cluster/health?wait_for_status=yellow&timeout=30s`);
    expect(r.status).toBe(200);
    const health = (await r.json()) as { status: string; number_of_nodes: number };
    expect(['green', 'yellow']).toContain(health.status);
    expect(health.number_of_nodes).toBe(1);
  });
});
