// The OpenTelemetry context manager every Sluice service registers when it traces.
//
// Why not the SDK's default (AsyncLocalStorage): the first `context.with()` — the BatchSpanProcessor
// makes one around every export — turns on async hooks for the whole process, and from then on every
// promise pays for them. In the pipeline that was 6-8 % more CPU at 1 % sampling (bench/tracing.ts,
// session 6: attributor +10 %, sink +6 %), against a goal of 3 %. Sluice never relies on a context
// crossing an `await` by itself: a trace travels in message headers and is passed on explicitly
// (`startMessageSpan` returns the context, `injectTrace(headers, ctx)` takes it), so a context that
// lives for the synchronous extent of `with()` is all that is needed.
import { ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';

export class SyncContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;

  active(): Context {
    return this.current;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const previous = this.current;
    this.current = ctx;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.current = previous;
    }
  }

  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const fn = target as unknown as (...args: unknown[]) => unknown;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const manager = this;
    return function (this: unknown, ...args: unknown[]) {
      return manager.with(ctx, () => fn.apply(this, args));
    } as unknown as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.current = ROOT_CONTEXT;
    return this;
  }
}
