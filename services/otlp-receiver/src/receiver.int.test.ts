// The receiver on a real NATS JetStream, driven over real HTTP: a real OTLP client (the OTel SDK's
// protobuf log exporter) and OTLP/JSON are accepted and stored; malformed, oversized, wrongly-typed
// and over-rate requests each get their status and are counted by reason, and everything answered
// 200 before, between and after them is in SLUICE_OTLP, once.
import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrape, metricValue, startOtlpReceiver, storedOtlpEvents, testServer, waitFor, type OtlpReceiver } from '@sluice/testkit';
import { ExportLogsServiceRequest, RpcStatus } from './proto.ts';

let nc: NatsConnection;
let rx: OtlpReceiver;

beforeAll(async () => {
  nc = await connect({ servers: testServer('NATS_URL') });
  rx = await startOtlpReceiver({
    NATS_URL: testServer('NATS_URL'),
    OTLP_MAX_BODY_BYTES: String(64 * 1024),
    OTLP_MAX_MESSAGE_BYTES: String(4 * 1024),
    // Refill 1 record/s: over the test's few seconds the burst is all there is.
    OTLP_RATE_PER_SENDER: '1',
    OTLP_RATE_BURST: '400',
    OTLP_SENDER_LOOKUP_TIMEOUT_MS: '200',
  });
}, 90_000);

afterAll(async () => {
  await rx?.stop();
  await nc?.close();
});

const jsonBody = (n: number, tag: string) => ({
  resourceLogs: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'json-sender' } }] },
      scopeLogs: [
        {
          logRecords: Array.from({ length: n }, (_, i) => ({
            timeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
            body: { stringValue: `${tag} ${i}` },
            attributes: [{ key: 'tag', value: { stringValue: tag } }],
          })),
        },
      ],
    },
  ],
});

async function post(body: Buffer | string, headers: Record<string, string>): Promise<{ status: number; body: Buffer; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(rx.logsUrl, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('otlp-receiver over HTTP and JetStream', () => {
  it('takes a real SDK exporter batch (protobuf) and OTLP/JSON, gzip or not; refuses bad input by status; loses nothing accepted', async () => {
    // 1. The OTel SDK's standard OTLP/HTTP protobuf exporter.
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'sdk-sender' }),
      processors: [new SimpleLogRecordProcessor(new OTLPLogExporter({ url: rx.logsUrl }))],
    });
    const logger = provider.getLogger('int-test');
    for (let i = 0; i < 5; i++) logger.emit({ body: `sdk ${i}`, attributes: { prompt: 'do not keep me', i } });
    await provider.forceFlush();
    await provider.shutdown();

    // 2. OTLP/JSON, plain and gzip; protobuf gzip.
    const ok1 = await post(JSON.stringify(jsonBody(3, 'json-a')), { 'content-type': 'application/json' });
    expect(ok1.status).toBe(200);
    expect(JSON.parse(ok1.body.toString())).toEqual({});
    const ok2 = await post(gzipSync(JSON.stringify(jsonBody(40, 'json-gz'))), { 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'gzip' });
    expect(ok2.status).toBe(200);
    const pb = Buffer.from(ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject(jsonBody(2, 'pb-gz'))).finish());
    const ok3 = await post(gzipSync(pb), { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
    expect(ok3.status).toBe(200);

    // 3. Bad input, each with its status and a google.rpc.Status body.
    const malformedPb = await post(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]), { 'content-type': 'application/x-protobuf' });
    expect(malformedPb.status).toBe(400);
    expect(RpcStatus.toObject(RpcStatus.decode(malformedPb.body))).toMatchObject({ code: 3, message: expect.stringMatching(/^protobuf:/) });
    const malformedJson = await post('{"resourceLogs": [', { 'content-type': 'application/json' });
    expect(malformedJson.status).toBe(400);
    expect(JSON.parse(malformedJson.body.toString())).toMatchObject({ code: 3, message: expect.stringMatching(/^json:/) });
    expect((await post('{"resourceLogs":"x"}', { 'content-type': 'application/json' })).status).toBe(400);
    expect((await post(Buffer.from('not gzip'), { 'content-type': 'application/json', 'content-encoding': 'gzip' })).status).toBe(400);
    const wrongType = await post(JSON.stringify(jsonBody(1, 'never')), { 'content-type': 'text/plain' });
    expect(wrongType.status).toBe(415);
    expect(wrongType.body.toString()).toMatch(/application\/x-protobuf or application\/json/);
    expect((await post(JSON.stringify(jsonBody(1, 'never')), { 'content-type': 'application/json', 'content-encoding': 'br' })).status).toBe(415);
    const tooBig = await post(JSON.stringify(jsonBody(1000, 'never')), { 'content-type': 'application/json' });
    expect(tooBig.status).toBe(413);
    // A gzip bomb: small on the wire, over the limit once inflated.
    const bomb = gzipSync(Buffer.alloc(1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect((await post(bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' })).status).toBe(413);
    const get = await fetch(rx.logsUrl);
    expect(get.status).toBe(405);
    expect((await fetch(rx.logsUrl.replace('/v1/logs', '/v1/traces'), { method: 'POST' })).status).toBe(404);

    // 4. Over the sender's rate: 50 records so far, 360 more overspend the burst (400); the next request is refused with Retry-After.
    expect((await post(JSON.stringify(jsonBody(360, 'burst')), { 'content-type': 'application/json' })).status).toBe(200);
    const limited = await post(JSON.stringify(jsonBody(5, 'never')), { 'content-type': 'application/json' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    // 5. Everything answered 200 is stored once; nothing refused is.
    const want = { sdk: 5, 'json-a': 3, 'json-gz': 40, 'pb-gz': 2, burst: 360 };
    const total = Object.values(want).reduce((a, b) => a + b, 0);
    const stored = await waitFor('accepted records in SLUICE_OTLP', async () => {
      const evs = await storedOtlpEvents(nc, rx.node);
      return evs.length >= total ? evs : undefined;
    });
    expect(stored).toHaveLength(total);
    expect(new Set(stored.map((e) => e.id)).size).toBe(total);
    const tagOf = (e: (typeof stored)[number]) => (e.service_name === 'sdk-sender' ? 'sdk' : String(e.attributes.tag));
    const byTag: Record<string, number> = {};
    for (const e of stored) byTag[tagOf(e)] = (byTag[tagOf(e)] ?? 0) + 1;
    expect(byTag).toEqual(want);
    // D28 on the SDK's records; attribution: no attributor answers here, so unknown, not made up.
    const sdk = stored.filter((e) => e.service_name === 'sdk-sender');
    for (const e of sdk) {
      expect(e.attributes.prompt).toBeUndefined();
      expect(e.redacted).toEqual(['prompt']);
      expect(e.attribution).toBe('unknown');
      expect(e.agent).toBeUndefined();
    }
    expect(JSON.stringify(stored)).not.toContain('do not keep me');

    const m = await scrape(rx.metricsPort);
    const refused = (reason: string) => metricValue(m, 'sluice_otlp_refused_total', { reason });
    expect({
      malformed: refused('malformed'),
      unsupported_media_type: refused('unsupported_media_type'),
      unsupported_encoding: refused('unsupported_encoding'),
      too_large: refused('too_large'),
      rate_limited: refused('rate_limited'),
      method_not_allowed: refused('method_not_allowed'),
      not_found: refused('not_found'),
    }).toEqual({ malformed: 4, unsupported_media_type: 1, unsupported_encoding: 1, too_large: 2, rate_limited: 1, method_not_allowed: 1, not_found: 1 });
    expect(metricValue(m, 'sluice_otlp_records_total')).toBe(total);
    expect(metricValue(m, 'sluice_otlp_redacted_total', { attribute: 'prompt' })).toBe(5);
  }, 120_000);
});
