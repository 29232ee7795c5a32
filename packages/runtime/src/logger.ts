import { destination, pino, type Logger } from 'pino';

export type { Logger };

/** Logs are JSON lines on stderr: stdout stays free for machine output (CLI) and is never mixed. */
export function createLogger(service: string, level: string): Logger {
  return pino({ name: service, level, base: { service } }, destination({ fd: 2, sync: false }));
}
