// The whole path with real connects: labelled containers (under a test scope with the real BPF
// programs attached) connect from inside; the kernel denies and records; the real bpf-reader
// publishes SLUICE_RAW; the attributor turns the records into events carrying the exact labels.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressEvent } from '@sluice/contracts';
import { Sandbox } from '../../../test/kernel/sandbox.ts';
import { stopService, waitFor, type ServiceProcess } from '../../../test/lib/service-process.ts';
import { startReader, type Reader } from '../../bpf-reader/src/testing/reader-process.ts';
import { Harness, NATS_URL } from './attributor-harness.ts';

const h = new Harness();
const sb = new Sandbox('attr-e2e');
const state = mkdtempSync(join(tmpdir(), 'attr-e2e-reader-'));
let reader: Reader | undefined;
let attributor: ServiceProcess | undefined;

const labelSets = [
  { agent: 'e2e.agent.one', project: `e2e.proj ${h.run}` },
  { agent: 'агент ✓ two', project: `e2e ✓ ${h.run}` },
];

beforeAll(async () => {
  await sb.setup(); // no policy applied: the default denies every connect (fail closed)
  await h.setup();
  reader = await startReader({ NATS_URL, NODE_NAME: h.node, SLUICE_BPF_PIN: sb.pin, READER_STATE_DIR: state, READER_BATCH_MS: '20' });
  attributor = h.startAttributor();
  await waitFor('attributor ready', async () => ((await fetch(`http://127.0.0.1:${h.metricsPort}/readyz`).catch(() => undefined))?.ok ? true : undefined));
});

afterAll(async () => {
  if (attributor) await stopService(attributor, 8000);
  if (reader) await reader.stop();
  await h.teardown(); // containers first: their cgroups live under the sandbox scope
  await sb.teardown();
  rmSync(state, { recursive: true, force: true });
});

describe('attributor end to end (real kernel, reader, Docker)', () => {
  it('connects made inside labelled containers become DENIED events with their exact labels and container id', async () => {
    const scope = sb.scope.slice(h.mount.length);
    const cs = await Promise.all(
      labelSets.map((l) => h.runContainer({ 'dev.clawker.agent': l.agent, 'dev.clawker.project': l.project }, { cgroupParent: scope })),
    );
    for (const c of cs) {
      // busybox nc: a plain TCP connect (the static busybox's wget crashes in this image).
      const r = await h.exec(c.id, ['nc', '-w', '2', '198.51.100.7', '8080']);
      expect(r.output).toMatch(/not permitted|refused|timed out|^$/i);
    }
    const events = await waitFor(
      'one DENIED event per container',
      async () => {
        const evs = h.events.map((l) => EgressEvent.safeParse(l.doc)).flatMap((r) => (r.success ? [r.data] : []));
        const per = cs.map((c) => evs.filter((e) => e.container_id === c.id && e.dst_ip === '198.51.100.7'));
        return per.every((p) => p.length > 0) ? per : undefined;
      },
      30_000,
    ).catch(async (err: unknown) => {
      console.error('events seen:', JSON.stringify(h.events.slice(0, 5), null, 1));
      console.error((await reader!.metrics()).split('\n').filter((l) => /^sluice_(events|reader)/.test(l)).join('\n'));
      console.error(attributor!.stderr().slice(-3000));
      console.error(reader!.proc.stderr().slice(-2000));
      throw err;
    });
    events.forEach((evs, i) => {
      for (const e of evs) {
        expect(e).toMatchObject({
          attribution: 'docker',
          agent: labelSets[i]!.agent,
          project: labelSets[i]!.project,
          container_id: cs[i]!.id,
          cgroup_id: cs[i]!.cgroupId.toString(),
          verdict: 'DENIED',
          reason: 'default',
          dst_port: 8080,
          comm: 'nc',
        });
        expect(Math.abs(Date.parse(e.time) - Date.now())).toBeLessThan(120_000); // wall time from the boot clock
      }
    });
  });
});
