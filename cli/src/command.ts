// A subcommand is a module in ./commands exporting a `Command`. The dispatcher stays tiny and
// uses node:util parseArgs, so the CLI carries no argument-parsing dependency.
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Returns the process exit code. argv excludes the command name. */
  run(argv: string[]): Promise<number>;
}

/** A user-facing error: printed without a stack trace, with the given exit code. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Chatter goes to stderr so stdout stays machine-readable. */
export const say = (line: string): void => void process.stderr.write(`${line}\n`);
export const out = (line: string): void => void process.stdout.write(`${line}\n`);
