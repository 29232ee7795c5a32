// A sender's trace continues through the receiver (issue 19): a request carrying a W3C traceparent
// is stored in SLUICE_OTLP with a traceparent of the same trace and the receiver's own span as its
// parent, so the sink's span joins the sender's trace. The receiver passes the request's context on
// explicitly (runtime sync-context.ts: no context crosses an await by itself), and this is what
// would break if that hand-off were lost. Tracing is configured the standard way, by OTEL_* variables.
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, storedOtlpMessages, testServer, waitFor, type OtlpReceiver } from '@sluice/testkit';

let nc: NatsConnection;
let rx: OtlpReceiver;

beforeAll(async () => {
  nc = await connect({ servers: testServer('NATS_URL') });
  rx = await startOtlpReceiver({ NATS_URL: testServer('NATS_URL'), OTEL_TRACES_EXPORTER: 'console', OTEL_TRACES_SAMPLER: 'parentbased_always_on', OTLP_SENDER_LOOKUP_TIMEOUT_MS: '200' });
}, 90_000);

afterAll(async () => {
  await rx?.stop();
  await nc?.close();
});

const body = (tag: string) =>
  JSON.stringify({
    resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'traced-sender' } }] }, scopeLogs: [{ logRecords: [{ body: { stringValue: tag }, attributes: [{ key: 'tag', value: { stringValue: tag } }] }] }] }],
  });

describe('otlp-receiver trace context', () => {
  it("continues the sender's traceparent into the stored message, under the receiver's span", async () => {
    const traceId = randomBytes(16).toString('hex');
    const senderSpan = randomBytes(8).toString('hex');
    const traced = await fetch(rx.logsUrl, { method: 'POST', headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${senderSpan}-01` }, body: body('traced') });
    expect(traced.status).toBe(200);
    const untraced = await fetch(rx.logsUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body('untraced') });
    expect(untraced.status).toBe(200);

    const msgs = await waitFor('both requests in SLUICE_OTLP', async () => {
      const m = await storedOtlpMessages(nc, rx.node);
      return m.length >= 2 ? m : undefined;
    });
    const tagOf = (m: (typeof msgs)[number]) => String(m.events[0]?.attributes.tag);
    const t = msgs.find((m) => tagOf(m) === 'traced');
    const u = msgs.find((m) => tagOf(m) === 'untraced');
    const parts = t?.traceparent?.split('-');
    expect(parts?.[1], `traced message's traceparent ${t?.traceparent}`).toBe(traceId);
    // The parent the sink will see is the receiver's span, not the sender's.
    expect(parts?.[2]).toMatch(/^[0-9a-f]{16}$/);
    expect(parts?.[2]).not.toBe(senderSpan);
    expect(parts?.[3]).toBe('01');
    // A request without one starts its own trace at the receiver.
    const up = u?.traceparent?.split('-');
    expect(up?.[1]).toMatch(/^[0-9a-f]{32}$/);
    expect(up?.[1]).not.toBe(traceId);
  }, 60_000);
});
