// For `sluice run --learn -- <cmd>`: learn while a command runs, then return the diff. The wait at
// the end is for the learner to have consumed everything published so far (its durable has nothing
// pending or unacknowledged), so the diff includes the command's last connections.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { LEARN_API, STREAMS } from '@sluice/contracts';
import { request } from '@sluice/runtime';

export interface LearnWhileOptions {
  project: string;
  agent?: string;
  actor: string;
  /** The learner's durable on SLUICE_EVENTS (LEARNER_DURABLE). */
  durable?: string;
  stream?: string;
  timeoutMs: number;
  /** Reset the session afterwards (a one-shot run leaves nothing behind). */
  reset?: boolean;
}

export interface LearnWhileResult<T> {
  result: T;
  yaml: string;
  warning?: string;
}

export async function learnWhile<T>(nc: NatsConnection, o: LearnWhileOptions, body: () => Promise<T>): Promise<LearnWhileResult<T>> {
  const sel = { project: o.project, ...(o.agent !== undefined ? { agent: o.agent } : {}) };
  const opts = { timeoutMs: o.timeoutMs };
  await request(nc, LEARN_API, 'start', { ...sel, actor: o.actor }, opts);
  const result = await body();
  const jsm = await jetstreamManager(nc);
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const info = await jsm.consumers.info(o.stream ?? STREAMS.events.name, o.durable ?? 'sluice-learner');
    if (info.num_pending === 0 && info.num_ack_pending === 0) break;
    if (Date.now() > deadline) throw new Error(`the learner still has ${info.num_pending + info.num_ack_pending} message(s) to process after ${o.timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const diff = await request(nc, LEARN_API, 'diff', sel, opts);
  if (o.reset) await request(nc, LEARN_API, 'reset', { ...sel, actor: o.actor }, opts);
  return { result, yaml: diff.yaml, ...(diff.warning ? { warning: diff.warning } : {}) };
}
