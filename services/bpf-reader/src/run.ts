// Wiring of the bpf-reader: helper supervisor → ReaderCore → Batcher → BatchPublisher → SLUICE_RAW,
// plus the timers (rate-limit summaries, drop notifications, clock re-sync) and the metrics.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { DROP_NOTICE_KIND, HealthEvent, KV_BUCKETS, STREAMS, subjects, type DropAccountState, type DropNotification } from '@sluice/contracts';
import { stageCounters, type ServiceContext, type Started } from '@sluice/runtime';
import type { z } from 'zod';
import { Batcher } from './batcher.ts';
import { IdleCut } from './idle-cut.ts';
import { systemClock } from './clock.ts';
import type { env } from './config.ts';
import { chooseStreamFormat } from './helper-format.ts';
import { DropAccount, roundDrops } from './drop-account.ts';
import { DropAccountStore } from './drop-account-store.ts';
import { DropNoticer } from './drop-notices.ts';
import { DropLedger } from './drops.ts';
import { COUNTER_SLOT } from './kernel-counters.ts';
import { rawPublisher } from './publish-raw.ts';
import { rawTail } from './raw-tail.ts';
import { isPermanentPublishError } from './refusal.ts';
import { BatchPublisher } from './publisher.ts';
import { CgroupRateLimiter } from './rate-limit.ts';
import { ReaderCore } from './reader.ts';
import { loadSeqState, saveSeqState, SequenceAllocator, startSeq, type SeqState } from './sequence.ts';
import { HelperSupervisor } from './supervisor.ts';

type Config = z.infer<z.ZodObject<typeof env>>;

export const SERVICE = 'bpf-reader';
const SEQ_BLOCK = 1 << 24;

export async function startReader(ctx: ServiceContext<Config>): Promise<Started> {
  const { config: c, log, metrics, readiness, nc, ensure } = ctx;
  const node = c.NODE_NAME;
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const clock = systemClock();
  log.info({ wallOffsetNs: clock.wallOffsetNs.toString(), source: clock.resync() }, 'boot clock offset');

  await ensure.stream(STREAMS.raw);
  await ensure.stream(STREAMS.control);

  // Event ids: <node>:<bootId>:<seq>, never reused (see sequence.ts).
  const statePath = join(c.READER_STATE_DIR, 'sequence.json');
  let persisted: SeqState | undefined;
  try {
    persisted = loadSeqState(statePath);
  } catch (err) {
    log.error({ err, statePath }, 'sequence state unreadable; starting from the boot-clock floor');
  }
  const seq = new SequenceAllocator(
    startSeq(persisted, bootId, Number(clock.bootNowNs() / 1000n)),
    SEQ_BLOCK,
    (reserved) => saveSeqState(statePath, { bootId, reserved }),
    (err) => log.error({ err, statePath }, 'cannot persist the sequence reservation; relying on the boot-clock floor'),
  );
  log.info({ bootId, firstSeq: seq.peek }, 'sequence start');

  // Metrics (P15): the stage pairs, plus what makes the pipeline's state visible.
  const m = metrics.meter;
  const readerStage = stageCounters(m, 'reader');
  const kernelStage = stageCounters(m, 'kernel');
  const ledger = new DropLedger((stage, reason, n) => (stage === 'kernel' ? kernelStage : readerStage).dropped(reason, n));
  const published = m.createCounter('sluice_reader_published_records_total', { description: 'Records acknowledged by JetStream (SUPPRESSED summaries included)' });
  const duplicates = m.createCounter('sluice_reader_duplicate_batches_total', { description: 'Retried batches JetStream already had' });
  const publishFailures = m.createCounter('sluice_reader_publish_failures_total', { description: 'Failed publish attempts (retried)' });
  const restarts = m.createCounter('sluice_reader_helper_restarts_total', { description: 'Times sluice-bpf stream exited' });
  const skipped = m.createCounter('sluice_reader_malformed_bytes_total', { description: 'Helper output bytes that were not records' });
  let helperUp = 0;
  m.createObservableGauge('sluice_reader_helper_up', { description: '1 while sluice-bpf stream runs' }).addCallback((o) => o.observe(helperUp));

  const publishRaw = rawPublisher(jetstream(nc), node, bootId, c.READER_PUBLISH_TIMEOUT_MS);
  const limiter = new CgroupRateLimiter({ ratePerS: c.READER_RATE_PER_S, burst: c.READER_RATE_BURST, maxCgroups: c.READER_RATE_MAX_CGROUPS });
  const publisher = new BatchPublisher(
    { maxQueuedRecords: c.READER_QUEUE_RECORDS, maxInflight: c.READER_PUBLISH_INFLIGHT, retryMinMs: 100, retryMaxMs: 2000 },
    async (b) => {
      const res = await publishRaw(b);
      batcher.recycle(b.body); // acknowledged: its memory carries a later batch
      return res;
    },
    {
      published: (n, dup) => {
        published.add(n);
        if (dup) duplicates.add(1);
      },
      dropped: (n) => ledger.drop('reader', 'publish', n),
      settled: (b) => core.acks.settled(b.mark),
      failed: (err, attempt) => {
        publishFailures.add(1);
        if (attempt === 1 && !isPermanentPublishError(err)) log.warn({ err: String(err) }, 'publish to SLUICE_RAW failed; retrying');
      },
      refused: (err, records) => log.error({ err: String(err), records }, 'SLUICE_RAW refused a batch for good; its records are dropped and counted (reason=publish)'),
    },
    undefined,
    isPermanentPublishError,
  );
  m.createObservableGauge('sluice_reader_queue_records', { description: 'Records queued or in flight to JetStream' }).addCallback((o) =>
    o.observe(publisher.queuedRecords),
  );
  const idleCut = new IdleCut(c.READER_BATCH_MS);
  const batcher = new Batcher({ maxRecords: c.READER_BATCH_RECORDS, maxDelayMs: c.READER_BATCH_MS, encoding: c.READER_RAW_FORMAT }, seq, () => clock.wallOffsetNs, (b) => {
    idleCut.cut();
    core.acks.inFlight(b.mark);
    publisher.offer(b);
  });
  const stream = await chooseStreamFormat(c.SLUICE_BPF_BIN, c.READER_RAW_FORMAT, c.READER_STREAM_FORMAT);
  log.info({ stream: stream.format, why: stream.why }, 'helper stream format');
  let handledPending = 0;
  const flushHandled = (): void => {
    if (handledPending === 0) return;
    readerStage.handled(handledPending);
    handledPending = 0;
  };
  const core = new ReaderCore(
    limiter,
    batcher,
    ledger,
    {
      // Added to the counter on the ack timer, not per chunk: the OpenTelemetry add (attribute
      // hashing) was 1.5 % of the reader's busy time in a drain profile.
      handled: (n) => (handledPending += n),
      kernelGenerated: (n) => kernelStage.handled(n),
    },
    c.READER_ACK_WINDOW,
    stream.format,
  );
  m.createObservableGauge('sluice_kernel_counter', { description: 'Kernel counters as last reported in-band by the helper' }).addCallback((o) => {
    for (const [name, slot] of Object.entries(COUNTER_SLOT)) o.observe(core.kernel.current[slot] ?? 0, { counter: name });
  });
  m.createObservableCounter('sluice_reader_redelivered_total', {
    description: 'Records a restarted helper sent again; filtered, not lost (see redelivery.ts)',
  }).addCallback((o) => o.observe(core.redelivery.redelivered));
  let lastSkipped = 0;

  // Drop account (drop-account.ts): resume the kernel counters where the last notice left them,
  // and publish what a previous reader left pending, before the helper's first snapshot arrives.
  const js = jetstream(nc);
  let store: DropAccountStore | undefined;
  let loaded: DropAccountState | undefined;
  try {
    const kv = await ensure.kv(c.READER_DROPS_BUCKET, KV_BUCKETS.dropAccounts.history);
    store = new DropAccountStore(kv, c.READER_DROPS_BUCKET, node);
    loaded = await store.load();
  } catch (err) {
    // Unknown baseline: kernel drops while no reader ran cannot be counted this time. Say so.
    store = undefined;
    log.error({ err: (err as Error).message }, 'drop account unavailable; kernel drops before this start are not counted');
  }
  const bootStart = new Date(Date.now() - Number(clock.bootNowNs() / 1_000_000n));
  const account = new DropAccount(node, bootId, loaded, bootStart, SERVICE);
  if (store) core.kernel.resumeFrom(account.kernelBaseline());
  log.info(
    { resumed: loaded?.boot_id === bootId, kernel: core.kernel.accounted?.slice(0, 2), pending: account.pending.length, round: account.state.round },
    'drop account',
  );
  const notices = m.createCounter('sluice_reader_drop_notices_total', {
    description: 'Drop notices (sluice.audit.drop_notice) by result: published, publish_failed, persist_failed (retried)',
  });
  const noticer = new DropNoticer({
    account,
    store,
    publish: async (n) => {
      await js.publish(subjects.audit(DROP_NOTICE_KIND), JSON.stringify(n), { msgID: n.id });
    },
    log,
    counted: (result, n) => notices.add(n, { result }),
  });
  void noticer.resume();

  // Health: the helper being down is reported, repeated while it lasts (enforcement is unaffected).
  const health = (status: HealthEvent['status'], code: string, message: string) => {
    const ev: HealthEvent = { time: new Date().toISOString(), node, service: SERVICE, status, code, message };
    nc.publish(subjects.health(SERVICE), JSON.stringify(HealthEvent.parse(ev)));
  };
  let downSince: number | undefined = Date.now();
  let downReason = 'not started yet';
  let restartsSeen = 0;
  readiness.set('helper', false, downReason);

  // A killed predecessor may have left records JetStream holds but the helper was never told of:
  // the new helper sends them again, and the filter must know them (redelivery.ts).
  try {
    const tail = await rawTail(nc, node, bootId, c.READER_ACK_WINDOW);
    core.redelivery.seed(tail);
    log.info({ records: tail.length }, 'redelivery filter seeded from SLUICE_RAW');
  } catch (err) {
    log.error({ err: (err as Error).message }, 'cannot read the tail of SLUICE_RAW; records a killed reader left unacknowledged may be published twice');
  }

  // Records leave the kernel ring only once acknowledged here (ack-window.ts, bpf/src/acks.h).
  const supervisor = new HelperSupervisor(
    {
      command: c.SLUICE_BPF_BIN,
      args: [
        '--pin',
        c.SLUICE_BPF_PIN,
        'stream',
        ...(stream.format === 'packed' ? ['--packed'] : []),
        '--counters-ms',
        String(c.SLUICE_BPF_COUNTERS_MS),
        '--ack-stdin',
        '--max-unacked',
        String(c.READER_ACK_WINDOW),
      ],
      backoffMinMs: c.READER_BACKOFF_MIN_MS,
      backoffMaxMs: c.READER_BACKOFF_MAX_MS,
      stableMs: 10_000,
    },
    {
      streamBegins: () => core.streamStarted(),
      started: (pid) => {
        helperUp = 1;
        readiness.set('helper', true, `pid ${pid}`);
        log.info({ pid }, 'sluice-bpf stream started');
        if (downSince !== undefined && restartsSeen > 0) health('ok', 'egress_reader_available', `sluice-bpf stream running again (pid ${pid})`);
        downSince = undefined;
      },
      data: (chunk) => {
        try {
          core.push(chunk);
          if (idleCut.cutNow(batcher.pending, publisher.queuedRecords)) batcher.cut();
        } catch (err) {
          // A bug must not take the reader down: lose (and count) this chunk, keep draining.
          ledger.drop('reader', 'internal', core.estimateRecords(chunk.length));
          log.error({ err }, 'reader failed on a chunk; dropped and counted');
        }
        if (core.stats.skippedBytes !== lastSkipped) {
          skipped.add(core.stats.skippedBytes - lastSkipped);
          lastSkipped = core.stats.skippedBytes;
        }
      },
      exited: (exit, retryInMs) => {
        core.end();
        helperUp = 0;
        if (retryInMs < 0) return; // we stopped it
        restarts.add(1);
        restartsSeen++;
        downSince ??= Date.now();
        downReason = `sluice-bpf stream exited (${exit.signal ?? `code ${exit.code}`}): ${exit.stderr.split('\n').at(-1) ?? ''}`;
        readiness.set('helper', false, downReason);
        log.error({ code: exit.code, signal: exit.signal, stderr: exit.stderr, ranMs: exit.ranMs, retryInMs }, 'sluice-bpf stream exited; restarting');
        health('unavailable', 'egress_reader_unavailable', `${downReason}; restarting in ${retryInMs} ms; enforcement continues in the kernel`);
      },
      spawnFailed: (err, retryInMs) => {
        helperUp = 0;
        downSince ??= Date.now();
        downReason = `cannot start ${c.SLUICE_BPF_BIN}: ${err.message}`;
        readiness.set('helper', false, downReason);
        log.error({ err: err.message, retryInMs }, 'cannot start sluice-bpf');
        if (retryInMs >= 0) health('unavailable', 'egress_reader_unavailable', `${downReason}; retrying in ${retryInMs} ms`);
      },
    },
  );
  const publishDrops = (): Promise<void> => {
    const now = new Date();
    const notes: DropNotification[] = ledger.takeNotifications(node, c.READER_DROPS_INTERVAL_MS / 1000, now);
    for (const n of notes) nc.publish(subjects.drops(node), JSON.stringify(n));
    return noticer.round(roundDrops(notes), core.kernel.accounted, now);
  };
  const timers = [
    setInterval(() => core.summarise(), c.READER_SUMMARY_MS),
    setInterval(() => void publishDrops(), c.READER_DROPS_INTERVAL_MS),
    setInterval(() => clock.resync(), c.READER_CLOCK_RESYNC_MS),
    setInterval(() => {
      flushHandled();
      const n = core.acks.ackable(batcher.openMark);
      if (n !== undefined) supervisor.ack(n);
    }, c.READER_ACK_MS),
    setInterval(() => {
      if (downSince !== undefined && Date.now() - downSince >= c.READER_HEALTH_REPEAT_MS) {
        health('unavailable', 'egress_reader_unavailable', `${downReason}; down for ${Math.round((Date.now() - downSince) / 1000)} s`);
      }
    }, c.READER_HEALTH_REPEAT_MS),
  ];
  supervisor.start();

  return {
    stop: [
      // The helper drains the ring on SIGTERM; then everything in hand is batched and published.
      { name: 'helper', run: () => supervisor.stop(Math.min(1500, c.SHUTDOWN_TIMEOUT_MS / 3)) },
      {
        name: 'flush',
        run: async () => {
          for (const t of timers) clearInterval(t);
          flushHandled();
          core.summarise();
          batcher.cut();
          const left = await publisher.idle(c.SHUTDOWN_TIMEOUT_MS / 3);
          // Not acknowledged to the helper, so still in the ring: the next reader sends them again.
          publisher.close(true);
          await publishDrops();
          log.info({ left, received: core.stats.received, suppressed: core.stats.suppressed }, 'reader flushed');
        },
      },
    ],
  };
}
