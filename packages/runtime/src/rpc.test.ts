import { defineApi, IDENTITY_API, RpcReply } from '@sluice/contracts';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeReply, handleRequest, RpcError, type Handlers } from './rpc.ts';

const API = defineApi(
  'kit',
  'kit service',
  { add: z.strictObject({ a: z.number(), b: z.number().default(1) }), refuse: z.object({}), broken: z.object({}), crash: z.object({}) },
  { add: z.object({ sum: z.number() }), refuse: z.object({}), broken: z.object({ n: z.number() }), crash: z.object({}) },
);

class Domain extends Error {}

const handlers: Handlers<typeof API> = {
  add: ({ a, b }) => ({ sum: a + b }),
  refuse: () => {
    throw new RpcError('not_found', 'no such thing', { hint: 'look elsewhere' });
  },
  broken: async () => ({ n: 'not a number' }) as unknown as { n: number },
  crash: () => {
    throw new Domain('domain rule broken');
  },
};

/** Server then client, the way a request travels: what the caller gets back. */
async function roundTrip<V extends keyof typeof API.verbs & string>(verb: V, body: unknown, opts = {}) {
  const reply = await handleRequest(API, handlers, verb, JSON.stringify(body), opts);
  expect(RpcReply.safeParse(reply).success).toBe(true);
  return decodeReply(API, verb, `sluice.api.kit.${verb}`, JSON.stringify(reply));
}

describe('rpc kit', () => {
  it('validates the request (defaults applied) and returns the typed result', async () => {
    expect(await roundTrip('add', { a: 2 })).toEqual({ sum: 3 });
    expect(await handleRequest(API, handlers, 'add', '{"a":2,"b":5}')).toEqual({ ok: true, result: { sum: 7 } });
  });

  it('carries a refusal to the caller with its remote code, message and details', async () => {
    const err = await roundTrip('refuse', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ code: 'not_found', message: 'no such thing', details: { hint: 'look elsewhere' }, subject: 'sluice.api.kit.refuse' });
  });

  it('answers bad input with bad_request naming what and where', async () => {
    expect(await handleRequest(API, handlers, 'add', '{nope')).toMatchObject({ ok: false, error: { code: 'bad_request', message: /not JSON/ } });
    expect(await handleRequest(API, handlers, 'add', '{"a":"x","c":1}')).toMatchObject({
      ok: false,
      error: { code: 'bad_request', message: /invalid add request: a: .*number/, details: expect.arrayContaining([{ path: 'a', message: expect.any(String) }]) },
    });
    expect(await handleRequest(API, handlers, 'nonsense', '{}')).toMatchObject({ ok: false, error: { code: 'bad_request', message: /unknown verb "nonsense" \(one of add, refuse/ } });
    expect(await handleRequest(API, handlers, 'add', new Uint8Array([0xff, 0xfe]))).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  });

  it('maps handler errors through mapError, otherwise internal', async () => {
    expect(await handleRequest(API, handlers, 'crash', '{}')).toEqual({ ok: false, error: { code: 'internal', message: 'domain rule broken' } });
    const mapError = (e: unknown) => (e instanceof Domain ? { code: 'conflict', message: e.message } : undefined);
    expect(await handleRequest(API, handlers, 'crash', '{}', { mapError })).toEqual({ ok: false, error: { code: 'conflict', message: 'domain rule broken' } });
  });

  it('refuses to send a result that breaks its own schema', async () => {
    expect(await handleRequest(API, handlers, 'broken', '{}')).toMatchObject({ ok: false, error: { code: 'internal', message: /kit service built an invalid broken result: n:/ } });
  });

  it('stays silent for a request another server should answer', async () => {
    const accepts = (b: unknown) => (b as { node?: string } | undefined)?.node !== 'other';
    expect(await handleRequest(API, handlers, 'add', '{"a":1,"node":"other"}', { accepts })).toBeUndefined();
    expect(await handleRequest(API, handlers, 'add', '{"a":1}', { accepts })).toMatchObject({ ok: true });
  });

  it('client: a reply outside the envelope or the result schema is an internal error, not a crash', () => {
    const s = 'sluice.api.kit.add';
    expect(() => decodeReply(API, 'add', s, 'nope')).toThrow(/not JSON/);
    // The identity API's old reply shape: the reason was a bare string the CLI could not read.
    expect(() => decodeReply(API, 'add', s, '{"ok":false,"error":"cgroup_path \\"/x\\": ENOENT"}')).toThrow(/malformed reply .* envelope/);
    expect(() => decodeReply(API, 'add', s, '{"ok":true,"result":{"sum":"3"}}')).toThrow(/add result that breaks its schema: sum/);
  });

  it('identity lookup answers null when nobody is known, and that decodes', () => {
    expect(decodeReply(IDENTITY_API, 'lookup', 'sluice.api.identity.lookup', '{"ok":true,"result":null}')).toBeNull();
  });
});
