// Issue 19, "must show": a real OTLP client (the OTel SDK's standard OTLP/HTTP protobuf log
// exporter) sends Claude-Code-shaped logs from inside labelled agent containers without any
// agent/project attributes. The whole path is real: the receiver resolves each request's source IP
// through the real attributor (Docker labels, its IP index), publishes into JetStream, the real sink
// writes OpenSearch. Documents land in the sender's own data stream (`claude` for claude-code,
// `otel-<service>` for another) with the container's exact labels, and no prompt text anywhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjects } from '@sluice/contracts';
import {
  AttributorHarness,
  bridgeGateway,
  closeSlice,
  ensureNodeImage,
  openSlice,
  scrape,
  metricValue,
  startOtlpAgent,
  startOtlpReceiver,
  startSink,
  stopService,
  waitFor,
  freePort,
  type OtlpReceiver,
  type ServiceProcess,
  type Slice,
} from '@sluice/testkit';

const h = new AttributorHarness();
let s: Slice;
let sink: ServiceProcess | undefined;
let attributor: ServiceProcess | undefined;
let rx: OtlpReceiver | undefined;
let image: string;
let gateway: string;

const agents = [
  { labels: { 'dev.clawker.agent': 'claude ✓ one', 'dev.clawker.project': `otlp e2e.${h.run}` }, service: 'claude-code', stream: 'claude' },
  { labels: { 'dev.clawker.agent': 'tool.agent two', 'dev.clawker.project': `otlp e2e.${h.run}` }, service: 'E2E Tool', stream: 'otel-e2e-tool' },
];
const PER_AGENT = 4; // user_prompt + api_request per round: 8 documents each

beforeAll(async () => {
  await h.setup();
  image = await ensureNodeImage(h.docker);
  gateway = await bridgeGateway(h.docker);
  attributor = h.startAttributor();
  await waitFor('attributor ready', async () => ((await fetch(`http://127.0.0.1:${h.metricsPort}/readyz`).catch(() => undefined))?.ok ? true : undefined));
  s = await openSlice('otlpe2e');
  // The receiver runs under the attributor's node (lookups name it) and publishes where the slice's sink reads.
  rx = await startOtlpReceiver({ NATS_URL: h.natsUrl, NODE_NAME: h.node, OTLP_HOST: '0.0.0.0' });
  sink = await startSink(s, await freePort(), { SINK_OTLP_FILTER: subjects.otlpLogs(h.node) });
}, 600_000);

afterAll(async () => {
  if (rx) await rx.stop();
  if (sink) await stopService(sink, 8000);
  if (attributor) await stopService(attributor, 8000);
  await h.teardown();
  if (s) await closeSlice(s);
}, 60_000);

describe('OTLP logs from agent containers, end to end', () => {
  it('land in their own data streams with the sending container exact labels, prompt content gone', async () => {
    const started = await Promise.all(
      agents.map((a) =>
        startOtlpAgent(h.docker, {
          image,
          labels: { ...a.labels, 'sluice.test': h.run },
          env: { OTLP_LOGS_URL: `http://${gateway}:${rx!.otlpPort}/v1/logs`, SERVICE_NAME: a.service, COUNT: String(PER_AGENT), TAG: h.run },
        }),
      ),
    );
    // A long-running agent is known to the attributor before it sends: wait for that, then let them go.
    for (const c of started) {
      await waitFor(`attributor knows ${c.ip}`, async () => ((await h.request('lookup', { node: h.node, ip: c.ip })).identity ? true : undefined), 30_000);
    }
    const runs = await Promise.all(started.map((c) => c.go()));
    for (const r of runs) expect(r.exitCode, r.logs).toBe(0);

    for (const [i, a] of agents.entries()) {
      const index = `${s.prefix}${a.stream}`;
      const hits = await waitFor(
        `${PER_AGENT * 2} documents in ${index}`,
        async () => {
          await s.os.indices.refresh({ index }).catch(() => undefined);
          const r = await s.os.search({ index, body: { size: 100, query: { term: { 'attributes.container_id': runs[i]!.id } } } } as never).catch(() => undefined);
          const docs = ((r?.body as { hits?: { hits?: Array<{ _source: Record<string, any> }> } } | undefined)?.hits?.hits ?? []).map((x) => x._source);
          return docs.length >= PER_AGENT * 2 ? docs : undefined;
        },
        120_000,
      ).catch(async (err: unknown) => {
        console.error(await scrape(rx!.metricsPort));
        console.error(rx!.proc.stderr().slice(-3000), sink!.stderr().slice(-3000));
        throw err;
      });
      expect(hits).toHaveLength(PER_AGENT * 2);
      for (const d of hits) {
        // The container's labels, exactly, found by its source IP: the sender set none.
        expect(d.attributes).toMatchObject({
          attribution: 'docker',
          agent: a.labels['dev.clawker.agent'],
          project: a.labels['dev.clawker.project'],
          container_id: runs[i]!.id,
          source_ip: runs[i]!.ip,
          service_name: a.service,
          'session.id': `${h.run}-session`,
        });
        expect(d.resource.attributes['service.name']).toBe(a.service);
        expect(d.attributes.prompt).toBeUndefined();
        expect(JSON.stringify(d)).not.toContain('SECRET PROMPT');
      }
      const prompts = hits.filter((d) => d.attributes['event.name'] === 'user_prompt');
      const requests = hits.filter((d) => d.attributes['event.name'] === 'api_request');
      expect(prompts).toHaveLength(PER_AGENT);
      for (const d of prompts) {
        expect(d.attributes.redacted).toEqual(['prompt']);
        expect(d.attributes.prompt_length).toBe(17);
      }
      // Tool decisions, costs, tokens, models are kept.
      for (const d of requests) expect(d.attributes).toMatchObject({ model: 'claude-sonnet-4', cost_usd: 0.0125, input_tokens: 1200, output_tokens: 345 });
    }
    // Searchable by the typed mapping (keyword on the label, double on cost) in the claude stream.
    const claude = `${s.prefix}claude`;
    const byLabel = await s.os.count({ index: claude, body: { query: { bool: { filter: [{ term: { 'attributes.agent': agents[0]!.labels['dev.clawker.agent'] } }, { range: { 'attributes.cost_usd': { gt: 0.01 } } }] } } } } as never);
    expect((byLabel.body as { count: number }).count).toBe(PER_AGENT);
    const m = await scrape(rx!.metricsPort);
    expect(metricValue(m, 'sluice_otlp_records_total', { attribution: 'docker' })).toBe(PER_AGENT * 2 * agents.length);
    expect(metricValue(m, 'sluice_otlp_redacted_total', { attribute: 'prompt' })).toBe(PER_AGENT * agents.length);
  }, 300_000);
});
