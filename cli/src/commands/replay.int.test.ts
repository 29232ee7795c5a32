// `sluice replay` over a real JetStream range, to a file, a subject and the real OpenSearch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { STREAMS, subjects, type EgressEvent } from '@sluice/contracts';
import { createLogger, ensureStream } from '@sluice/runtime';
import { testServer } from '@sluice/testkit';

const main = fileURLToPath(new URL('../main.ts', import.meta.url));
const NATS_URL = testServer('NATS_URL');
const OPENSEARCH_URL = testServer('OPENSEARCH_URL');
const tag = `${process.pid}${Date.now() % 100000}`;
const project = `replay-${tag}`;
let nc: NatsConnection;
let firstSeq = 0;
let lastSeq = 0;
const BATCHES = 20;
const PER_BATCH = 25;

function sluice(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NATS_URL, OPENSEARCH_URL },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  nc = await connect({ servers: NATS_URL });
  await ensureStream(await jetstreamManager(nc), STREAMS.events, createLogger('test', 'silent'));
  const js = jetstream(nc);
  for (let b = 0; b < BATCHES; b++) {
    const lines: string[] = [];
    for (let i = 0; i < PER_BATCH; i++) {
      const e: EgressEvent = {
        id: `replay:${tag}:${b * PER_BATCH + i}`,
        time: new Date(Date.now() - 60_000 + b * 100 + i).toISOString(),
        node: 'replay-node',
        kind: 'connect',
        verdict: 'DENIED',
        audit: false,
        reason: 'default',
        rule_id: 0,
        cgroup_id: '77',
        pid: 1,
        comm: 'curl',
        family: 'ipv4',
        l4_proto: 'tcp',
        dst_ip: '10.1.2.3',
        dst_port: 443,
        attribution: 'docker',
        project,
        agent: 'a',
      };
      lines.push(JSON.stringify(e));
    }
    const ack = await js.publish(subjects.events(project, 'a', 'DENIED'), lines.join('\n'));
    if (b === 0) firstSeq = ack.seq;
    lastSeq = ack.seq;
  }
});

afterAll(async () => {
  await fetch(`${OPENSEARCH_URL}/_data_stream/replaytest-${tag}-*`, { method: 'DELETE' });
  await fetch(`${OPENSEARCH_URL}/_index_template/replaytest-${tag}-*`, { method: 'DELETE' });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(`REPLAY_${tag}`).catch(() => undefined);
  await nc.close();
});

describe('sluice replay', () => {
  it('writes a sequence range to a file, every message once, with progress on stderr', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'replay-')), 'out.ndjson');
    const r = sluice('replay', '--stream', STREAMS.events.name, '--from', String(firstSeq), '--to', String(firstSeq + 4), '--to-file', file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/replay SLUICE_EVENTS \[#+\s*\] 100% 5\/5/);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; data: string });
    expect(lines.map((l) => l.seq)).toEqual([0, 1, 2, 3, 4].map((i) => firstSeq + i));
    expect(JSON.parse(lines[0]!.data.split('\n')[0]!).id).toBe(`replay:${tag}:0`);
    expect(JSON.parse(r.stdout)).toMatchObject({ messages: 5, last_seq: firstSeq + 4 });
  });

  it('republishes to a subject idempotently', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: `REPLAY_${tag}`, subjects: [`replaytest.${tag}.>`] });
    for (let i = 0; i < 2; i++) {
      const r = sluice('replay', '--stream', STREAMS.events.name, '--from', String(firstSeq), '--to', String(lastSeq), '--to-subject', `replaytest.${tag}.copy`);
      expect(r.code, r.stderr).toBe(0);
    }
    const info = await jsm.streams.info(`REPLAY_${tag}`);
    expect(info.state.messages).toBe(BATCHES);
  });

  it('re-indexes into a fresh data stream with identical counts, and a second replay adds nothing', async () => {
    const prefix = `replaytest-${tag}-`;
    const args = ['replay', '--stream', STREAMS.events.name, '--from', String(firstSeq), '--to', String(lastSeq), '--to-sink', '--prefix', prefix];
    const first = sluice(...args);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ messages: BATCHES, created: BATCHES * PER_BATCH, duplicates: 0, rejected: 0 });
    const count = async () =>
      ((await (await fetch(`${OPENSEARCH_URL}/${prefix}egress/_count?q=attributes.project:${project}`)).json()) as { count: number }).count;
    expect(await count()).toBe(BATCHES * PER_BATCH);
    const second = sluice(...args);
    expect(JSON.parse(second.stdout)).toMatchObject({ created: 0, duplicates: BATCHES * PER_BATCH });
    expect(await count()).toBe(BATCHES * PER_BATCH);
  });

  it('rejects a bad range naming the flag', () => {
    const r = sluice('replay', '--stream', STREAMS.events.name, '--from', 'last tuesday', '--to-file', '/dev/null');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--from "last tuesday"');
  });
});
