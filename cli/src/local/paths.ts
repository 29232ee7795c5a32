import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/**
 * The checkout the CLI runs from; local state lives under it, like scripts/services.sh's. Found by
 * walking up to the workspace file, because this module runs both from cli/src/local (sources) and
 * bundled into cli/dist/main.js.
 */
export const REPO_ROOT = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`sluice: no pnpm-workspace.yaml above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
})();
export const RUN_DIR = process.env.SLUICE_RUN_DIR ?? join(REPO_ROOT, '.run');
export const SERVICES_SH = join(REPO_ROOT, 'scripts', 'services.sh');
export const HELPER = process.env.SLUICE_BPF_BIN || join(REPO_ROOT, 'bpf', 'build', 'sluice-bpf');
