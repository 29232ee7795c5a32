// The common life of a Sluice service: validated config, logger, metrics + health server, NATS,
// the component's own start, and a bounded graceful shutdown. Each service's main.ts calls this
// with its wiring and nothing else.
import { z } from 'zod';
import { commonEnv, ConfigError, parseEnv } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { Readiness, startHealthServer } from './health.ts';
import { connectNats, type NatsConnection } from './nats.ts';
import { jetStreamEnsurer, type JetStreamEnsurer } from './jetstream-ensure.ts';
import { installShutdown, type ShutdownStep } from './shutdown.ts';

export type CommonConfig = z.infer<z.ZodObject<typeof commonEnv>>;

export interface ServiceContext<C> {
  config: CommonConfig & C;
  log: Logger;
  metrics: Metrics;
  readiness: Readiness;
  nc: NatsConnection;
  /** Streams, KV buckets and consumers at the configured replicas, drift reported. */
  ensure: JetStreamEnsurer;
}

export interface Started {
  /** Steps run on shutdown, before NATS is drained (stop consuming, flush outputs). */
  stop: ShutdownStep[];
}

/** Parse common + service variables together so every problem is reported in one go. */
export function loadServiceConfig<S extends z.ZodRawShape>(
  name: string,
  env: S,
  defaultMetricsPort: number,
  source: NodeJS.ProcessEnv = process.env,
): CommonConfig & z.infer<z.ZodObject<S>> {
  const shape = { ...commonEnv, METRICS_PORT: commonEnv.METRICS_PORT.default(defaultMetricsPort), ...env };
  return parseEnv(name, shape, source) as CommonConfig & z.infer<z.ZodObject<S>>;
}

export async function runService<S extends z.ZodRawShape>(opts: {
  name: string;
  env: S;
  defaultMetricsPort: number;
  start: (ctx: ServiceContext<z.infer<z.ZodObject<S>>>) => Promise<Started>;
}): Promise<void> {
  let config: CommonConfig & z.infer<z.ZodObject<S>>;
  try {
    config = loadServiceConfig(opts.name, opts.env, opts.defaultMetricsPort);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(opts.name, config.LOG_LEVEL);
  const metrics = createMetrics(opts.name, config.NODE_NAME);
  const readiness = new Readiness();
  readiness.set('nats', false, 'connecting');
  const health = await startHealthServer({
    host: config.METRICS_HOST,
    port: config.METRICS_PORT,
    service: opts.name,
    readiness,
    metrics,
  });
  log.info({ port: health.port }, 'health and metrics listening');

  let nc: NatsConnection | undefined;
  let started: Started = { stop: [] };
  const shutdown = installShutdown(log, config.SHUTDOWN_TIMEOUT_MS, () => [
    ...started.stop,
    { name: 'nats drain', run: async () => void (await nc?.drain()) },
    { name: 'metrics', run: () => metrics.shutdown() },
    { name: 'health server', run: () => health.close() },
  ]);
  // A rejection nobody handled means some loop or request is in a state no code planned for:
  // stop (bounded, through the same steps as a signal) and let the supervisor restart us, rather
  // than run on half-broken while looking healthy.
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled rejection; stopping');
    void shutdown(1);
  });

  // Not ready until the component's own start finished (its consumers and APIs exist), whatever
  // checks it sets meanwhile: callers that wait for /readyz may use it at once.
  readiness.set('started', false, 'starting');
  nc = await connectNats(config.NATS_URL, `${opts.name}@${config.NODE_NAME}`, log, {
    user: config.NATS_USER,
    pass: config.NATS_PASSWORD,
  });
  readiness.set('nats', true, nc.getServer());
  const ensure = jetStreamEnsurer(nc, {
    streamReplicas: config.STREAM_REPLICAS,
    kvReplicas: config.KV_REPLICAS,
    log,
    meter: metrics.meter,
  });
  started = await opts.start({ config, log, metrics, readiness, nc, ensure });
  readiness.set('started', true, 'started');
  log.info('ready');
}
