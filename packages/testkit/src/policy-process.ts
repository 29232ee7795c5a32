// The real policy service as a child process on a test's own NATS, pin dir and managed scope
// (never the host's real /sluice), for the kernel tests.
import { findMount } from '@sluice/runtime';
import { freePort } from './free-port.ts';
import { TEST_PASSWORDS, type TestNats } from './nats-server.ts';
import { SLUICE_BPF } from './repo-paths.ts';
import { startService, type ServiceProcess } from './service-process.ts';
import { waitFor } from './wait-for.ts';

/** Where a kernel test keeps its state: its pin dir and its managed-scope cgroup (absolute path). */
export interface PolicySandbox {
  pin: string;
  scope: string;
}

export async function policyEnv(nats: TestNats, sb: PolicySandbox, node: string): Promise<Record<string, string>> {
  const cgroup2 = findMount('cgroup2');
  if (!cgroup2) throw new Error('no cgroup2 mount in /proc/self/mountinfo: the policy service needs cgroup v2');
  return {
    NATS_URL: nats.url,
    NATS_USER: 'policy',
    NATS_PASSWORD: TEST_PASSWORDS.SLUICE_POLICY_PASSWORD,
    METRICS_PORT: String(await freePort()),
    NODE_NAME: node,
    SLUICE_BPF_BIN: SLUICE_BPF,
    SLUICE_BPF_PIN: sb.pin,
    SLUICE_MANAGED_CGROUPS: sb.scope.slice(cgroup2.length),
    RECONCILE_INTERVAL_S: '1',
    LOG_LEVEL: 'info',
  };
}

/** Starts the service and waits for its "ready" log line; `extra` overrides settings (e.g. the canary's). */
export async function startPolicyService(nats: TestNats, sb: PolicySandbox, node: string, extra: Record<string, string> = {}): Promise<ServiceProcess> {
  const p = startService('policy', { ...(await policyEnv(nats, sb, node)), ...extra });
  await waitFor('policy service', async () => {
    if (p.child.exitCode !== null) throw new Error(`policy service exited ${p.child.exitCode}: ${p.stderr()}`);
    return p.stderr().includes('"msg":"ready"') ? true : undefined;
  });
  return p;
}
