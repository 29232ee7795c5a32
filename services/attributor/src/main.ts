// attributor: attaches Docker labels to raw records and publishes SLUICE_EVENTS.
import { join } from 'node:path';
import Docker from 'dockerode';
import { jetstream } from '@nats-io/jetstream';
import { STREAMS } from '@sluice/contracts';
import { retryTransient, runService } from '@sluice/runtime';
import { findCgroup2Mount, inManagedScope } from './cgroup.ts';
import { DEFAULT_METRICS_PORT, env } from './config.ts';
import { ContainerWatch } from './container-watch.ts';
import { DnsNameStore } from './dns-name-store.ts';
import { DnsNames } from './dns-names.ts';
import { startIdentityApi } from './identity-api.ts';
import { IdentityStore } from './identity-store.ts';
import { kernelCodec } from './kernel-adapter.ts';
import { LabelCache } from './label-cache.ts';
import type { ControlMessage } from './lifecycle.ts';
import { RuntimeRequests } from './runtime-requests.ts';
import { createAttributorMetrics } from './metrics.ts';
import { ensureRawConsumer, startRawConsumer } from './raw-consumer.ts';
import { MissResolver } from './resolver.ts';

await runService({
  name: 'attributor',
  env,
  defaultMetricsPort: DEFAULT_METRICS_PORT,
  start: async ({ config, log, metrics: m, readiness, nc, ensure }) => {
    const node = config.NODE_NAME;
    for (const spec of [STREAMS.raw, STREAMS.events, STREAMS.control]) await ensure.stream(spec);
    const js = jetstream(nc);
    const cgroupMount = await findCgroup2Mount();

    const cache = new LabelCache({ graceMs: config.GRACE_MS, startSlackMs: config.START_SLACK_MS });
    let store: IdentityStore | undefined;
    const metrics = createAttributorMetrics(m.meter, {
      redisUp: () => store?.up ?? false,
      cachedContainers: () => cache.size,
      redisPending: () => store?.pendingWrites ?? 0,
    });
    store = new IdentityStore(
      {
        url: config.REDIS_URL,
        prefix: config.REDIS_PREFIX,
        liveTtlS: config.IDENTITY_TTL_S,
        deadTtlS: Math.max(3600, Math.ceil(config.GRACE_MS / 1000)),
      },
      log,
      metrics,
    );
    await store.connect();
    // Warm start: registrations and recently dead containers only Redis remembers. Docker's
    // list below then overrides every container it still runs.
    const stored = await store.loadNode(node);
    for (const identity of stored) cache.upsert(identity);
    log.info({ identities: stored.length }, 'warmed from redis');

    const publishOnce = async (msg: ControlMessage): Promise<void> => {
      await js.publish(msg.subject, JSON.stringify(msg.payload), { msgID: msg.msgId });
      metrics.lifecycle(msg.subject.split('.').slice(1, 3).join('_'));
    };
    const failed = (err: unknown, msg: ControlMessage): Error => {
      metrics.stage.dropped('control_publish_failed');
      log.error({ err: (err as Error).message, subject: msg.subject }, 'could not publish a control message');
      return err as Error;
    };
    // Container lifecycle: best effort, the policy service's identity repair reconciles a lost one.
    const publish = async (msg: ControlMessage): Promise<void> => {
      try {
        await publishOnce(msg);
      } catch (err) {
        failed(err, msg);
      }
    };
    // The identity API's (sluice run's registrations): a caller waits on it, so a timeout on a
    // loaded or re-electing JetStream is retried for a while (the same msgID: a retry whose first
    // try did land is a duplicate) and then thrown, failing the request instead of answering OK.
    const announce = async (msg: ControlMessage): Promise<void> => {
      try {
        await retryTransient(() => publishOnce(msg), { deadlineMs: 10_000, onRetry: (err, attempt) => log.warn({ err: err.message, attempt, subject: msg.subject }, 'control message not acknowledged yet; retrying') });
      } catch (err) {
        throw failed(err, msg);
      }
    };
    const watch = new ContainerWatch({
      docker: new Docker({ socketPath: config.DOCKER_SOCKET }),
      cache,
      store,
      node,
      cgroupMount,
      labels: { agent: config.AGENT_LABEL, project: config.PROJECT_LABEL },
      scopes: config.SLUICE_MANAGED_CGROUPS,
      publish,
      log,
      metrics,
    });
    readiness.set('docker', false, 'listing containers', { required: false });
    const startWatch = async (): Promise<void> => {
      try {
        await watch.start();
        readiness.set('docker', true, config.DOCKER_SOCKET, { required: false });
      } catch (err) {
        // Docker down degrades attribution (records stay `unknown`, registrations still work).
        readiness.set('docker', false, `${(err as Error).message} (degraded: containers stay unattributed)`, { required: false });
        log.warn({ err: (err as Error).message }, 'docker unavailable; retrying in 5 s');
        setTimeout(() => void startWatch(), 5000).unref();
      }
    };
    await startWatch();

    // The sluice-runc wrapper's requests: announce a held container's cgroup before its first instruction.
    const runtimeRequestsTotal = m.meter.createCounter('sluice_attributor_runtime_requests_total', {
      description: 'sluice-runc requests (a container held at create until its policy is in place), by outcome',
    });
    const runtimeRequests = new RuntimeRequests({
      dir: join(config.SLUICE_RUNTIME_DIR, 'requests'),
      ours: (r) => inManagedScope(r.cgroupPath, config.SLUICE_MANAGED_CGROUPS),
      handle: (r) => watch.announceFromRuntime(r),
      log,
      counted: (outcome) => runtimeRequestsTotal.add(1, { outcome }),
    });
    await runtimeRequests.start().catch((err: unknown) =>
      log.warn({ err: (err as Error).message, dir: config.SLUICE_RUNTIME_DIR }, 'cannot follow sluice-runc requests; containers started with it wait for nothing'),
    );

    const resolver = new MissResolver(
      { node, cgroupMount, scanIntervalMs: config.SCAN_INTERVAL_MS, negativeTtlMs: config.NEGATIVE_TTL_MS },
      cache,
      store,
      watch,
      log,
      metrics,
    );
    const api = startIdentityApi({ nc, node, cgroupMount, cache, store, graceMs: config.GRACE_MS, log, publish: announce });

    const names = new DnsNames({ maxEntries: config.DNS_NAMES_MAX });
    const nameStore = new DnsNameStore(
      {
        prefix: config.REDIS_PREFIX,
        ttlS: config.DNS_NAME_TTL_S,
        missWaitMs: config.DNS_MISS_WAIT_MS,
        negativeTtlMs: config.NEGATIVE_TTL_MS,
      },
      store,
      names,
      log,
      metrics,
    );
    // A container's names die with its identity, after the grace for its in-flight records
    // (cgroup ids are reused; a later holder must not inherit them).
    const sweep = setInterval(() => {
      for (const e of cache.sweep(Date.now())) if (e.identity.cgroup_id) void nameStore.forget(e.identity.node, e.identity.cgroup_id);
    }, 1000);
    const refresh = setInterval(
      () => {
        for (const e of cache.entries()) if (e.identity.node === node && e.identity.died_ms === undefined) store!.put(e.identity);
      },
      (config.IDENTITY_TTL_S * 1000) / 3,
    );
    sweep.unref();
    refresh.unref();

    const consumerOpts = {
      durable: config.CONSUMER_NAME,
      filter: config.RAW_FILTER,
      ackWaitMs: config.ACK_WAIT_MS,
      concurrency: config.CONCURRENCY,
      maxMessageBytes: config.MAX_MESSAGE_BYTES,
    };
    await ensureRawConsumer(nc, consumerOpts, log);
    const stopConsumer = await startRawConsumer(
      { nc, codec: kernelCodec, lookup: cache.lookupCgroup.bind(cache), lookupVersion: () => cache.version, resolver, names, nameStore, log, metrics },
      consumerOpts,
    );
    readiness.set('attributor', true, `consuming ${config.RAW_FILTER}`);

    return {
      stop: [
        { name: 'raw consumer', run: stopConsumer },
        { name: 'identity api', run: () => api.drain() },
        { name: 'docker watch', run: () => watch.stop() },
        { name: 'runtime requests', run: () => runtimeRequests.stop() },
        {
          name: 'timers',
          run: () => {
            clearInterval(sweep);
            clearInterval(refresh);
          },
        },
        { name: 'redis', run: () => store!.close() },
      ],
    };
  },
});
