// sink: writes events to OpenSearch data streams (or NDJSON files).
import { jetstream } from '@nats-io/jetstream';
import { STREAMS } from '@sluice/contracts';
import { runService } from '@sluice/runtime';
import { Backoff, BulkSizer } from './bulk-size.ts';
import { DEFAULT_METRICS_PORT, durationMs, env } from './config.ts';
import { bindings, ensureConsumers, startConsuming } from './consume.ts';
import { dlqPublisher } from './dlq.ts';
import {
  FileStoreWriter,
  ensureIsmPolicy,
  ensureTemplates,
  failoverRetries,
  hasIsmPlugin,
  openSearchClient,
  OpenSearchWriter,
  useEgressScan,
  type DocumentWriter,
} from '@sluice/store';
import { startSelfLifecycle } from './lifecycle.ts';
import { Pipeline } from './pipeline.ts';
import { sinkCounters } from './sink-metrics.ts';

await runService({
  name: 'sink',
  env,
  defaultMetricsPort: DEFAULT_METRICS_PORT,
  start: async ({ config: c, log, metrics, readiness, nc, ensure }) => {
    useEgressScan(c.SINK_EGRESS_SCAN === 'on');
    await ensure.stream(STREAMS.events);
    await ensure.stream(STREAMS.control);
    await ensure.stream(STREAMS.otlp);

    const stops: Array<() => void> = [];
    let writer: DocumentWriter;
    if (c.OPENSEARCH_URL) {
      const client = openSearchClient({ url: c.OPENSEARCH_URL, username: c.OPENSEARCH_USERNAME, password: c.OPENSEARCH_PASSWORD });
      readiness.set('opensearch', false, 'installing templates');
      // Setup retries until OpenSearch answers: the sink may start before it.
      const backoff = new Backoff(500, 10_000);
      for (;;) {
        try {
          await ensureTemplates(client, c.SINK_INDEX_PREFIX, log);
          const settings = { rolloverMaxAge: c.SINK_ROLLOVER_MAX_AGE, rolloverMaxSize: c.SINK_ROLLOVER_MAX_SIZE, retention: c.SINK_RETENTION };
          if (await hasIsmPlugin(client)) {
            await ensureIsmPolicy(client, c.SINK_INDEX_PREFIX, settings, log);
          } else {
            log.info('no index-management plugin: the sink drives rollover and retention itself');
            stops.push(
              startSelfLifecycle(
                client,
                {
                  prefix: c.SINK_INDEX_PREFIX,
                  rolloverMaxAge: c.SINK_ROLLOVER_MAX_AGE,
                  rolloverMaxSize: c.SINK_ROLLOVER_MAX_SIZE,
                  retentionMs: durationMs(c.SINK_RETENTION),
                },
                durationMs(c.SINK_LIFECYCLE_INTERVAL),
                log,
              ),
            );
          }
          break;
        } catch (err) {
          const wait = backoff.next();
          readiness.set('opensearch', false, (err as Error).message);
          log.warn({ err, retryInMs: wait }, 'opensearch setup failed; retrying');
          await new Promise((r) => setTimeout(r, wait));
        }
      }
      readiness.set('opensearch', true, c.OPENSEARCH_URL);
      writer = new OpenSearchWriter(client, c.SINK_INDEX_PREFIX, 30_000, failoverRetries(c.OPENSEARCH_URL));
    } else {
      log.info({ dir: c.SINK_DATA_DIR }, 'no OPENSEARCH_URL: writing the embedded NDJSON store');
      writer = new FileStoreWriter({
        dir: c.SINK_DATA_DIR,
        maxFileBytes: c.SINK_FILE_MAX_BYTES,
        retentionMs: durationMs(c.SINK_RETENTION),
      });
      readiness.set('store', true, c.SINK_DATA_DIR);
    }

    const js = jetstream(nc);
    const list = bindings(c.SINK_CONSUMER_PREFIX, {
      egress: c.SINK_EGRESS_FILTER,
      dns: c.SINK_DNS_FILTER,
      overseer: c.SINK_AUDIT_FILTER,
      otel: c.SINK_OTLP_FILTER,
    });
    const consumeOpts = { ackWaitMs: c.SINK_ACK_WAIT_MS, maxAckPending: c.SINK_MAX_ACK_PENDING };
    await ensureConsumers(nc, list, consumeOpts, log);
    const counters = sinkCounters(metrics.meter);
    // The store is available when every pipeline says so: one recovering must not hide the other still failing.
    const unavailable = new Map<string, string>();
    const availability = (name: string) => (ok: boolean, detail: string) => {
      if (ok) unavailable.delete(name);
      else unavailable.set(name, detail);
      const failing = [...unavailable.values()];
      readiness.set(writer.kind === 'opensearch' ? 'opensearch' : 'store', failing.length === 0, failing[0] ?? detail);
    };
    const pipelineOf = (name: string, concurrency: number, minDocs: number) =>
      new Pipeline({
        writer,
        dlq: dlqPublisher(js, c.SINK_CONSUMER_PREFIX),
        // SINK_BULK_MAX_DOCS stays the cap for both: a smaller one lowers the OTLP floor with it.
        sizer: new BulkSizer({ min: Math.min(minDocs, c.SINK_BULK_MAX_DOCS), max: c.SINK_BULK_MAX_DOCS, targetMs: c.SINK_BULK_TARGET_MS }),
        backoff: new Backoff(200, 10_000),
        concurrency,
        maxBufferedDocs: c.SINK_MAX_BUFFERED_DOCS,
        lingerMs: c.SINK_LINGER_MS,
        keepAliveMs: Math.max(1000, Math.floor(c.SINK_ACK_WAIT_MS / 3)),
        counters,
        log,
        onAvailability: availability(name),
      });
    // The event sources share one pipeline; the OTLP logs get their own (see SINK_OTLP_BULK_CONCURRENCY).
    const pipelines = [
      pipelineOf('events', c.SINK_BULK_CONCURRENCY, c.SINK_BULK_MIN_DOCS),
      pipelineOf('otlp', c.SINK_OTLP_BULK_CONCURRENCY, c.SINK_OTLP_BULK_MIN_DOCS),
    ];
    const opts = { ...consumeOpts, otelStreams: c.SINK_OTEL_STREAMS };
    const stopEvents = await startConsuming(js, list.filter((b) => b.source !== 'otel'), pipelines[0]!, opts, log);
    const stopOtlp = await startConsuming(js, list.filter((b) => b.source === 'otel'), pipelines[1]!, opts, log);
    readiness.set('sink', true, `${writer.kind} writer`);

    return {
      stop: [
        { name: 'stop consuming', run: () => Promise.all([stopEvents(), stopOtlp()]).then(() => undefined) },
        { name: 'lifecycle', run: () => stops.forEach((s) => s()) },
        // Bounded by the service's shutdown timeout; anything still unacked is redelivered.
        { name: 'flush documents', run: () => Promise.all(pipelines.map((p) => p.drain())).then(() => undefined) },
        { name: 'close pipeline', run: () => pipelines.forEach((p) => p.close()) },
        { name: 'close writer', run: () => writer.close() },
      ],
    };
  },
});
