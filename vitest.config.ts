import { defineConfig } from 'vitest/config';

// One project per test tier, named by file suffix so a file's tier is visible in its name:
//   *.test.ts         unit (pure logic, no servers)
//   *.int.test.ts     integration against the real servers from scripts/services.sh
//   *.kernel.test.ts  real BPF programs on the real kernel (root)
//   *.bypass.test.ts  known attacks against the kernel enforcement (root, real kernel); each fails if the attack succeeds
//   *.e2e.test.ts     the whole pipeline, Docker included
// Tiers run in that order (groupOrder) so heavy tiers never compete with each other for the 2 cores.
const ignored = ['**/node_modules/**', '**/.cache/**', '**/.run/**'];

// The cluster tier (`pnpm test:cluster`): 3 NATS + 2 OpenSearch nodes, two Sluice nodes, faults
// under load. Not in the default run: it needs the clusters up (test.sh brings them up when
// SLUICE_TEST_SERVERS names them) and the whole machine for several minutes.
const clusterTier = {
  test: {
    name: 'cluster',
    include: ['**/*.cluster.test.ts'],
    exclude: ignored,
    pool: 'forks' as const,
    poolOptions: { forks: { singleFork: true } },
    testTimeout: 1_800_000,
    hookTimeout: 900_000,
    sequence: { groupOrder: 5 },
  },
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: [...ignored, '**/*.int.test.ts', '**/*.kernel.test.ts', '**/*.bypass.test.ts', '**/*.e2e.test.ts', '**/*.cluster.test.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['**/*.int.test.ts'],
          exclude: ignored,
          // Files share the real servers (one NATS, one OpenSearch): one at a time keeps them honest.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 60_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'kernel',
          include: ['**/*.kernel.test.ts'],
          exclude: ignored,
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 60_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 2 },
        },
      },
      {
        test: {
          name: 'bypass',
          include: ['**/*.bypass.test.ts'],
          exclude: ignored,
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 60_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 3 },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['**/*.e2e.test.ts'],
          exclude: ignored,
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 300_000,
          hookTimeout: 900_000,
          sequence: { groupOrder: 4 },
        },
      },
      // The cluster tier exists only in a run whose clusters are up (test.sh exported their seed
      // lists): the README's default run never tries it.
      ...(process.env.NATS_CLUSTER_URL ? [clusterTier] : []),
    ],
  },
});

