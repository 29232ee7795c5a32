// Issue 19, "must show": one raw batch's trace spans reader → attributor → sink and learner in the
// spans a real OpenTelemetry Collector received (its standard OTLP receiver; the debug exporter
// prints them). Real kernel programs under a private scope deny a connect; the real bpf-reader
// publishes the record in a raw batch (root span, trace context into the NATS headers); the real
// attributor continues the trace and carries it into the event message; the real sink's span closes
// it when the document is stored, and the real learner's span, a sibling under the attributor's,
// when it has read the same event message. Every service is configured only by the standard OTEL_* variables.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeToken, subjects } from '@sluice/contracts';
import { AttributorHarness, freePort, startOtelCollector, startReader, startService, stopService, waitFor, waitReady, type ExportedSpan, type OtelCollector, type Reader, type ServiceProcess } from '@sluice/testkit';
import { probe } from './kernel/exec.ts';
import { Sandbox } from './kernel/sandbox.ts';

const h = new AttributorHarness();
const sb = new Sandbox('trace');
const dir = mkdtempSync(join(tmpdir(), 'trace-test-'));
const project = `trace-${h.run}`;
let collector: OtelCollector | undefined;
let reader: Reader | undefined;
let attributor: ServiceProcess | undefined;
let sink: ServiceProcess | undefined;
let learner: ServiceProcess | undefined;

beforeAll(async () => {
  collector = await startOtelCollector();
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_TRACES_SAMPLER: 'always_on', OTEL_BSP_SCHEDULE_DELAY: '200' };
  await sb.setup(); // no policy: the default denies every connect in the scope
  await h.setup();
  reader = await startReader({ NATS_URL: h.natsUrl, NODE_NAME: h.node, SLUICE_BPF_PIN: sb.pin, READER_STATE_DIR: join(dir, 'reader'), READER_BATCH_MS: '20', ...otel });
  attributor = h.startAttributor(otel);
  await waitReady(attributor, h.metricsPort, 'attributor');
  const sinkPort = await freePort();
  sink = startService('sink', {
    NATS_URL: h.natsUrl,
    METRICS_PORT: String(sinkPort),
    NODE_NAME: h.node,
    SINK_DATA_DIR: join(dir, 'sink'),
    SINK_CONSUMER_PREFIX: `trace-${h.run}`,
    SINK_EGRESS_FILTER: `sluice.events.${encodeToken(project)}.>`,
    SINK_DNS_FILTER: subjects.dns(project, 'none'),
    SINK_AUDIT_FILTER: subjects.audit(`trace_${h.run.replace(/-/g, '')}`),
    SINK_OTLP_FILTER: subjects.otlpLogs(`trace-${h.run}`),
    ...otel,
  });
  await waitReady(sink, sinkPort, 'sink');
  const learnerPort = await freePort();
  learner = startService('learner', {
    NATS_URL: h.natsUrl,
    REDIS_URL: h.redisUrl,
    METRICS_PORT: String(learnerPort),
    NODE_NAME: h.node,
    LEARNER_KEY_PREFIX: `sluice:trace:${h.run}:`,
    LEARNER_DURABLE: `trace-${h.run}`,
    LEARNER_FILTER: `sluice.events.${encodeToken(project)}.>`,
    LEARNER_DENIALS: 'off',
    ...otel,
  });
  await waitReady(learner, learnerPort, 'learner');
}, 900_000);

afterAll(async () => {
  if (sink) await stopService(sink, 8000);
  if (learner) await stopService(learner, 8000);
  if (attributor) await stopService(attributor, 8000);
  if (reader) await reader.stop();
  await h.teardown();
  await sb.teardown();
  await collector?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('traces through Sluice', () => {
  it("one raw batch's trace: reader publish → attributor → sink store and learner record, exported to the collector", async () => {
    const cg = sb.cgroup('traced');
    expect(await h.register({ cgroup_path: cg.path.slice(h.mount.length), agent: 'tracer', project })).toMatchObject({ ok: true });
    const [r] = await probe(cg.path, 'connect', '198.51.100.7', 8080);
    expect(r!.ok).toBe(false);

    const chain = await waitFor(
      'a reader → attributor → sink + learner span tree in one trace',
      async () => {
        const spans = collector!.spans();
        const byId = new Map(spans.map((s) => [s.id, s]));
        for (const store of spans.filter((s) => s.name === 'sluice.sink store' && s.service === 'sink')) {
          const attribute = byId.get(store.parentId);
          if (attribute?.name !== 'sluice.attribute batch' || attribute.service !== 'attributor') continue;
          const publish = byId.get(attribute.parentId);
          if (publish?.name !== 'sluice.raw publish' || publish.service !== 'bpf-reader') continue;
          // The same event message, read by the learner's own consumer: its span hangs off the same attributor span.
          const learn = spans.find((s) => s.name === 'sluice.learn record' && s.service === 'learner' && s.parentId === attribute.id);
          if (!learn) continue;
          return [publish, attribute, store, learn] as ExportedSpan[];
        }
        return undefined;
      },
      60_000,
    ).catch((err: unknown) => {
      console.error(collector!.spans().map((s) => `${s.service} ${s.name} ${s.traceId} ${s.parentId}->${s.id}`).join('\n'));
      console.error(reader!.proc.stderr().slice(-2000), attributor!.stderr().slice(-2000), sink!.stderr().slice(-2000), learner!.stderr().slice(-2000));
      throw err;
    });
    const [publish, attribute, store, learn] = chain;
    expect(new Set(chain.map((s) => s.traceId)).size).toBe(1);
    expect(publish!.parentId).toBe('');
    expect(publish!.kind).toBe('Producer');
    expect([attribute!.kind, store!.kind, learn!.kind]).toEqual(['Consumer', 'Consumer', 'Consumer']);
  }, 120_000);
});
