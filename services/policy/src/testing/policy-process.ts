// The real policy service as a child process on a test's own NATS, pin dir and managed scope
// (never the host's real /sluice), for the kernel tests.
import { cgroup2Mount, type Sandbox } from '../../../../test/kernel/sandbox.ts';
import { HELPER } from '../../../../test/kernel/exec.ts';
import { startService, waitFor, type ServiceProcess } from '../../../../test/lib/service-process.ts';
import { freePort, TEST_PASSWORDS, type TestNats } from './nats-server.ts';

export async function policyEnv(nats: TestNats, sb: Sandbox, node: string): Promise<Record<string, string>> {
  return {
    NATS_URL: nats.url,
    NATS_USER: 'policy',
    NATS_PASSWORD: TEST_PASSWORDS.SLUICE_POLICY_PASSWORD,
    METRICS_PORT: String(await freePort()),
    NODE_NAME: node,
    SLUICE_BPF_BIN: HELPER,
    SLUICE_BPF_PIN: sb.pin,
    SLUICE_MANAGED_CGROUPS: sb.scope.slice(cgroup2Mount().length),
    RECONCILE_INTERVAL_S: '1',
    LOG_LEVEL: 'info',
  };
}

/** Starts the service and waits for its "ready" log line. */
export async function startPolicyService(nats: TestNats, sb: Sandbox, node: string): Promise<ServiceProcess> {
  const p = startService('policy', await policyEnv(nats, sb, node));
  await waitFor('policy service', async () => {
    if (p.child.exitCode !== null) throw new Error(`policy service exited ${p.child.exitCode}: ${p.stderr()}`);
    return p.stderr().includes('"msg":"ready"') ? true : undefined;
  });
  return p;
}
