// Resident memory of a set of processes over a window: VmRSS from /proc/<pid>/status, sampled
// every `everyMs`; mean and peak per name. A process that exits mid-window just stops adding samples.
import { rssMb } from './proc.ts';

export class RssWatch {
  private readonly samples = new Map<string, number[]>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pids: Readonly<Record<string, number>>) {}

  start(everyMs = 250): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  /** Stops sampling; per name, the mean and the peak of the window (MiB). */
  stop(): Record<string, { mean: number; peak: number }> {
    clearInterval(this.timer);
    this.sample();
    const out: Record<string, { mean: number; peak: number }> = {};
    for (const [name, xs] of this.samples) {
      if (xs.length === 0) continue;
      out[name] = { mean: xs.reduce((a, v) => a + v, 0) / xs.length, peak: Math.max(...xs) };
    }
    return out;
  }

  private sample(): void {
    for (const [name, pid] of Object.entries(this.pids)) {
      try {
        const xs = this.samples.get(name) ?? [];
        xs.push(rssMb(pid));
        this.samples.set(name, xs);
      } catch {
        // exited: its samples so far stand
      }
    }
  }
}

/** `mem.<name>.<phase>_rss_mb` (mean over the window) and, under load, `mem.<name>.load_peak_rss_mb`. */
export function memFigures(idle: Record<string, { mean: number }>, load: Record<string, { mean: number; peak: number }>): Record<string, number> {
  const out: Record<string, number> = {};
  const r = (x: number) => Math.round(x * 10) / 10;
  for (const [name, v] of Object.entries(idle)) out[`mem.${name}.idle_rss_mb`] = r(v.mean);
  for (const [name, v] of Object.entries(load)) {
    out[`mem.${name}.load_rss_mb`] = r(v.mean);
    out[`mem.${name}.load_peak_rss_mb`] = r(v.peak);
  }
  return out;
}
