// Variables specific to the bpf-reader; the shared ones (NATS_URL, LOG_LEVEL, METRICS_PORT, NODE_NAME, …)
// come from @sluice/runtime's commonEnv.
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { KV_BUCKETS } from '@sluice/contracts';

export const DEFAULT_METRICS_PORT = 9464;

const int = (min: number) => z.coerce.number().int().min(min);

export const env = {
  /** The helper; defaults to the repository build. */
  SLUICE_BPF_BIN: z.string().min(1).default(fileURLToPath(new URL('../../../bpf/build/sluice-bpf', import.meta.url))),
  SLUICE_BPF_PIN: z.string().min(1).default('/sys/fs/bpf/sluice'),
  /** How often the helper appends kernel counters in-band (ms). */
  SLUICE_BPF_COUNTERS_MS: int(10).default(1000),
  /** Sequence reservations live here (a restarted reader never reuses an event id). */
  READER_STATE_DIR: z.string().min(1).default('/var/lib/sluice/bpf-reader'),
  /** Per-cgroup token bucket (P14): records/s (0 = off) and burst. */
  READER_RATE_PER_S: int(0).default(2000),
  READER_RATE_BURST: int(1).default(10_000),
  READER_RATE_MAX_CGROUPS: int(1).default(65_536),
  /** How often suppressed records are summarised into SUPPRESSED records. */
  READER_SUMMARY_MS: int(10).default(5000),
  /**
   * Batch bounds: records per SLUICE_RAW message (packed, at most 260 B each; NATS max_payload is 1 MiB) and max
   * wait. The wait applies under load only: after a quiet READER_BATCH_MS, records go at once (idle-cut.ts).
   * Below ~80k records/s the wait cuts batches first, so the size bound only matters under heavy load, where
   * bigger batches are cheaper downstream: the attributor publishes one message per workload and verdict
   * per raw batch, so at 200 workloads a 1,024-record batch made ~530 messages of ~2 records each, and a
   * 4,000-record batch ~5 records a message (attributor CPU per million records 25.0 → 17.8, bench/attributor.ts).
   */
  READER_BATCH_RECORDS: int(1).max(4000).default(4000),
  READER_BATCH_MS: int(1).default(50),
  /**
   * SLUICE_RAW body format (packages/contracts raw-batch.ts): packed drops each record's trailing
   * zero bytes (about half of a connect record; JetStream's cost follows the bytes); fixed is the
   * 256-byte stride that attributors from before the packed format read. Upgrade the attributors
   * first, or run readers with fixed until they are: an older attributor refuses a packed batch.
   */
  READER_RAW_FORMAT: z.enum(['packed', 'fixed']).default('packed'),
  /**
   * What to ask of the helper: auto takes the packed stream (`sluice-bpf stream --packed`: records
   * already in the packed body form, half the bytes through the pipe, no repacking in the reader)
   * when READER_RAW_FORMAT is packed and the helper's `version` lists it; fixed always takes the
   * 256-byte records every helper writes.
   */
  READER_STREAM_FORMAT: z.enum(['auto', 'fixed']).default('auto'),
  /** Records buffered (queued + in flight) while NATS is slow or away; beyond it, counted drops. */
  READER_QUEUE_RECORDS: int(1).default(262_144),
  READER_PUBLISH_INFLIGHT: int(1).default(16),
  READER_PUBLISH_TIMEOUT_MS: int(100).default(5000),
  READER_DROPS_INTERVAL_MS: int(100).default(10_000),
  /** KV bucket holding each node's drop account (what its notices covered; a restart resumes from it). */
  READER_DROPS_BUCKET: z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be a valid KV bucket name').default(KV_BUCKETS.dropAccounts.name),
  READER_CLOCK_RESYNC_MS: int(100).default(10_000),
  /**
   * Records the helper may have sent but the reader not yet acknowledged (JetStream has them, or
   * their drop is counted); only then does the helper release them from the kernel ring, so a
   * kill -9 of the reader loses none. Beyond it the helper stops reading and the ring fills (the
   * kernel counts ringbuf_full). Also how many records a restarted reader checks for re-delivery.
   */
  READER_ACK_WINDOW: int(2).max(1 << 24).default(16_384),
  /** How often the reader tells the helper what is acknowledged (ms): the ring holds this much more. */
  READER_ACK_MS: int(1).max(1000).default(20),
  READER_BACKOFF_MIN_MS: int(1).default(100),
  READER_BACKOFF_MAX_MS: int(1).default(5000),
  /** While the helper is down, repeat the unavailable health event this often. */
  READER_HEALTH_REPEAT_MS: int(100).default(5000),
};
