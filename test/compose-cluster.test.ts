// The cluster compose deployment (infra/docker-compose.cluster.yml over docker-compose.yml), as
// docker-compose itself resolves it: `docker-compose config` validates and merges both files (no
// daemon involved), and the merged model is what this checks: three routed NATS servers, two
// OpenSearch nodes, R3 and the seed list for every service, the replicated services scaled.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fileURLToPath } from 'node:url';

const exec = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const secrets = Object.fromEntries(
  ['OPERATOR', 'VIEWER', 'POLICY', 'LEARNER', 'READER', 'ATTRIBUTOR', 'SINK', 'OTLP', 'REDIS'].map((n) => [`SLUICE_${n}_PASSWORD`, `test${n.toLowerCase()}`]),
);

interface Service {
  command?: string[];
  environment?: Record<string, string>;
  scale?: number;
}

describe('infra/docker-compose.cluster.yml', () => {
  it('merges with the base file into a 3-NATS, 2-OpenSearch deployment with replicated services', async () => {
    const files = ['docker-compose.yml', 'docker-compose.cluster.yml'].flatMap((f) => ['-f', join(REPO_ROOT, 'infra', f)]);
    const { stdout } = await exec('docker-compose', [...files, 'config'], { env: { PATH: process.env.PATH, ...secrets } });
    const services = (parse(stdout) as { services: Record<string, Service> }).services;
    const seeds = 'nats://nats:4222,nats://nats-2:4222,nats://nats-3:4222';
    for (const n of ['nats', 'nats-2', 'nats-3']) {
      expect(services[n]?.command, n).toEqual(['nats-server', '-c', '/etc/nats/routes.conf']);
      expect(services[n]?.environment?.SLUICE_OPERATOR_PASSWORD, n).toBe('testoperator');
    }
    expect(new Set(['nats', 'nats-2', 'nats-3'].map((n) => services[n]!.environment!.SLUICE_NATS_SERVER_NAME)).size).toBe(3);
    for (const s of ['policy', 'bpf-reader', 'attributor', 'learner', 'sink']) {
      const env = services[s]!.environment!;
      expect(env.NATS_URL, s).toBe(seeds);
      expect([env.STREAM_REPLICAS, env.KV_REPLICAS], s).toEqual(['3', '3']);
      // The base file's identity survives the merge.
      expect(env.NATS_USER, s).toBeTruthy();
    }
    for (const s of ['attributor', 'learner', 'sink']) expect(services[s]!.scale, s).toBe(2);
    for (const s of ['policy', 'bpf-reader']) expect(services[s]!.scale ?? 1, s).toBe(1);
    expect(services.sink!.environment!.OPENSEARCH_URL).toBe('http://opensearch:9200,http://opensearch-2:9200');
    expect(services.opensearch!.command).toContain('-Enode.name=sluice-1');
    expect(services['opensearch-2']!.command).toContain('-Enode.name=sluice-2');
  });
});
