import { describe, expect, it } from 'vitest';
import { doing } from './doing.ts';
import { isTransientJetStreamError } from './retry-transient.ts';

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

describe('doing', () => {
  it('names the work in the message and keeps the class, name and transience', async () => {
    const err = await doing('info of stream SLUICE_RAW', Promise.reject(new TimeoutError('timeout'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toBe('info of stream SLUICE_RAW: timeout');
    expect(isTransientJetStreamError(err)).toBe(true);
  });

  it('names it once when the same work is wrapped twice, and passes values through', async () => {
    const inner = doing('x', Promise.reject(new Error('boom')));
    expect(((await doing('x', inner).catch((e: unknown) => e)) as Error).message).toBe('x: boom');
    await expect(doing('y', Promise.resolve(7))).resolves.toBe(7);
  });
});
