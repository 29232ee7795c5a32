// The reader's per-boot record sequence, from which event ids <node>:<bootId>:<seq> are made.
// A restarted reader must never reuse a number (JetStream would drop the new batch as a duplicate
// of an old one: silent loss), so numbers are handed out from a reservation persisted *before*
// use, and a restart starts past the last reservation. If the state file is lost, the start is
// still past every number used so far: it is at least the boot clock in microseconds, and the
// reader never sustains a million records per second (the pipe from the helper tops out well
// below), so a previous run cannot have got ahead of that clock.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface SeqState {
  bootId: string;
  /** Every number below this may have been used. */
  reserved: number;
}

/** Where a fresh reader starts numbering. */
export function startSeq(persisted: SeqState | undefined, bootId: string, bootClockUs: number): number {
  const floor = Math.floor(bootClockUs);
  if (!persisted || persisted.bootId !== bootId) return floor;
  return Math.max(persisted.reserved, floor);
}

export class SequenceAllocator {
  private reserved: number;

  constructor(
    private next: number,
    private readonly block: number,
    /** Must durably record `reserved` or throw; called before numbers below it are handed out. */
    private readonly persist: (reserved: number) => void,
    private readonly onPersistError: (err: unknown) => void = () => {},
  ) {
    this.reserved = next;
  }

  /** First of `n` consecutive fresh numbers. */
  take(n: number): number {
    const first = this.next;
    this.next += n;
    if (this.next > this.reserved) {
      this.reserved = this.next + this.block;
      try {
        this.persist(this.reserved);
      } catch (err) {
        // The boot-clock floor still keeps a restart from reusing numbers; say so, keep going.
        this.onPersistError(err);
      }
    }
    if (!Number.isSafeInteger(this.next)) throw new Error(`sequence ${this.next} passed 2^53`);
    return first;
  }

  get peek(): number {
    return this.next;
  }
}

export function loadSeqState(path: string): SeqState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const v = JSON.parse(text) as Partial<SeqState>;
  if (typeof v.bootId !== 'string' || !Number.isSafeInteger(v.reserved)) {
    throw new Error(`${path}: not a sequence state file (want {"bootId": string, "reserved": integer})`);
  }
  return { bootId: v.bootId, reserved: v.reserved! };
}

/** Replace atomically (write + rename): a crash leaves the old or the new state, never half. */
export function saveSeqState(path: string, state: SeqState): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, path);
}
