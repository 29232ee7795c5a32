// The kernel minimum, feature by feature, as the kernel itself answers it: `sluice-bpf features`
// creates each map type, loads a two-instruction program per attach type, asks the verifier for
// each helper the programs call. A version string is read only where nothing could be probed
// (no helper built, not root), and then says so: distribution kernels backport features and
// leave others out of their config, so the version is a guess, the probe is not.
import { spawnSync } from 'node:child_process';
import { release } from 'node:os';
import { atLeast, kernelVersion, type CheckResult } from './check.ts';
import { HELPER } from '../local/paths.ts';

/** The newest feature the programs need: bpf_loop (5.17); then bpf_timer 5.15, cgroup/sock_release 5.9, ring buffer 5.8. */
export const KERNEL_MINIMUM: [number, number] = [5, 17];

export interface FeatureLine {
  feature: string;
  ok: boolean;
  probed: boolean;
  min_kernel: string | null;
  used_by: string;
  detail: string;
  /** Sluice runs without it (the tamper guard): missing warns, never fails. Absent in older helpers. */
  optional?: boolean;
}

/** The tamper guard's features: what the doctor says when they are missing. */
const TAMPER_ABSENT =
  'the tamper guard is absent: an agent holding root or CAP_DAC_OVERRIDE, with bpf() and the pins in reach, could detach enforcement; ' +
  'tamper protection relies on file permissions and seccomp (sluice run refuses bpf(); keep Docker\'s seccomp profile and no bpffs in containers)';

function parseLines(stdout: string): FeatureLine[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as FeatureLine);
}

const versionOf = (text: string): [number, number] => kernelVersion(text);

/** One check per feature. Pure: `lines` from the helper, `kernelRelease` from uname. */
export function featureResults(lines: readonly FeatureLine[], kernelRelease: string): CheckResult[] {
  const v = kernelVersion(kernelRelease);
  return lines.map((f) => {
    const since = f.min_kernel ? ` (mainline ${f.min_kernel})` : '';
    const name = `kernel: ${f.feature}`;
    if (f.optional) {
      return {
        name,
        ok: f.ok,
        optional: true,
        detail: f.ok ? `supported${f.probed ? ', probed' : ''}${since}; used by ${f.used_by}` : `absent${f.probed ? ', probed' : ''}: ${f.detail}; ${TAMPER_ABSENT}`,
        hint: 'a kernel built with CONFIG_BPF_LSM=y, booted with "bpf" in lsm= (cat /sys/kernel/security/lsm), that loads lsm/ programs',
      };
    }
    if (f.probed) {
      return {
        name,
        ok: f.ok,
        detail: f.ok ? `supported, probed${since}; used by ${f.used_by}` : `MISSING, probed: ${f.detail}${since}; used by ${f.used_by}`,
        hint: `a kernel with ${f.feature}${since}, built with CONFIG_BPF_SYSCALL, CONFIG_CGROUP_BPF${f.feature.startsWith('tp_btf') ? ', CONFIG_DEBUG_INFO_BTF' : ''}`,
      };
    }
    const guess = f.min_kernel ? atLeast(v, versionOf(f.min_kernel)) : true;
    return {
      name,
      ok: guess,
      detail: `not probed (${f.detail}); by version string ${kernelRelease}${f.min_kernel ? ` ${guess ? '≥' : '<'} ${f.min_kernel}` : ': no mainline release to compare'}`,
      hint: `run doctor as root so the kernel can be probed; ${f.feature} needs${since || ' a kernel that supports it'}`,
    };
  });
}

export function kernelFeatures(bin = HELPER, kernelRelease = release()): CheckResult[] {
  const r = spawnSync(bin, ['features'], { encoding: 'utf8', timeout: 15_000 });
  let lines: FeatureLine[] = [];
  try {
    lines = r.error ? [] : parseLines(r.stdout ?? '');
  } catch {
    lines = [];
  }
  if (lines.length === 0) {
    const ok = atLeast(kernelVersion(kernelRelease), KERNEL_MINIMUM);
    return [
      {
        name: 'kernel features',
        ok,
        detail: `not probed (${r.error ? r.error.message : `${bin} features: exit ${r.status}, ${(r.stderr ?? '').trim().split('\n')[0] ?? ''}`}); by version string ${kernelRelease} ${ok ? '≥' : '<'} ${KERNEL_MINIMUM.join('.')}`,
        hint: 'pnpm build (make -C bpf) so the kernel can be probed; Sluice needs bpf_loop (5.17), bpf_timer (5.15), cgroup/sock_release (5.9), the ring buffer (5.8)',
      },
    ];
  }
  return featureResults(lines, kernelRelease);
}
