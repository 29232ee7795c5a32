// The publish gap while the NATS server leading SLUICE_EVENTS goes away (bench/cluster.ts).
// One publisher retries each message with its msg id (deduplicated) under a short timeout until it
// is acked; the figure is the longest stretch between two acks from the fault on. SIGKILL is the
// crash (followers wait out a Raft election timeout); SIGTERM is a graceful stop, where the server
// hands its leaderships over before it exits.
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { STREAMS, subjects } from '@sluice/contracts';
import { egressEvent, killClusterNode, natsNodeOf, restartClusterNode, type ClusterNode } from '@sluice/testkit';

export interface GapRun {
  signal: 'SIGKILL' | 'SIGTERM';
  victim: ClusterNode;
  gapMs: number;
  acked: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until SLUICE_EVENTS has a leader and both followers are current and online, so a fault
 * starts from a whole R3 group (a restarted peer still catching up would make the next kill a
 * loss of quorum, not a failover).
 */
export async function waitStreamWhole(jsm: JetStreamManager, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const info = await jsm.streams.info(STREAMS.events.name).catch((e: unknown) => {
      last = String(e);
      return undefined;
    });
    const c = info?.cluster;
    if (c?.leader && c.replicas?.length === 2 && c.replicas.every((r) => r.current && !r.offline)) return c.leader;
    if (c) last = `leader ${c.leader ?? 'none'}, replicas ${JSON.stringify(c.replicas ?? [])}`;
    if (Date.now() > deadline) throw new Error(`${STREAMS.events.name} not whole after ${timeoutMs} ms: ${last}`);
    await sleep(250);
  }
}

/**
 * Runs `fn` again while JetStream refuses an R3 placement because a peer it lists is offline: a
 * node restarted a moment ago is up, but the meta leader has not heard from it again yet.
 */
export async function retryPlacement<T>(what: string, fn: () => Promise<T>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      const msg = String((err as Error).message ?? err);
      if (!/peer offline|no suitable peers|insufficient resources/i.test(msg) || Date.now() > deadline) throw new Error(`${what}: ${msg}`);
      await sleep(1000);
    }
  }
}

/** One fault: publish steadily, stop the stream leader with `signal`, measure, restart it. */
export async function failoverGap(nc: NatsConnection, signal: GapRun['signal'], windowMs: number, tag: string): Promise<GapRun> {
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const project = `clfail${process.pid}${tag}`;
  const subject = subjects.events(project, 'bench', 'DENIED');
  let stop = false;
  let last = performance.now();
  let gap = 0;
  let acked = 0;
  const publisher = (async () => {
    for (let i = 0; !stop; i++) {
      for (;;) {
        try {
          // A short timeout, retried with the same msg id: the gap measured is the cluster's, not
          // a long client timeout's rounding.
          await js.publish(subject, JSON.stringify(egressEvent(i, { project })), { msgID: `${project}-${i}`, timeout: 500 });
          break;
        } catch {
          if (stop) return;
          await sleep(50);
        }
      }
      const now = performance.now();
      gap = Math.max(gap, now - last);
      last = now;
      acked++;
    }
  })();
  try {
    const leader = await waitStreamWhole(jsm);
    await sleep(3000);
    const victim = natsNodeOf((await jsm.streams.info(STREAMS.events.name)).cluster?.leader ?? leader);
    gap = 0; // only the fault's window counts
    last = performance.now();
    await killClusterNode(victim, signal);
    await sleep(windowMs);
    stop = true;
    await publisher;
    const run = { signal, victim, gapMs: gap, acked };
    await restartClusterNode(victim);
    await jsm.streams.purge(STREAMS.events.name, { filter: `sluice.events.${project}.>` }).catch(() => undefined);
    return run;
  } finally {
    stop = true;
    await publisher;
  }
}
