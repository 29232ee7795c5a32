// The otlp-receiver as a real child process on private ports and a node name of its own (so its
// subject sluice.otlp.logs.<node> is this test's alone), and the records it stored, read back from
// SLUICE_OTLP.
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { OtlpLogEvent, STREAMS, subjects } from '@sluice/contracts';
import { freePort } from './free-port.ts';
import { startService, stopService, waitReady, type ServiceProcess } from './service-process.ts';

export interface OtlpReceiver {
  proc: ServiceProcess;
  node: string;
  otlpPort: number;
  metricsPort: number;
  /** http://<host>:<port>/v1/logs as seen from this process. */
  logsUrl: string;
  stop(): Promise<void>;
}

export async function startOtlpReceiver(env: Record<string, string>): Promise<OtlpReceiver> {
  const otlpPort = await freePort();
  const metricsPort = await freePort();
  const node = env.NODE_NAME ?? `otlp-${Math.random().toString(36).slice(2, 10)}`;
  const proc = startService('otlp-receiver', {
    LOG_LEVEL: 'info',
    OTLP_HOST: '127.0.0.1',
    ...env,
    NODE_NAME: node,
    OTLP_PORT: String(otlpPort),
    METRICS_PORT: String(metricsPort),
  });
  await waitReady(proc, metricsPort, 'otlp-receiver');
  return {
    proc,
    node,
    otlpPort,
    metricsPort,
    logsUrl: `http://127.0.0.1:${otlpPort}/v1/logs`,
    stop: async () => void (await stopService(proc, 8000)),
  };
}

/** Every record stored for `node` so far (an ordered consumer over its subject). */
export async function storedOtlpEvents(nc: NatsConnection, node: string): Promise<OtlpLogEvent[]> {
  return (await storedOtlpMessages(nc, node)).flatMap((m) => m.events);
}

/** Every SLUICE_OTLP message of a node: its events and the W3C trace context its headers carry. */
export async function storedOtlpMessages(nc: NatsConnection, node: string): Promise<Array<{ traceparent: string | undefined; events: OtlpLogEvent[] }>> {
  const jsm = await jetstreamManager(nc);
  const subject = subjects.otlpLogs(node);
  const info = await jsm.streams.info(STREAMS.otlp.name, { subjects_filter: subject });
  const pending = info.state.subjects?.[subject] ?? 0;
  if (pending === 0) return [];
  // One filter as a string: the Debian NATS server (2.9) predates multi-filter consumers.
  const consumer = await jetstream(nc).consumers.get(STREAMS.otlp.name, { filter_subjects: subject, deliver_policy: DeliverPolicy.All });
  const out: Array<{ traceparent: string | undefined; events: OtlpLogEvent[] }> = [];
  const msgs = await consumer.fetch({ max_messages: pending, expires: 5000 });
  for await (const m of msgs) {
    const events = m.string().split('\n').filter((l) => l !== '').map((l) => OtlpLogEvent.parse(JSON.parse(l)));
    out.push({ traceparent: m.headers?.get('traceparent') || undefined, events });
  }
  return out;
}
