// A replay range: `--from`/`--to` are either stream sequences (digits) or times (ISO or a
// duration ago, like tail's --since). Pure, so the parsing rules are tested without a server.
import { UsageError } from '../command.ts';
import { parseSince } from '../events/filter.ts';

export type Bound = { seq: number } | { time: number };

export function parseBound(flag: string, value: string, now = Date.now()): Bound {
  if (/^\d+$/.test(value)) {
    const seq = Number(value);
    if (seq < 1) throw new UsageError(`${flag} ${value}: stream sequences start at 1`);
    return { seq };
  }
  try {
    return { time: parseSince(value, now) };
  } catch {
    throw new UsageError(`${flag} ${JSON.stringify(value)}: expected a stream sequence, an ISO time or a duration like 2h`);
  }
}

/** True once a message is past the `to` bound (inclusive bound). */
export function pastEnd(to: Bound | undefined, seq: number, timeMs: number): boolean {
  if (!to) return false;
  return 'seq' in to ? seq > to.seq : timeMs > to.time;
}
