import { describe, expect, it } from 'vitest';
import { cliNatsServers } from './nats-servers.ts';

describe('cliNatsServers', () => {
  it('splits a cluster seed list and trims it', () => {
    expect(cliNatsServers('nats://a:1, nats://b:2 ,nats://c:3', {})).toEqual(['nats://a:1', 'nats://b:2', 'nats://c:3']);
  });
  it('falls back to NATS_URL, then the default instance', () => {
    expect(cliNatsServers(undefined, { NATS_URL: 'nats://x:9,nats://y:9' })).toEqual(['nats://x:9', 'nats://y:9']);
    expect(cliNatsServers(undefined, {})).toEqual(['nats://127.0.0.1:4222']);
  });
  it('names the entry that is not a NATS URL', () => {
    expect(() => cliNatsServers('nats://a:1,http://b:2', {})).toThrow(/"http:\/\/b:2" is not a nats:/);
    expect(() => cliNatsServers(' , ', {})).toThrow(/names no NATS server/);
  });
});
