// A loop over a stream of items (a KV watch, a consumer) that heals itself: when opening the
// stream, the stream itself or the handling of one item throws — or the stream simply ends — it is
// reopened after a backoff (doubling up to a cap, reset once a reopened stream delivers), and the
// outage is reported through onState so readiness goes red while the loop is down. Only stop()
// ends it.
import type { Logger } from './logger.ts';

export interface Stoppable<T> extends AsyncIterable<T> {
  stop(): void;
}

export interface SuperviseOptions {
  /** Names the loop in logs and in the state detail. */
  name: string;
  log: Logger;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Called with up=true once a stream is open, up=false with the reason when it failed. */
  onState?: (up: boolean, detail: string) => void;
  /** Called once per restart, with the reason (for a restarts counter). */
  onRestart?: (reason: string) => void;
  /** Injected in tests; resolves early when the loop is stopped. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface Supervised {
  readonly up: boolean;
  readonly restarts: number;
  stop(): Promise<void>;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export function supervise<T>(open: () => Promise<Stoppable<T>>, each: (item: T) => Promise<void>, opts: SuperviseOptions): Supervised {
  const initial = opts.initialBackoffMs ?? 250;
  const max = opts.maxBackoffMs ?? 30_000;
  const sleep = opts.sleep ?? abortableSleep;
  const abort = new AbortController();
  let current: Stoppable<T> | undefined;
  let up = false;
  let restarts = 0;
  const state = (ok: boolean, detail: string) => {
    up = ok;
    opts.onState?.(ok, detail);
  };

  const done = (async () => {
    let backoff = initial;
    while (!abort.signal.aborted) {
      let reason: string;
      try {
        current = await open();
        if (abort.signal.aborted) break;
        state(true, `${opts.name}: running`);
        let delivered = false;
        for await (const item of current) {
          if (abort.signal.aborted) break;
          if (!delivered) {
            delivered = true;
            backoff = initial; // a stream that delivers is healthy again
          }
          await each(item);
        }
        if (abort.signal.aborted) break;
        reason = 'the stream ended';
      } catch (err) {
        if (abort.signal.aborted) break;
        reason = (err as Error)?.message ?? String(err);
      } finally {
        current?.stop();
        current = undefined;
      }
      restarts++;
      state(false, `${opts.name} down (${reason}); restarting in ${backoff} ms`);
      opts.onRestart?.(reason);
      opts.log.error({ loop: opts.name, reason, backoffMs: backoff, restarts }, 'loop failed; restarting after backoff');
      await sleep(backoff, abort.signal);
      backoff = Math.min(max, backoff * 2);
    }
  })();

  return {
    get up() {
      return up;
    },
    get restarts() {
      return restarts;
    },
    async stop() {
      abort.abort();
      current?.stop();
      await done;
    },
  };
}
