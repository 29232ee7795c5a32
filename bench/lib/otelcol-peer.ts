// The OpenTelemetry Collector peer of the sink bench: the collector built by scripts/build-otelcol.sh
// (filelog receiver, batch processor, and opensearchexporter, or the nop exporter when that one
// cannot be built here), fed the very NDJSON the Sluice sink gets from JetStream, one event a line.
// Progress is read from the collector's own telemetry (Prometheus text on a private port).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds } from './proc.ts';

export interface OtelcolBuild {
  variant: 'opensearch' | 'nop';
  binary: string;
  release: string;
  /** Why opensearchexporter did not build, as the Go toolchain said it (null when it did). */
  opensearch_error: string | null;
}

/** Runs (or reuses the cache of) scripts/build-otelcol.sh; its error output when nothing builds. */
export function buildOtelcol(repoRoot: string): OtelcolBuild | { error: string } {
  const r = spawnSync('bash', [join(repoRoot, 'scripts/build-otelcol.sh')], { encoding: 'utf8' });
  if (r.status !== 0) return { error: (r.stderr || r.stdout || `exit ${r.status}`).trim().split('\n').slice(-5).join(' / ') };
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as OtelcolBuild;
}

export interface OtelcolRun {
  file: string;
  metricsPort: number;
  variant: OtelcolBuild['variant'];
  opensearch?: { url: string; index: string };
  batch: number;
}

/** The collector's config (JSON is YAML, which the file provider reads). */
export function otelcolConfig(o: OtelcolRun): string {
  const exporter = o.variant === 'nop' ? { nop: {} } : { opensearch: { http: { endpoint: o.opensearch!.url }, logs_index: o.opensearch!.index } };
  return JSON.stringify(
    {
      receivers: {
        filelog: { include: [o.file], start_at: 'beginning', poll_interval: '50ms', operators: [{ type: 'json_parser' }] },
      },
      processors: { batch: { send_batch_size: o.batch, send_batch_max_size: o.batch, timeout: '200ms' } },
      exporters: exporter,
      service: {
        telemetry: {
          logs: { level: 'warn' },
          metrics: { level: 'normal', readers: [{ pull: { exporter: { prometheus: { host: '127.0.0.1', port: o.metricsPort } } } }] },
        },
        pipelines: { logs: { receivers: ['filelog'], processors: ['batch'], exporters: [o.variant] } },
      },
    },
    null,
    2,
  );
}

/**
 * Sum of every sample of `name` (any labels) in a Prometheus text exposition, with or without the
 * `_total` suffix (the collector's exporter drops it on some releases); undefined if absent.
 */
export function metricSum(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && (m[1] === name || m[1] === `${name}_total`)) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

export interface ConsumerResult {
  docs: number;
  seconds: number;
  cpuSeconds: number;
}

/**
 * Starts the collector on an empty directory, waits for its telemetry to answer, then renames the
 * file of `lines` into the directory it watches, and waits until the receiver accepted and the
 * exporter (batch processor, for nop) sent every line. Clock and CPU count (the collector
 * process's own) start at the rename: its start-up is not counted, as the sink's is not.
 */
export async function runOtelcol(build: OtelcolBuild, lines: string[], metricsPort: number, opensearch?: OtelcolRun['opensearch']): Promise<ConsumerResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-otelcol-'));
  const staged = join(dir, 'staged.tmp');
  writeFileSync(staged, `${lines.join('\n')}\n`);
  const config = join(dir, 'config.yaml');
  writeFileSync(config, otelcolConfig({ file: join(dir, 'events-*.ndjson'), metricsPort, variant: build.variant, opensearch, batch: 1000 }));
  const child = spawn(build.binary, ['--config', `file:${config}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const metrics = () => fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text(), () => undefined);
  try {
    const deadline = Date.now() + 300_000;
    const alive = () => {
      if (child.exitCode !== null) throw new Error(`otelcol exited ${child.exitCode}: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`otelcol did not take all ${lines.length} lines in 300 s: ${stderr}`);
    };
    while ((await metrics()) === undefined) {
      alive();
      await new Promise((r) => setTimeout(r, 50));
    }
    const cpu0 = cpuSeconds(child.pid!);
    const t0 = performance.now();
    renameSync(staged, join(dir, 'events-1.ndjson'));
    for (;;) {
      alive();
      const text = (await metrics()) ?? '';
      const accepted = metricSum(text, 'otelcol_receiver_accepted_log_records') ?? 0;
      const sent = build.variant === 'nop' ? metricSum(text, 'otelcol_processor_batch_batch_send_size_sum') : metricSum(text, 'otelcol_exporter_sent_log_records');
      if (accepted >= lines.length && (sent ?? 0) >= lines.length) {
        return { docs: lines.length, seconds: (performance.now() - t0) / 1000, cpuSeconds: cpuSeconds(child.pid!) - cpu0 };
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
}
