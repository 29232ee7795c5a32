import { describe, expect, it } from 'vitest';
import { dockerSocket, testServer, testServers } from './servers.ts';

const PRIVATE = {
  NATS_URL: 'nats://127.0.0.1:14222',
  NATS_MONITOR_URL: 'http://127.0.0.1:18222',
  REDIS_URL: 'redis://127.0.0.1:16379',
  OPENSEARCH_URL: 'http://127.0.0.1:19200',
  DOCKER_HOST: 'unix:///run/sluice-test/docker.sock',
};

describe('test servers', () => {
  it('reads every endpoint from the environment', () => {
    expect(testServers(PRIVATE)).toEqual(PRIVATE);
    expect(testServer('REDIS_URL', PRIVATE)).toBe('redis://127.0.0.1:16379');
    expect(dockerSocket(PRIVATE)).toBe('/run/sluice-test/docker.sock');
  });

  it('never falls back to a default port: a missing variable names itself and scripts/test.sh', () => {
    const { NATS_URL: _, ...env } = PRIVATE;
    expect(() => testServer('NATS_URL', env)).toThrow(/NATS_URL is not set: .*scripts\/test\.sh/);
    expect(() => testServers({})).toThrow(/NATS_URL is not set; NATS_MONITOR_URL is not set; REDIS_URL is not set; OPENSEARCH_URL is not set; DOCKER_HOST is not set/);
  });

  it("refuses the default ports of a user's Sluice even when set", () => {
    expect(() => testServer('NATS_URL', { NATS_URL: 'nats://127.0.0.1:4222' })).toThrow(/default port/);
    expect(() => testServer('REDIS_URL', { REDIS_URL: 'redis://127.0.0.1:6379/0' })).toThrow(/default port/);
    expect(() => testServer('OPENSEARCH_URL', { OPENSEARCH_URL: 'http://127.0.0.1:9200' })).toThrow(/default port/);
    expect(() => testServer('NATS_MONITOR_URL', { NATS_MONITOR_URL: 'http://127.0.0.1:8222' })).toThrow(/default port/);
  });

  it('needs a unix socket for Docker', () => {
    expect(() => dockerSocket({ DOCKER_HOST: 'tcp://127.0.0.1:2375' })).toThrow(/unix:\/\//);
  });
});
