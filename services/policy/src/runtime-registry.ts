// The sluice-runc runtime wrapper (infra/runtime/sluice-runc) holds a container's `runc create`
// until its cgroup has a policy entry. It needs to know, for a cgroup path, which node's maps govern
// it: each policy service registers its scopes, pin dir and helper in one small file per pin dir
// under /run/sluice/runtime/. The file stays when the service stops (the programs and maps stay in
// force too); a later start rewrites it.
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const RUNTIME_REGISTRY_DIR = '/run/sluice/runtime';

export interface RuntimeRegistration {
  scopes: readonly string[];
  pin: string;
  bin: string;
  cgroupRoot: string;
}

/** KEY=VALUE lines, values without spaces or quotes so the bash wrapper can read them plainly. */
export function registrationText(r: RuntimeRegistration): string {
  for (const v of [...r.scopes, r.pin, r.bin, r.cgroupRoot]) {
    if (/[\s'"\\$`]/.test(v)) throw new Error(`runtime registration: ${JSON.stringify(v)} contains whitespace or shell quoting`);
  }
  return `SCOPES=${r.scopes.join(',')}\nPIN=${r.pin}\nBIN=${r.bin}\nCGROUP_ROOT=${r.cgroupRoot}\n`;
}

export function writeRuntimeRegistration(r: RuntimeRegistration, dir = RUNTIME_REGISTRY_DIR): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${createHash('sha256').update(r.pin).digest('hex').slice(0, 16)}.env`);
  writeFileSync(`${file}.tmp`, registrationText(r));
  renameSync(`${file}.tmp`, file);
  return file;
}
