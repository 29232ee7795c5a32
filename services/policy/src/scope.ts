// Programs are loaded and attached to the managed scopes before the policy service takes the
// writer lock for its lifetime (its apply session): after that, `load`/`attach` from anyone
// else would be refused. Both helper commands are idempotent, so this runs on every start and a
// restart never detaches anything.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run as helper } from './helper.ts';

export class ScopeError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
  ) {
    super(message);
    this.name = 'ScopeError';
  }
}

/** `load`'s word on the tamper guard (bpf/tamper.bpf.c); `absent` comes with the helper's reason on stderr. */
export type TamperGuard = 'attached' | 'attached_unverified' | 'absent' | 'unknown';

export interface Loaded {
  scopes: string[];
  tamperGuard: TamperGuard;
  /** The helper's warnings (why the guard is absent), for the log. */
  warnings: string;
}

export async function loadAndAttach(bin: string, pin: string, cgroupRoot: string, scopes: string[], ringbufBytes = 0): Promise<Loaded> {
  const load = await helper(bin, ['--pin', pin, 'load', ...(ringbufBytes > 0 ? ['--ringbuf-size', String(ringbufBytes)] : [])]);
  if (load.code !== 0) throw new ScopeError(`sluice-bpf load failed (${load.code}): ${load.stderr.trim()}`, load.code);
  const tamperGuard = tamperGuardOf(load.stdout);
  const attached: string[] = [];
  for (const scope of scopes) {
    const path = join(cgroupRoot, scope);
    // The scope may not exist yet (no container started since boot): create it so the programs are
    // in place before the first container is.
    mkdirSync(path, { recursive: true });
    const r = await helper(bin, ['--pin', pin, 'attach', path]);
    if (r.code !== 0) throw new ScopeError(`sluice-bpf attach ${path} failed (${r.code}): ${r.stderr.trim()}`, r.code);
    attached.push(path);
  }
  return { scopes: attached, tamperGuard, warnings: load.stderr.trim() };
}

export function tamperGuardOf(loadStdout: string): TamperGuard {
  try {
    const g = (JSON.parse(loadStdout) as { tamper_guard?: unknown }).tamper_guard;
    return g === 'attached' || g === 'attached_unverified' || g === 'absent' ? g : 'unknown';
  } catch {
    return 'unknown';
  }
}
