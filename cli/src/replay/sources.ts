// Reads a bounded range of a JetStream stream with an ordered consumer (no server-side state left
// behind). The end is fixed when the replay starts, so a busy stream cannot make it run forever.
import type { NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { UsageError } from '../command.ts';
import { pastEnd, type Bound } from './range.ts';

export interface RangeInfo {
  firstSeq: number;
  lastSeq: number;
}

export async function streamRange(nc: NatsConnection, stream: string): Promise<RangeInfo> {
  const jsm = await jetstreamManager(nc);
  try {
    const info = await jsm.streams.info(stream);
    return { firstSeq: info.state.first_seq, lastSeq: info.state.last_seq };
  } catch (err) {
    throw new UsageError(`--stream ${stream}: ${(err as Error).message}`);
  }
}

export async function* readRange(
  nc: NatsConnection,
  stream: string,
  from: Bound,
  to: Bound | undefined,
  endSeq: number,
): AsyncGenerator<JsMsg> {
  const js = jetstream(nc);
  const consumer = await js.consumers.get(stream, {
    ...('seq' in from
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from.seq }
      : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(from.time).toISOString() }),
  });
  while (true) {
    const batch = await consumer.fetch({ max_messages: 500, expires: 2000 });
    let got = 0;
    for await (const m of batch) {
      got++;
      if (m.seq > endSeq || pastEnd(to, m.seq, m.info.timestampNanos / 1e6)) return;
      yield m;
      if (m.seq >= endSeq) return;
    }
    if (got === 0) return; // nothing more in range (e.g. the tail was purged meanwhile)
  }
}
