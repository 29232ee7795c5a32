// The command table. Each command lives in its own file; add one line here per command.
// Loaded on demand: a command's module (and what only it needs: OpenSearch, YAML, Docker…) is
// imported when that command runs, so `sluice run` does not parse the whole CLI at every start.
import type { Command } from '../command.ts';

export const commandLoaders: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./run.ts')).run,
  up: async () => (await import('./up.ts')).up,
  down: async () => (await import('./down.ts')).down,
  status: async () => (await import('./status.ts')).status,
  doctor: async () => (await import('./doctor.ts')).doctor,
  tail: async () => (await import('./tail.ts')).tail,
  events: async () => (await import('./events.ts')).events,
  why: async () => (await import('./why.ts')).why,
  replay: async () => (await import('./replay.ts')).replay,
  learn: async () => (await import('./learn.ts')).learn,
  policy: async () => (await import('./policy.ts')).policy,
  identity: async () => (await import('./identity.ts')).identity,
};

/** Every command, in the table's order (for the help text: loads them all). */
export async function allCommands(): Promise<Command[]> {
  return Promise.all(Object.values(commandLoaders).map((load) => load()));
}
