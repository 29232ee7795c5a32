import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from './logger.ts';
import { natsServers } from './config.ts';

export type { NatsConnection };

/**
 * Connect with unlimited reconnects: a service outlives a NATS restart and buffers meanwhile.
 * The first connect also retries (waitOnFirstConnect) so start order in compose does not matter.
 */
export interface NatsAuth {
  user?: string | undefined;
  pass?: string | undefined;
}

export async function connectNats(url: string, name: string, log: Logger, auth: NatsAuth = {}): Promise<NatsConnection> {
  const nc = await connect({
    servers: natsServers(url),
    name,
    // nats.js ignores credentials in the URL, so they come separately.
    ...(auth.user !== undefined ? { user: auth.user, pass: auth.pass ?? '' } : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    timeout: 5000,
    // With async traces on, nats.js builds two Errors (stack captured) for every request, the
    // JetStream publishes included, in case it fails: a third of the attributor's CPU under load
    // (bench/attributor.ts profile). A failed request still rejects with its error, only without
    // the caller's stack.
    noAsyncTraces: true,
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') {
        log.warn({ nats: s.type, server: 'server' in s ? s.server : undefined }, 'nats connection status');
      }
    }
  })().catch((err: unknown) => log.error({ err }, 'nats status loop failed'));
  return nc;
}
