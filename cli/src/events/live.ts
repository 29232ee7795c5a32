// Live events from SLUICE_EVENTS through an ordered (ephemeral) consumer: nothing is left behind
// on the server when the CLI exits. Batches are NDJSON; a line that fails the schema is reported
// on stderr and counted, never silently skipped.
import { connect } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { EgressEvent, STREAMS } from '@sluice/contracts';
import { UsageError } from '../command.ts';
import { cliNatsServers } from '../nats-servers.ts';
import { eventSubjects, serverTakesManyFilters } from './nats-subject.ts';
import type { EventFilter } from './filter.ts';

/**
 * How long after `until` an event stamped before it may still arrive: events are stamped in the
 * kernel and stored after batching and attribution.
 */
export const UNTIL_GRACE_MS = 10_000;

export interface LiveOptions {
  natsUrl: string;
  filter: EventFilter;
  /** false: stop once the stream's backlog (from --since, else everything retained) is read. */
  follow: boolean;
  signal: AbortSignal;
  /** Every schema-valid event the subject filter let through; false stops following. */
  onEvent: (e: EgressEvent) => boolean;
  onBad: (why: string) => void;
}

export async function followLive(o: LiveOptions): Promise<void> {
  const nc = await connect({ servers: cliNatsServers(o.natsUrl), maxReconnectAttempts: -1 }).catch((err: Error) => {
    throw new UsageError(`cannot reach NATS at ${o.natsUrl} (--nats / NATS_URL): ${err.message}`, 1);
  });
  try {
    const js = jetstream(nc);
    const filters = eventSubjects(o.filter, serverTakesManyFilters(nc.info?.version ?? ''));
    const since = o.filter.since;
    const until = o.filter.until;
    const consumer = await js.consumers
      .get(STREAMS.events.name, {
        // One subject goes as filter_subject, which nats-server 2.9 understands (the array form needs 2.10).
        filter_subjects: filters.length === 1 ? filters[0]! : filters,
        // Events are stored after they are stamped: starting at `since` by storage time misses none.
        ...(since !== undefined
          ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(since).toISOString() }
          : { deliver_policy: o.follow ? DeliverPolicy.New : DeliverPolicy.All }),
      })
      .catch((err: Error) => {
        throw new UsageError(`stream ${STREAMS.events.name} at ${o.natsUrl}: ${err.message} (is the pipeline up?)`, 1);
      });
    let caughtUp = (await consumer.info()).num_pending === 0;
    if (!o.follow && caughtUp) return;
    const messages = await consumer.consume();
    const stop = () => void messages.close();
    if (o.signal.aborted) stop();
    o.signal.addEventListener('abort', stop, { once: true });
    // --until: once the wall clock is past it (plus grace) and the backlog is read, nothing more can come.
    let timer: NodeJS.Timeout | undefined;
    const end = until === undefined ? undefined : until + UNTIL_GRACE_MS;
    const armUntil = () => {
      if (end === undefined) return;
      timer = setTimeout(() => (caughtUp ? stop() : armUntil()), Math.max(0, Math.min(end - Date.now(), 2 ** 31 - 1)) + 50);
    };
    armUntil();
    try {
      for await (const m of messages) {
        caughtUp = m.info.pending === 0;
        const stored = Number(BigInt(m.info.timestampNanos) / 1_000_000n);
        if (end !== undefined && stored > end) break;
        let more = true;
        for (const line of m.string().split('\n')) {
          if (line.trim() === '') continue;
          let json: unknown;
          try {
            json = JSON.parse(line);
          } catch (err) {
            o.onBad(`${m.subject}#${m.seq}: not JSON: ${(err as Error).message}`);
            continue;
          }
          const r = EgressEvent.safeParse(json);
          if (!r.success) {
            o.onBad(`${m.subject}#${m.seq}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
          } else if (!o.onEvent(r.data)) {
            more = false;
            break;
          }
        }
        if (!more || (!o.follow && caughtUp)) break;
        if (caughtUp && end !== undefined && Date.now() > end) break;
      }
    } finally {
      clearTimeout(timer);
      o.signal.removeEventListener('abort', stop);
      await messages.close();
    }
  } finally {
    await nc.close();
  }
}
