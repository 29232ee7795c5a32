// The Prometheus text exposition format (what /metrics serves), read back: by the CLI's status
// (drop counters of a running pipeline) and by tests asserting on counters. Comments and
// `# HELP`/`# TYPE` lines are skipped; a sample's optional timestamp is ignored.

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g;
const UNESCAPE: Record<string, string> = { n: '\n', '\\': '\\', '"': '"' };

function number(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

export function parsePrometheusText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) labels[k!] = v!.replace(/\\(.)/g, (all, c: string) => UNESCAPE[c] ?? all);
    out.push({ name: m[1]!, labels, value: number(m[3]!) });
  }
  return out;
}

/** The sum of one metric's samples whose labels include every pair of `match` (0 when none). */
export function metricValue(text: string, name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const s of parsePrometheusText(text)) {
    if (s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

/** One metric's samples summed per value of one label (e.g. drops per `reason`). */
export function metricByLabel(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of parsePrometheusText(text)) {
    if (s.name !== name) continue;
    const key = s.labels[label] ?? 'unknown';
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}
