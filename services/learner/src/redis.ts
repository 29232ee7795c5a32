// The learner's Redis client. Commands fail after a few retries instead of queueing forever, so a
// Redis outage turns into nak'ed messages (redelivered later) and a not-ready /readyz, not a hang.
import { Redis } from 'ioredis';

export function createRedis(url: string, opts: { lazyConnect?: boolean } = {}): Redis {
  return new Redis(url, { lazyConnect: opts.lazyConnect ?? false, maxRetriesPerRequest: 3 });
}
