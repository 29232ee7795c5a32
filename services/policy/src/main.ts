// policy: validates allowlists, stores revisions in NATS KV, serves sluice.api.policy.*, and (with
// a sluice-bpf helper) keeps this node's pinned maps in sync with the current revision.
import { jetstream } from '@nats-io/jetstream';
import { apiPrefix, CANARY_READINESS_CHECK, ENFORCEMENT_BROKEN_METRIC, CANARY_ROUNDS_METRIC, KV_BUCKETS, POLICY_API, STREAMS } from '@sluice/contracts';
import { findMount, runService, stageCounters, type ShutdownStep } from '@sluice/runtime';
import { PolicyApi } from './api.ts';
import { canaryReady } from './canary-judge.ts';
import { CanaryLoop } from './canary-loop.ts';
import { canaryCgroup, DEFAULT_METRICS_PORT, env } from './config.ts';
import { ApplySession, EXIT_LOCKED, HelperLockedError } from './helper.ts';
import { loadAndAttach, ScopeError } from './scope.ts';
import { writeRuntimeRegistration } from './runtime-registry.ts';
import { auditPublisher, servePolicyApi } from './server.ts';
import { reconcileIdentities } from './identity-reconcile.ts';
import { PolicyStore } from './store.ts';
import { PolicySync } from './sync.ts';
import { watchBypasses, watchDocument, watchLifecycle } from './watches.ts';

await runService({
  name: 'policy',
  env,
  defaultMetricsPort: DEFAULT_METRICS_PORT,
  start: async ({ config, log, metrics, readiness, nc, ensure }) => {
    const stop: ShutdownStep[] = [];
    const meter = metrics.meter;
    const stage = stageCounters(meter, 'policy');

    // The writer lock first: a second policy service on this node must refuse before serving.
    let sync: PolicySync | undefined;
    if (config.SLUICE_BPF_BIN) {
      const bin = config.SLUICE_BPF_BIN;
      const cgroupRoot = findMount('cgroup2');
      if (!cgroupRoot) throw new Error('no cgroup2 mount in /proc/self/mountinfo: cannot tell live cgroups from gone ones');
      let session: ApplySession;
      try {
        const { scopes, tamperGuard, warnings } = await loadAndAttach(config.SLUICE_BPF_BIN, config.SLUICE_BPF_PIN, cgroupRoot, config.SLUICE_MANAGED_CGROUPS, config.SLUICE_BPF_RINGBUF_BYTES);
        log.info({ scopes, tamperGuard }, 'programs loaded and attached to the managed scopes');
        // Loud, not fatal: enforcement works without it, but an agent holding root or CAP_DAC_OVERRIDE
        // with bpf() and the pins in reach could switch it off (bpf/tamper.bpf.c).
        if (tamperGuard !== 'attached') log.warn({ tamperGuard, helper: warnings }, 'tamper guard not in force: agents are kept from bpf() only by seccomp and the pins\' file permissions');
        try {
          const registered = writeRuntimeRegistration({
            scopes: config.SLUICE_MANAGED_CGROUPS,
            pin: config.SLUICE_BPF_PIN,
            bin: config.SLUICE_BPF_BIN,
            cgroupRoot,
          });
          log.info({ file: registered }, 'registered the managed scopes for the sluice-runc runtime wrapper');
        } catch (err) {
          // Enforcement does not depend on it: without the registration the wrapper does not wait,
          // and a container's first connects may meet the deny default until its entry lands.
          log.warn({ err: (err as Error).message }, 'cannot register the managed scopes for the sluice-runc runtime wrapper; agents started with it will not wait for their policy');
        }
        session = await ApplySession.start(config.SLUICE_BPF_BIN, config.SLUICE_BPF_PIN, { timeoutMs: config.HELPER_TIMEOUT_MS });
      } catch (err) {
        if (err instanceof HelperLockedError || (err instanceof ScopeError && err.exitCode === EXIT_LOCKED)) {
          log.fatal({ pin: config.SLUICE_BPF_PIN, err: err.message }, 'another policy service holds this node\'s maps; refusing to start');
          log.flush();
          process.exit(3);
        }
        throw err;
      }
      const runs = meter.createCounter('sluice_policy_sync_runs_total', { description: 'Map sync runs by outcome' });
      const ops = meter.createCounter('sluice_policy_map_ops_total', { description: 'Map operations applied, by op' });
      const gone = meter.createCounter('sluice_policy_gone_cgroups_total', { description: 'Entries removed because their cgroup no longer exists' });
      let orphanCount = 0;
      meter.createObservableGauge('sluice_policy_orphan_cgroups', { description: 'Map entries of live cgroups no lifecycle message explains' })
        .addCallback((r) => r.observe(orphanCount));
      sync = new PolicySync({
        bin: config.SLUICE_BPF_BIN,
        pin: config.SLUICE_BPF_PIN,
        session,
        helperTimeoutMs: config.HELPER_TIMEOUT_MS,
        reopen: () => ApplySession.start(bin, config.SLUICE_BPF_PIN, { timeoutMs: config.HELPER_TIMEOUT_MS }),
        log,
        cgroupRoot,
        node: config.NODE_NAME,
        metrics: {
          run: (outcome) => runs.add(1, { outcome }),
          ops: (op, n) => ops.add(n, { op }),
          orphans: (n) => (orphanCount = n),
          gone: (n) => gone.add(n),
        },
      });
      if (config.CANARY_INTERVAL_S > 0) canaryCgroup(config.CANARY_CGROUP, config.SLUICE_MANAGED_CGROUPS); // refuse a bad one before serving
      // Maps and helper stay as they are on shutdown: enforcement does not depend on this process.
      const running = sync;
      stop.push({ name: 'apply session', run: () => running.session.close() });
      readiness.set('kernel-sync', false, 'first sync pending');
    }

    await ensure.stream(STREAMS.control);
    const kv = await ensure.kv(config.POLICY_BUCKET, KV_BUCKETS.policy.history);
    const store = new PolicyStore(kv);
    const requests = meter.createCounter('sluice_policy_api_requests_total', {
      description: 'Policy API requests, by verb and outcome (ok or an error code)',
    });
    const s = sync;
    const api = new PolicyApi({
      store,
      audit: auditPublisher(jetstream(nc)),
      maxBytes: config.POLICY_MAX_BYTES,
      maxAliasCount: config.POLICY_MAX_ALIASES,
      node: () => (s?.lastActual ? { actual: s.lastActual, workloads: s.workloadList(), pinnedCgroups: s.pinnedCgroups() } : undefined),
    });
    const sub = servePolicyApi(nc, api, log, { request: (verb, outcome) => requests.add(1, { verb, outcome }) });
    stop.unshift({ name: 'policy api', run: () => sub.drain() });
    readiness.set('policy-api', true, `serving on ${apiPrefix(POLICY_API)}.* (bucket ${config.POLICY_BUCKET})`);

    if (s) {
      const setReady = () => readiness.set('kernel-sync', !s.lastError, s.lastError?.message ?? `revision ${s.appliedRevision}`);
      // Start from what the maps hold: nothing is touched until the revision is known.
      s.setRevision(await store.current());
      s.setBypasses(await store.bypasses());
      await s.trigger('start');
      setReady();
      const restarts = meter.createCounter('sluice_policy_loop_restarts_total', {
        description: 'Restarts of the KV watches and the lifecycle feed after a failure, by loop',
      });
      const watchDeps = { kv, store, sync: s, log, readiness, nc, afterChange: setReady, onRestart: (loop: string) => restarts.add(1, { loop }) };
      const loops = [
        watchDocument(watchDeps),
        watchBypasses(watchDeps),
        watchLifecycle(
          watchDeps,
          (m) => {
            stage.handled();
            s.onLifecycle(m);
          },
          (reason) => stage.dropped(`lifecycle_${reason}`),
        ),
      ];
      const timer = setInterval(() => {
        void s.trigger('reconcile').then(setReady);
      }, config.RECONCILE_INTERVAL_S * 1000);
      const rounds = meter.createCounter('sluice_policy_identity_reconciles_total', { description: 'Identity snapshot reconciles, by outcome' });
      const repaired = meter.createCounter('sluice_policy_identity_repairs_total', {
        description: 'Workloads installed from the attributor snapshot that no lifecycle message had announced',
      });
      const reconcile = () =>
        reconcileIdentities({
          nc,
          node: config.NODE_NAME,
          table: s,
          apply: (m) => s.onLifecycle(m),
          log,
          timeoutMs: 5000,
          metrics: { round: (outcome) => rounds.add(1, { outcome }), repaired: (n) => repaired.add(n) },
        });
      void reconcile();
      if (config.CANARY_INTERVAL_S > 0) {
        let broken = 0;
        meter.createObservableGauge(ENFORCEMENT_BROKEN_METRIC, { description: '1 while the enforcement canary sees a wrong verdict on this node' })
          .addCallback((r) => r.observe(broken));
        const rounds = meter.createCounter(CANARY_ROUNDS_METRIC, { description: 'Enforcement canary rounds, by outcome (ok, deviated, error)' });
        readiness.set(CANARY_READINESS_CHECK, false, 'first canary round pending', { required: false });
        const canary = new CanaryLoop({
          config: {
            cgroupRoot: findMount('cgroup2')!,
            cgroup: canaryCgroup(config.CANARY_CGROUP, config.SLUICE_MANAGED_CGROUPS),
            runAs: config.CANARY_RUN_AS,
            nobpf: config.SLUICE_BPF_BIN,
            intervalMs: config.CANARY_INTERVAL_S * 1000,
            connectTimeoutMs: config.CANARY_CONNECT_TIMEOUT_MS,
            node: config.NODE_NAME,
          },
          sync: s,
          audit: auditPublisher(jetstream(nc)),
          log: log.child({ loop: 'canary' }),
          onRound: (outcome, state) => {
            rounds.add(1, { outcome });
            broken = state.broken ? 1 : 0;
            const r = canaryReady(state);
            readiness.set(CANARY_READINESS_CHECK, r.ok, r.detail, { required: r.required });
          },
        });
        await canary.start();
        stop.unshift({ name: 'enforcement canary', run: () => canary.stop() });
      }
      const identityTimer = setInterval(() => void reconcile(), config.IDENTITY_RECONCILE_INTERVAL_S * 1000);
      stop.unshift(
        { name: 'reconcile timers', run: () => [timer, identityTimer].forEach(clearInterval) },
        { name: 'watches and lifecycle feed', run: async () => void (await Promise.all(loops.map((l) => l.stop()))) },
      );
    }
    return { stop };
  },
});
