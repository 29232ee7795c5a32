// Self-driven rollover and retention, for an OpenSearch without the index-management plugin.
// Every replica may run it: a conditional `_rollover` re-evaluates against the new write index, so
// two replicas racing roll over once, and deleting an already-deleted index is treated as done.
import type { Client } from '@opensearch-project/opensearch';
import type { Logger } from '@sluice/runtime';
import { CLAUDE_STREAM, expiredIndices, generationOf, OTEL_STREAM_PREFIX, type BackingIndex, dataStreamName, SOURCES } from '@sluice/store';

export interface SelfLifecycleOptions {
  prefix: string;
  rolloverMaxAge: string;
  rolloverMaxSize: string;
  retentionMs: number;
}

export interface LifecycleRun {
  rolledOver: string[];
  deleted: string[];
}

export async function backingIndices(client: Client, dataStream: string): Promise<BackingIndex[]> {
  const ds = await client.indices.getDataStream({ name: dataStream });
  const names = ((ds.body as { data_streams?: Array<{ indices: Array<{ index_name: string }> }> }).data_streams?.[0]?.indices ?? []).map(
    (i) => i.index_name,
  );
  if (names.length === 0) return [];
  const settings = await client.indices.getSettings({ index: names.join(','), name: 'index.creation_date' });
  const body = settings.body as Record<string, { settings?: { index?: { creation_date?: string } } }>;
  return names.map((name) => {
    const created = body[name]?.settings?.index?.creation_date;
    if (created === undefined) throw new Error(`no index.creation_date for backing index ${name}`);
    return { name, generation: generationOf(name), createdMs: Number(created) };
  });
}

export async function runLifecycleOnce(client: Client, o: SelfLifecycleOptions, log: Logger, nowMs = Date.now()): Promise<LifecycleRun> {
  const run: LifecycleRun = { rolledOver: [], deleted: [] };
  // The OTLP senders' streams come and go with their service names: found, not listed.
  const found = await client.indices.getDataStream({ name: `${o.prefix}${OTEL_STREAM_PREFIX}*` }).catch((err: unknown) => {
    if ((err as { meta?: { statusCode?: number } }).meta?.statusCode === 404) return { body: { data_streams: [] } };
    throw err;
  });
  const otel = ((found.body as { data_streams?: Array<{ name: string }> }).data_streams ?? []).map((d) => d.name);
  for (const ds of [...SOURCES.map((s) => dataStreamName(o.prefix, s)), dataStreamName(o.prefix, CLAUDE_STREAM), ...otel]) {
    const res = await client.indices.rollover({
      alias: ds,
      body: { conditions: { max_age: o.rolloverMaxAge, max_size: o.rolloverMaxSize } },
    });
    const r = res.body as { rolled_over?: boolean; new_index?: string; old_index?: string };
    if (r.rolled_over) {
      run.rolledOver.push(r.old_index ?? ds);
      log.info({ dataStream: ds, old: r.old_index, new: r.new_index }, 'rolled over');
    }
    for (const name of expiredIndices(await backingIndices(client, ds), nowMs, o.retentionMs)) {
      try {
        await client.indices.delete({ index: name });
      } catch (err) {
        if ((err as { meta?: { statusCode?: number } }).meta?.statusCode !== 404) throw err;
      }
      run.deleted.push(name);
      log.info({ dataStream: ds, index: name }, 'deleted backing index past retention');
    }
  }
  return run;
}

/** Run every `intervalMs` until stopped; a failed run is logged and retried next interval. */
export function startSelfLifecycle(client: Client, o: SelfLifecycleOptions, intervalMs: number, log: Logger): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async (): Promise<void> => {
    try {
      await runLifecycleOnce(client, o, log);
    } catch (err) {
      log.warn({ err }, 'lifecycle run failed; will retry');
    }
    if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
  };
  timer = setTimeout(() => void tick(), Math.min(intervalMs, 10_000));
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
