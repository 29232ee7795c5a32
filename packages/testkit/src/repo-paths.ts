// Paths inside this clone that test support starts things from.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** The `sluice-bpf` helper `make -C bpf` builds. */
export const SLUICE_BPF = join(REPO_ROOT, 'bpf', 'build', 'sluice-bpf');
