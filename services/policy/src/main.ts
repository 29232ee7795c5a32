// policy: validates allowlists, stores revisions in NATS KV, serves sluice.api.policy.*, and (with
// a sluice-bpf helper) keeps this node's pinned maps in sync with the current revision.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { KV_BUCKETS, STREAMS } from '@sluice/contracts';
import { ensureKv, ensureStream, runService } from '@sluice/runtime';
import { PolicyApi } from './api.ts';
import { DEFAULT_METRICS_PORT, env } from './config.ts';
import { auditPublisher, serveApi } from './server.ts';
import { PolicyStore } from './store.ts';

await runService({
  name: 'policy',
  env,
  defaultMetricsPort: DEFAULT_METRICS_PORT,
  start: async ({ config, log, metrics, readiness, nc }) => {
    await ensureStream(await jetstreamManager(nc), STREAMS.control, log);
    const kv = await ensureKv(nc, config.POLICY_BUCKET, KV_BUCKETS.policy.history);
    const store = new PolicyStore(kv);
    const requests = metrics.meter.createCounter('sluice_policy_api_requests_total', {
      description: 'Policy API requests, by verb and outcome (ok or an error code)',
    });
    const api = new PolicyApi({
      store,
      audit: auditPublisher(jetstream(nc)),
      maxBytes: config.POLICY_MAX_BYTES,
      maxAliasCount: config.POLICY_MAX_ALIASES,
    });
    const sub = serveApi(nc, api, log, { request: (verb, outcome) => requests.add(1, { verb, outcome }) });
    readiness.set('policy-api', true, `serving on sluice.api.policy.* (bucket ${config.POLICY_BUCKET})`);
    return { stop: [{ name: 'policy api', run: () => sub.drain() }] };
  },
});
