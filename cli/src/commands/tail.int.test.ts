// `sluice tail` against the real NATS JetStream and against a real NDJSON store written by the
// sink's own file writer.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { STREAMS, subjects, type EgressEvent } from '@sluice/contracts';
import { createLogger, ensureStream } from '@sluice/runtime';
import { testServer } from '@sluice/testkit';
import { egressDocument, FileStoreWriter } from '@sluice/store';
import { UNTIL_GRACE_MS } from '../events/live.ts';

const main = fileURLToPath(new URL('../main.ts', import.meta.url));
const NATS_URL = testServer('NATS_URL');
const project = `tail test ${process.pid}.${Date.now()}`;

function event(i: number, over: Partial<EgressEvent> = {}): EgressEvent {
  return {
    id: `tail:${process.pid}:${i}`,
    time: new Date().toISOString(),
    node: 'tail-node',
    kind: 'connect',
    verdict: i % 2 === 0 ? 'DENIED' : 'ALLOWED',
    audit: false,
    reason: 'default',
    rule_id: 0,
    cgroup_id: '4242',
    pid: 10,
    comm: 'curl',
    family: 'ipv4',
    l4_proto: 'tcp',
    dst_ip: `10.0.0.${i}`,
    dst_port: 443,
    dst_host: `h${i}.example.test`,
    attribution: 'docker',
    project,
    agent: 'agent.α',
    ...over,
  };
}

describe('sluice tail', () => {
  it('follows live events with project/verdict filters and emits JSON on stdout', async () => {
    const nc = await connect({ servers: NATS_URL });
    await ensureStream(await jetstreamManager(nc), STREAMS.events, createLogger('test', 'silent'));
    const js = jetstream(nc);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', main, 'tail', '--project', project, '--verdict', 'DENIED', '--not', '--agent', 'other', '--since', '1m', '--json', '--limit', '3'],
      { env: { ...process.env, NATS_URL }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const events = Array.from({ length: 6 }, (_, i) => event(i));
    for (const verdict of ['DENIED', 'ALLOWED'] as const) {
      const batch = events.filter((e) => e.verdict === verdict);
      await js.publish(subjects.events(project, 'agent.α', verdict), batch.map((e) => JSON.stringify(e)).join('\n'));
    }
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    await nc.close();
    expect(code).toBe(0);
    const got = stdout.trim().split('\n').map((l) => JSON.parse(l) as EgressEvent);
    expect(got.map((e) => e.id)).toEqual(['tail:' + process.pid + ':0', 'tail:' + process.pid + ':2', 'tail:' + process.pid + ':4']);
    expect(got.every((e) => e.project === project && e.verdict === 'DENIED')).toBe(true);
  });

  it('stops following by itself once --until (plus the grace for late events) has passed', async () => {
    const nc = await connect({ servers: NATS_URL });
    const js = jetstream(nc);
    const until = Date.now() + 1000;
    const inside = [event(20, { agent: 'until' }), event(22, { agent: 'until' })];
    const late = event(24, { agent: 'until', time: new Date(until + 5000).toISOString() });
    const started = Date.now();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', main, 'tail', '--project', project, '--agent', 'until', '--since', '1m', '--until', new Date(until).toISOString(), '-o', 'json'],
      { env: { ...process.env, NATS_URL }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    await js.publish(subjects.events(project, 'until', 'DENIED'), [...inside, late].map((e) => JSON.stringify(e)).join('\n'));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    await nc.close();
    expect(code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(until + UNTIL_GRACE_MS - started);
    expect(stdout.trim().split('\n').map((l) => (JSON.parse(l) as EgressEvent).id)).toEqual(inside.map((e) => e.id));
  });

  it('refuses --limit abc naming the flag (exit 2) before touching NATS', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', main, 'tail', '--limit', 'abc'], { encoding: 'utf8', env: { ...process.env, NATS_URL } });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/--limit "abc": expected a whole number/);
  });

  it('reads the NDJSON store with a host glob and prints a table', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-tail-'));
    const w = new FileStoreWriter({ dir, maxFileBytes: 1 << 20, retentionMs: 3_600_000 });
    const docs = [event(1), event(2, { dst_host: 'api.github.com' }), event(3, { dst_host: 'x.y.github.com' })];
    await w.write(
      docs.map((e) => ({ source: 'egress' as const, id: e.id, json: JSON.stringify(egressDocument(e, new Date().toISOString())) })),
    );
    await w.close();
    const r = spawnSync(process.execPath, ['--import', 'tsx', main, 'tail', '--from-file', dir, '--host', '*.github.com'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+VERDICT/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('api.github.com:443');
  });
});
