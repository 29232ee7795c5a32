#!/usr/bin/env -S node --import tsx
import { allCommands, commandLoaders } from './commands/index.ts';
import { RpcError } from '@sluice/runtime';
import { UsageError, say } from './command.ts';
import { sourceStack } from './boot/stack.ts';

async function help(): Promise<string> {
  const commands = await allCommands();
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  return [
    'sluice — eBPF egress firewall and event pipeline for agent containers',
    '',
    'usage: sluice <command> [options]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'sluice <command> --help' for a command's options.",
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    say(await help());
    return name === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(commandLoaders, name) ? commandLoaders[name] : undefined;
  if (!load) {
    say(`sluice: unknown command '${name}'\n\n${await help()}`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    say(`usage: sluice ${command.usage}`);
    return 0;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      say(`sluice: ${err.message}`);
      process.exitCode = err.exitCode;
    } else if (err instanceof RpcError) {
      // A service's refusal (or silence) reaching a command that did not handle it: its reason, not a stack.
      say(`sluice: ${err.subject ?? 'request'}: ${err.code}: ${err.message}`);
      process.exitCode = err.code === 'bad_request' ? 2 : 1;
    } else {
      say(`sluice: ${err instanceof Error ? sourceStack(err, import.meta.url) : String(err)}`);
      process.exitCode = 1;
    }
  },
);
