// OTLP ingest throughput against the real NATS + OpenSearch: `otlp.logs_per_s` is the rate at which
// log records sent over OTLP/HTTP (protobuf, Claude Code api_request-shaped, 1,000 records per
// request, 4 requests in flight on keep-alive connections) become searchable documents in
// `<prefix>claude`: clock from the first request sent to a plain `_count` (no forced refresh) reaching N. Real processes in
// between: the otlp-receiver (decode, attribute, redact, publish to JetStream and wait for the acks)
// and the sink (pull, validate, bulk into the data stream). Goal ≥ 10,000/s.
// `otlp.accept_per_s`: the receiver's side alone (all requests answered 200), same run.
// Where the CPU goes over the measured phase: `otlp.cpu.<receiver|sink|opensearch|machine>_cores`, and
// per record `otlp.<receiver|sink|opensearch>_us_per_record` (CPU-µs; OpenSearch's is per document).
// The request bodies are encoded before the clock starts with the OTLP protobuf code the receiver
// decodes with (@opentelemetry/otlp-transformer's generated module), so the sender costs little.
// Measured warm: BENCH_OTLP_WARMUP records (default 400,000) go the same way into the same stream
// first, unclocked. 150,000 was not enough for the claude mapping's own indexing path on a fresh
// node: the same code gave 8,042/s after 150,000 and 10,283/s after 400,000 (2026-12-02). A freshly started OpenSearch indexes at half speed or less until its JIT has
// compiled the indexing path (a bare bulk loader here: ~3,000 docs/s on the first 12,000 documents,
// ~6,500 on the next 12,000), and an operator's OpenSearch is not freshly started. Since 2026-12-02
// OpenSearch is first warmed on its own (lib/opensearch-warm.ts, 200,000 egress documents straight
// to `_bulk`): bench/lib/os-cost.ts found a fresh node's JIT still busy after 130,000 documents.
// Knobs: BENCH_OTLP_RECORDS, BENCH_OTLP_PER_REQUEST, BENCH_OTLP_INFLIGHT; for finding where the time
// goes, BENCH_OTLP_DEBUG (print the count timeline and the sink's bulk metrics) and BENCH_OTLP_PROF=<dir>
// (a CPU profile of both services into <dir>), BENCH_OTLP_SINK_ENV (JSON env for the sink, for tuning).
import { Agent, request } from 'node:http';
import { closeSlice, freePort, openSlice, searchableCount, startOtlpReceiver, startSink, stopService } from '@sluice/testkit';
import { ExportLogsServiceRequest } from '../services/otlp-receiver/src/proto.ts';
import { openSearchCpuSeconds } from './lib/opensearch-cpu.ts';
import { warmOpenSearch, WARM_DOCS } from './lib/opensearch-warm.ts';
import { cpuSeconds, machineBusySeconds } from './lib/proc.ts';

const RECORDS = Number(process.env.BENCH_OTLP_RECORDS ?? 200_000);
const WARMUP = Number(process.env.BENCH_OTLP_WARMUP ?? 400_000);
const PER_REQUEST = Number(process.env.BENCH_OTLP_PER_REQUEST ?? 1000);
const INFLIGHT = Number(process.env.BENCH_OTLP_INFLIGHT ?? 4);
const DEBUG = process.env.BENCH_OTLP_DEBUG !== undefined;
const SINK_ENV = JSON.parse(process.env.BENCH_OTLP_SINK_ENV ?? '{}') as Record<string, string>;
const PROF: Record<string, string> = process.env.BENCH_OTLP_PROF
  ? { NODE_OPTIONS: `--import ${new URL('./lib/cpu-profile.mjs', import.meta.url).pathname}`, SLUICE_CPU_PROFILE_DIR: process.env.BENCH_OTLP_PROF }
  : {};

function body(first: number, n: number): Uint8Array {
  const now = BigInt(Date.now()) * 1_000_000n;
  const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
  const int = (key: string, v: number) => ({ key, value: { intValue: v } });
  return ExportLogsServiceRequest.encode(
    ExportLogsServiceRequest.fromObject({
      resourceLogs: [
        {
          resource: { attributes: [str('service.name', 'claude-code'), str('service.version', '2.0.1')] },
          scopeLogs: [
            {
              scope: { name: 'com.anthropic.claude_code.events', version: '2.0.1' },
              logRecords: Array.from({ length: n }, (_, i) => ({
                timeUnixNano: String(now + BigInt(first + i)),
                severityNumber: 9,
                body: { stringValue: 'claude_code.api_request' },
                attributes: [
                  str('event.name', 'api_request'),
                  str('session.id', 'bench-session'),
                  str('model', 'claude-sonnet-4'),
                  { key: 'cost_usd', value: { doubleValue: 0.0125 } },
                  int('input_tokens', 1200 + i),
                  int('output_tokens', 345),
                  int('duration_ms', 2100),
                ],
              })),
            },
          ],
        },
      ],
    }),
  ).finish();
}

function post(agent: Agent, url: string, payload: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', 'content-length': payload.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export async function run(): Promise<Record<string, number>> {
  const s = await openSlice('otlpbench');
  const rx = await startOtlpReceiver({
    NATS_URL: s.natsUrl,
    NODE_NAME: s.otlpNode,
    LOG_LEVEL: 'warn',
    OTLP_RATE_PER_SENDER: '1000000',
    OTLP_RATE_BURST: '1000000',
    ...PROF,
  });
  const sinkPort = await freePort();
  const sink = await startSink(s, sinkPort, { LOG_LEVEL: 'warn', ...PROF, ...SINK_ENV });
  try {
    const warmS = await warmOpenSearch(s);
    process.stderr.write(`otlp: OpenSearch warmed with ${WARM_DOCS} egress documents in ${warmS.toFixed(1)} s\n`);
    const index = 'claude';
    const agent = new Agent({ keepAlive: true, maxSockets: INFLIGHT });
    const bodiesFor = (first: number, n: number): Uint8Array[] => {
      const out: Uint8Array[] = [];
      for (let i = 0; i < n; i += PER_REQUEST) out.push(body(first + i, Math.min(PER_REQUEST, n - i)));
      return out;
    };
    // Sends the bodies INFLIGHT at a time and waits until `target` documents are searchable.
    const phase = async (bodies: Uint8Array[], target: number, label: string) => {
      const t0 = performance.now();
      let next = 0;
      let acceptedAt = 0;
      const sender = (async () => {
        await Promise.all(
          Array.from({ length: INFLIGHT }, async () => {
            while (next < bodies.length) {
              const b = bodies[next++]!;
              for (;;) {
                const status = await post(agent, rx.logsUrl, b);
                if (status === 200) break;
                if (status !== 503 && status !== 429) throw new Error(`receiver answered ${status}`);
                await new Promise((r) => setTimeout(r, 100));
              }
            }
          }),
        );
        acceptedAt = performance.now();
      })();
      let seen = -1;
      for (;;) {
        if (sink.child.exitCode !== null) throw new Error(`sink exited: ${sink.stderr().slice(-2000)}`);
        if (rx.proc.child.exitCode !== null) throw new Error(`receiver exited: ${rx.proc.stderr().slice(-2000)}`);
        // Searchable as a user sees it: no forced refresh (one every 200 ms would slow indexing down);
        // the stream's own refresh_interval (1 s) decides.
        const n = await s.os
          .count({ index: `${s.prefix}${index}` })
          .then((r) => (r.body as { count: number }).count)
          .catch(() => 0);
        if (DEBUG && n !== seen) process.stderr.write(`${label} ${Math.round(performance.now() - t0)} ms: ${n} searchable${acceptedAt ? '' : ' (still sending)'}\n`);
        seen = n;
        if (n >= target) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const ms = performance.now() - t0;
      await sender;
      return { ms, acceptMs: acceptedAt - t0 };
    };
    if (WARMUP > 0) {
      const w = await phase(bodiesFor(0, WARMUP), WARMUP, 'warm-up');
      process.stderr.write(`otlp: warm-up ${WARMUP} records searchable in ${Math.round(w.ms)} ms (${Math.round((WARMUP / w.ms) * 1000)}/s, not counted)\n`);
    }
    const measuredBodies = bodiesFor(WARMUP, RECORDS);
    const cpuNow = async () => ({
      receiver: cpuSeconds(rx.proc.child.pid!),
      sink: cpuSeconds(sink.child.pid!),
      opensearch: await openSearchCpuSeconds(s.opensearchUrl),
      machine: machineBusySeconds(),
    });
    const cpu0 = await cpuNow();
    const { ms, acceptMs } = await phase(measuredBodies, WARMUP + RECORDS, 'measured');
    const cpu1 = await cpuNow();
    const cores = (k: keyof typeof cpu0) => (cpu1[k] - cpu0[k]) / (ms / 1000);
    const usPerRecord = (k: keyof typeof cpu0) => ((cpu1[k] - cpu0[k]) / RECORDS) * 1e6;
    agent.destroy();
    if (DEBUG) {
      const m = await (await fetch(`http://127.0.0.1:${sinkPort}/metrics`)).text();
      process.stderr.write(`accepted after ${Math.round(acceptMs)} ms, searchable after ${Math.round(ms)} ms\n`);
      process.stderr.write(m.split('\n').filter((l) => /sluice_sink_bulk_(duration_ms|docs)_(sum|count)|requests|acked/.test(l)).join('\n') + '\n');
    }
    const count = await searchableCount(s, index);
    if (count !== WARMUP + RECORDS) throw new Error(`stored ${count} documents for ${WARMUP + RECORDS} records (${WARMUP} of them warm-up)`);
    process.stderr.write(`otlp: ${RECORDS} records searchable in ${Math.round(ms)} ms, accepted in ${Math.round(acceptMs)} ms\n`);
    process.stderr.write(
      `otlp: CPU cores over the measured phase: receiver ${cores('receiver').toFixed(2)}, sink ${cores('sink').toFixed(2)}, ` +
        `OpenSearch ${cores('opensearch').toFixed(2)}, whole machine ${cores('machine').toFixed(2)} of 2\n`,
    );
    return {
      'otlp.cpu.receiver_cores': cores('receiver'),
      'otlp.cpu.sink_cores': cores('sink'),
      'otlp.cpu.opensearch_cores': cores('opensearch'),
      'otlp.cpu.machine_cores': cores('machine'),
      'otlp.receiver_us_per_record': usPerRecord('receiver'),
      'otlp.sink_us_per_record': usPerRecord('sink'),
      'otlp.opensearch_us_per_record': usPerRecord('opensearch'),
      'otlp.logs_per_s': Math.round((RECORDS / ms) * 1000),
      'otlp.accept_per_s': Math.round((RECORDS / acceptMs) * 1000),
      'otlp.records': RECORDS,
      'otlp.warmup_records': WARMUP,
    };
  } finally {
    await rx.stop();
    await stopService(sink, 8000);
    await closeSlice(s);
  }
}
