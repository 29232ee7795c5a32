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

export async function loadAndAttach(bin: string, pin: string, cgroupRoot: string, scopes: string[], ringbufBytes = 0): Promise<string[]> {
  const load = await helper(bin, ['--pin', pin, 'load', ...(ringbufBytes > 0 ? ['--ringbuf-size', String(ringbufBytes)] : [])]);
  if (load.code !== 0) throw new ScopeError(`sluice-bpf load failed (${load.code}): ${load.stderr.trim()}`, load.code);
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
  return attached;
}
