export interface CheckResult {
  name: string;
  ok: boolean;
  /** Optional checks (OpenSearch, Docker) warn instead of failing the doctor. */
  optional?: boolean;
  detail: string;
  /** What to do about a failure. */
  hint?: string;
}

export function formatResults(results: CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  return results
    .map((r) => {
      const mark = r.ok ? 'ok  ' : r.optional ? 'warn' : 'FAIL';
      const hint = !r.ok && r.hint ? `\n${' '.repeat(width + 9)}fix: ${r.hint}` : '';
      return `[${mark}] ${r.name.padEnd(width)}  ${r.detail}${hint}`;
    })
    .join('\n');
}

/** Kernel release "6.1.0-13-amd64" → [6, 1]. */
export function kernelVersion(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

export const atLeast = (v: [number, number], want: [number, number]) => v[0] > want[0] || (v[0] === want[0] && v[1] >= want[1]);
