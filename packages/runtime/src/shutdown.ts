import type { Logger } from './logger.ts';

export type ShutdownStep = { name: string; run: () => Promise<void> | void };

/**
 * Run the steps in order on SIGTERM/SIGINT (drain inputs first, then flush outputs, then close
 * servers), bounded by `timeoutMs` so an orchestrator's kill never finds us hung. Exit code
 * `exitCode` (0 on a signal) when every step finished, 1 otherwise.
 */
export function installShutdown(log: Logger, timeoutMs: number, steps: () => ShutdownStep[]): (exitCode?: number) => Promise<void> {
  let started = false;
  const shutdown = async (exitCode = 0): Promise<void> => {
    if (started) return;
    started = true;
    const timer = setTimeout(() => {
      log.error({ timeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    let failed = false;
    for (const step of steps()) {
      try {
        await step.run();
      } catch (err) {
        failed = true;
        log.error({ err, step: step.name }, 'shutdown step failed');
      }
    }
    log.info('stopped');
    log.flush();
    process.exitCode = failed ? 1 : exitCode;
    // Give pino's async destination a tick to write before exit.
    setImmediate(() => process.exit(process.exitCode));
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  return shutdown;
}
