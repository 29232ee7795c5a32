// The e2e bench's report: the sink's bulk figures from its metrics, and the lines said below the figures.
/** Mean documents and duration of the sink's bulks, from its metrics (histogram sums and counts). */
export function sinkBulks(text: string): Record<string, number> {
  const v = (re: RegExp): number => {
    let sum = 0;
    for (const m of text.matchAll(re)) sum += Number(m[1]);
    return sum;
  };
  const n = v(/^sluice_sink_bulk_docs_count(?:\{[^}]*\})? (\S+)$/gm);
  const docs = v(/^sluice_sink_bulk_docs_sum(?:\{[^}]*\})? (\S+)$/gm);
  const ms = v(/^sluice_sink_bulk_duration_ms[a-z_]*_sum(?:\{[^}]*\})? (\S+)$/gm);
  process.stderr.write(`e2e bench: sink bulks ${n}, docs ${docs}, ms ${ms.toFixed(0)}\n`);
  return n > 0 ? { 'e2e.sink.bulks': n, 'e2e.sink.bulk_docs_mean': Math.round(docs / n), 'e2e.sink.bulk_ms_mean': Math.round(ms / n) } : {};
}

/** What went wrong or was left out of a run, said below the figures. */
export interface RunNotes {
  stampNote?: string | undefined;
  stageFailure?: string | undefined;
  sideFailure?: string | undefined;
}

/** Markdown for latest.md: the goal, whether it held, the stages by p99 and where the CPU went. */
export function limitNotes(f: Record<string, number>, { stampNote, stageFailure, sideFailure }: RunNotes): string[] {
  const p99 = f['e2e.latency_p99_ms']!;
  const goal = f['e2e.goal_ms']!;
  const stages = Object.entries(f)
    .filter(([k]) => k.startsWith('e2e.stage.') && k.endsWith('_p99_ms'))
    .sort(([, a], [, b]) => b - a)
    .map(([k, v]) => `${k.slice('e2e.stage.'.length, -'_p99_ms'.length)} ${v} ms`);
  const side = Object.entries(f)
    .filter(([k]) => k.startsWith('e2e.side.'))
    .map(([k, v]) => `${k.slice('e2e.side.'.length, -'_cpu_cores'.length)} ${v.toFixed(2)}`);
  const servers = Object.entries(f)
    .filter(([k]) => k.startsWith('e2e.server.'))
    .map(([k, v]) => [k.slice('e2e.server.'.length, -'_cpu_cores'.length), v] as const);
  const serverSum = servers.reduce((a, [, v]) => a + v, 0);
  const other =
    f['e2e.machine_cpu_cores']! - f['e2e.pipeline_cpu_cores']! - f['e2e.side_cpu_cores']! - f['e2e.opensearch_cpu_cores']! - serverSum - (f['e2e.bench_cpu_cores'] ?? 0);
  return [
    `- **e2e**: p99 ${p99} ms at ${f['e2e.offered_per_s']}/s offered, ${f['e2e.indexed_per_s']}/s indexed; goal ≤ refresh interval + 500 ms = ${goal} ms: ` +
      `${p99 <= goal ? 'met' : 'not met'}. Stages by p99: ${stages.join(', ')}. CPU in cores: pipeline ${f['e2e.pipeline_cpu_cores']!.toFixed(2)}, ` +
      `side services ${f['e2e.side_cpu_cores']!.toFixed(2)} (${side.join(', ')}), OpenSearch ${f['e2e.opensearch_cpu_cores']!.toFixed(2)}, ` +
      `${servers.map(([k, v]) => `${k}-server ${v.toFixed(2)}, `).join('')}this bench's process (the watch's polls) ${(f['e2e.bench_cpu_cores'] ?? 0).toFixed(2)}, ` +
      `everything else (the producer's syscalls and the kernel's work for them, Docker, other work on the machine) ${other.toFixed(2)}` +
      (f['e2e.other_cpu_cores'] === undefined ? '' : ` (other processes seen: ${f['e2e.other_cpu_cores'].toFixed(2)} at normal priority, ${(f['e2e.other_niced_cpu_cores'] ?? 0).toFixed(2)} niced)`) +
      `, whole machine ${f['e2e.machine_cpu_cores']!.toFixed(2)} of 2.`,
    ...ladderNote(f, goal),
    ...(stampNote ? [`- **e2e stages**: ${stampNote}.`] : []),
    ...(stageFailure ? [`- **e2e stages failed**: ${stageFailure}`] : []),
    ...(sideFailure ? [`- **e2e memory**: learner, policy and otlp-receiver did not start, so no figures for them: ${sideFailure}`] : []),
  ];
}

/** The rate ladder's line: p99 per offered rate, and the highest rate that met the goal. */
function ladderNote(f: Record<string, number>, goal: number): string[] {
  const steps = Object.entries(f)
    .filter(([k]) => /^e2e\.ladder\.\d+_p99_ms$/.test(k))
    .map(([k, v]) => [Number(k.split('.')[2]!.split('_')[0]), v] as const)
    .sort(([a], [b]) => a - b);
  if (steps.length === 0) return [];
  const rate = f['e2e.goal_rate_per_s'] ?? 0;
  return [
    `- **e2e rate ladder** (p99 by offered rate, after the main burst): ${steps.map(([r, v]) => `${r}/s ${v} ms`).join(', ')}; ` +
      (rate > 0 ? `the goal (${goal} ms) held up to ${rate}/s on this machine.` : `the goal (${goal} ms) held at no step.`),
  ];
}
