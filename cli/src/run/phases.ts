// `sluice run --timings`: how long each start-up step took, so a slow start says where it went
// (pipeline check, NATS, cgroup, identity, policy, the kernel entry) instead of one opaque number.
export class Phases {
  // performance.now() counts from the process's time origin, so the first step includes Node's own
  // boot and module loading: the part of a start-up a user waits through too.
  private last = 0;
  private readonly started = 0;
  private readonly steps: Array<[string, number]> = [];

  mark(step: string): void {
    const now = performance.now();
    this.steps.push([step, now - this.last]);
    this.last = now;
  }

  /** One line: each step's ms, then the total since construction. */
  format(): string {
    const parts = this.steps.map(([s, ms]) => `${s} ${Math.round(ms)}`);
    return `start-up ms: ${parts.join(', ')}; total ${Math.round(this.last - this.started)}`;
  }
}
