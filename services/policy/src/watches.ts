// The policy service's inputs as self-healing loops: the KV watch on the current document, the KV
// watch on bypasses, and the container lifecycle feed. Each restarts after a failure (a thrown
// watch, a dropped consumer, a revision that fails to load) with backoff, and its readiness check
// is red while it is down: a service whose watch died must not look healthy while the maps drift
// from the policy of record. A restarted KV watch delivers the current value first, so whatever
// changed during the outage is caught up.
import type { JsMsg } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ContainerLifecycle } from '@sluice/contracts';
import { supervise, type Logger, type Readiness, type Supervised } from '@sluice/runtime';
import { decodeLifecycle, openLifecycle } from './lifecycle.ts';
import { BYPASS_PREFIX, DOCUMENT_KEY, type PolicyStore } from './store.ts';
import type { PolicySync } from './sync.ts';

/** What the watches drive (PolicySync; a stand-in in tests). */
export type SyncInputs = Pick<PolicySync, 'setRevision' | 'setBypasses' | 'trigger'>;

export interface WatchDeps {
  kv: KV;
  store: PolicyStore;
  sync: SyncInputs;
  log: Logger;
  readiness: Readiness;
  /** After each handled change: refresh the kernel-sync readiness. */
  afterChange?: () => void;
  onRestart?: (loop: string, reason: string) => void;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

export const WATCH_CHECKS = { document: 'revision-watch', bypass: 'bypass-watch', lifecycle: 'lifecycle-feed' } as const;

function loopOptions(d: WatchDeps, check: string) {
  d.readiness.set(check, false, 'starting');
  return {
    name: check,
    log: d.log,
    ...(d.initialBackoffMs !== undefined ? { initialBackoffMs: d.initialBackoffMs } : {}),
    ...(d.maxBackoffMs !== undefined ? { maxBackoffMs: d.maxBackoffMs } : {}),
    onState: (up: boolean, detail: string) => d.readiness.set(check, up, detail),
    onRestart: (reason: string) => d.onRestart?.(check, reason),
  };
}

export function watchDocument(d: WatchDeps): Supervised {
  return supervise<KvEntry>(
    () => d.kv.watch({ key: DOCUMENT_KEY }),
    async (e) => {
      if (e.operation !== 'PUT') return;
      d.sync.setRevision(await d.store.get(e.revision));
      await d.sync.trigger('revision');
      d.afterChange?.();
    },
    loopOptions(d, WATCH_CHECKS.document),
  );
}

export function watchBypasses(d: WatchDeps): Supervised {
  return supervise<KvEntry>(
    () => d.kv.watch({ key: `${BYPASS_PREFIX}>` }),
    async () => {
      d.sync.setBypasses(await d.store.bypasses());
      await d.sync.trigger('bypass');
      d.afterChange?.();
    },
    loopOptions(d, WATCH_CHECKS.bypass),
  );
}

export function watchLifecycle(d: WatchDeps & { nc: NatsConnection }, onMessage: (m: ContainerLifecycle) => void, onBad: (reason: string) => void): Supervised {
  return supervise<JsMsg>(
    () => openLifecycle(d.nc),
    async (m) => {
      const event = decodeLifecycle(m, d.log, onBad);
      if (event) onMessage(event);
    },
    loopOptions(d, WATCH_CHECKS.lifecycle),
  );
}
