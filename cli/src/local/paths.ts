import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The checkout the CLI runs from; local state lives under it, like scripts/services.sh's. */
export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const RUN_DIR = process.env.SLUICE_RUN_DIR ?? join(REPO_ROOT, '.run');
export const SERVICES_SH = join(REPO_ROOT, 'scripts', 'services.sh');
export const HELPER = process.env.SLUICE_BPF_HELPER ?? join(REPO_ROOT, 'bpf', 'build', 'sluice-bpf');
