// The rpc kit over a real NATS (NATS_URL): a served API answers typed results and typed refusals,
// replicas in one queue group answer once, and silence becomes `unavailable` naming the service.
// Subjects live under a prefix of this run's own, so a shared server is never disturbed.
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { defineApi } from '@sluice/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from './logger.ts';
import { request, RpcError, serveApi } from './rpc.ts';

/** The test run's private NATS (scripts/test.sh exports it); never a default port a user's Sluice may own. */
function natsUrl(): string {
  const url = process.env.NATS_URL;
  if (!url) throw new Error('NATS_URL is not set: run the tests through scripts/test.sh (its private instance)');
  return url;
}

const API = defineApi(
  'kit',
  'kit service',
  { echo: z.object({ text: z.string() }), refuse: z.object({}), slow: z.object({}) },
  { echo: z.object({ text: z.string(), by: z.string() }), refuse: z.object({}), slow: z.object({}) },
);
const prefix = `kittest.${randomBytes(4).toString('hex')}`;
const log = createLogger('rpc-test', 'silent');
let nc: NatsConnection;

beforeAll(async () => {
  nc = await connect({ servers: natsUrl() });
});
afterAll(async () => {
  await nc?.close();
});

describe('rpc kit over NATS', () => {
  it('serves typed results and refusals; a queue group answers each request once', async () => {
    const answered: string[] = [];
    const replica = (name: string) =>
      serveApi(
        nc,
        API,
        {
          echo: ({ text }) => ({ text, by: name }),
          refuse: () => {
            throw new RpcError('conflict', `${name} says no`, { why: 'test' });
          },
          slow: () => new Promise(() => undefined),
        },
        { queue: 'kit', log, prefix, onReply: (verb, outcome) => answered.push(`${name}:${verb}:${outcome}`) },
      );
    const subs = [replica('a'), replica('b')];
    try {
      await nc.flush();
      for (let i = 0; i < 6; i++) expect((await request(nc, API, 'echo', { text: `hi ${i}` }, { timeoutMs: 2000, prefix })).text).toBe(`hi ${i}`);
      expect(answered.filter((a) => a.endsWith(':echo:ok'))).toHaveLength(6);

      const err = await request(nc, API, 'refuse', {}, { timeoutMs: 2000, prefix }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcError);
      expect(err).toMatchObject({ code: 'conflict', message: expect.stringMatching(/^[ab] says no$/), details: { why: 'test' }, subject: `${prefix}.refuse` });

      const slow = await request(nc, API, 'slow', {}, { timeoutMs: 300, prefix }).catch((e: unknown) => e);
      expect(slow).toMatchObject({ code: 'unavailable', message: `kit service did not answer ${prefix}.slow: timed out (is it running? see sluice status)` });
    } finally {
      for (const s of subs) await s.drain();
    }
  });

  it('nothing serving: unavailable at once (no responders), naming the service and subject', async () => {
    const t0 = Date.now();
    const err = await request(nc, API, 'echo', { text: 'x' }, { timeoutMs: 10_000, prefix: `${prefix}.none` }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unavailable', message: `kit service did not answer ${prefix}.none.echo: no responders (is it running? see sluice status)` });
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
