// otlp-receiver: agents' own telemetry (OTLP/HTTP logs) into SLUICE_OTLP, attributed at the
// source and with prompt content dropped.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jetstream } from '@nats-io/jetstream';
import { IDENTITY_API, STREAMS, subjects } from '@sluice/contracts';
import { request, runService } from '@sluice/runtime';
import { DEFAULT_METRICS_PORT, env } from './config.ts';
import { createLogsHandler } from './handler.ts';
import { receiverMetrics } from './metrics.ts';
import { SenderRateLimit } from './rate-limit.ts';
import { Redactor } from './redact.ts';
import { SenderLookup } from './sender-lookup.ts';

await runService({
  name: 'otlp-receiver',
  env,
  defaultMetricsPort: DEFAULT_METRICS_PORT,
  start: async ({ config: c, log, metrics: m, readiness, nc, ensure }) => {
    // Through the service's ensure: STREAM_REPLICAS and placement drift apply here as everywhere.
    await ensure.stream(STREAMS.otlp);
    const js = jetstream(nc);
    const metrics = receiverMetrics(m.meter);
    const senders = new SenderLookup(
      (ip) => request(nc, IDENTITY_API, 'lookup', { node: c.NODE_NAME, ip }, { timeoutMs: c.OTLP_SENDER_LOOKUP_TIMEOUT_MS }),
      { ttlMs: c.OTLP_SENDER_CACHE_MS, maxEntries: 4096 },
      (ip, err) => {
        metrics.lookupFailed();
        log.warn({ ip, err: err.message }, 'sender lookup failed; its records stay unattributed unless the resource names them');
      },
    );
    const handler = createLogsHandler({
      node: c.NODE_NAME,
      subject: subjects.otlpLogs(c.NODE_NAME),
      maxBodyBytes: c.OTLP_MAX_BODY_BYTES,
      maxMessageBytes: c.OTLP_MAX_MESSAGE_BYTES,
      publisher: js,
      resolveSender: (ip) => senders.resolve(ip),
      rateLimit: new SenderRateLimit({ perSecond: c.OTLP_RATE_PER_SENDER, burst: c.OTLP_RATE_BURST, maxSenders: c.OTLP_RATE_MAX_SENDERS }),
      redactor: new Redactor(c.OTLP_DROP_ATTRIBUTES),
      contentEvents: new Set(c.OTLP_CONTENT_EVENTS),
      keys: { agent: c.OTLP_AGENT_ATTRIBUTES, project: c.OTLP_PROJECT_ATTRIBUTES },
      metrics,
      log,
    });
    const server = createServer(handler);
    // Exporters send a request at a time per connection and keep it open between batches.
    server.keepAliveTimeout = 30_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(c.OTLP_PORT, c.OTLP_HOST, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    readiness.set('otlp', true, `http://${c.OTLP_HOST}:${port}/v1/logs`);
    log.info({ host: c.OTLP_HOST, port, maxBodyBytes: c.OTLP_MAX_BODY_BYTES }, 'OTLP/HTTP logs receiver listening');
    return {
      stop: [
        {
          name: 'otlp listener',
          // In-flight requests finish (their publishes are awaited); new ones are refused.
          run: () =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeIdleConnections();
            }),
        },
      ],
    };
  },
});
