#!/usr/bin/env node
// The composition root: reads the command line and the environment, and starts the chosen command.
// Nothing else in the program reads process.env or creates clients at import time.
import { ConfigError } from './cli/args.ts';
import type { Command, Io } from './cli/command.ts';
import { topUsage, unknownCommand } from './cli/help.ts';

// Each command is imported only when it runs (or for the help text): the daemon never loads what only
// the other commands need, such as the YAML library and the CEL evaluator (docs/adr/0005-memory-design.md).
const commands = new Map<string, () => Promise<Command>>([
  ['run', async () => (await import('./daemon/command.ts')).runCommand],
  ['plan', async () => (await import('./cli/plan/command.ts')).planCommand],
  ['validate', async () => (await import('./cli/validate/command.ts')).validateCommand],
  ['migrate', async () => (await import('./cli/migrate/command.ts')).migrateCommand],
]);

/** Exit status of a usage error: an unknown command or flag, a bad flag value, a missing operand. */
const USAGE = 2;

async function commandNamed(name: string): Promise<Command> {
  const load = commands.get(name);
  if (!load) throw new ConfigError(unknownCommand(name, [...commands.keys()]));
  return load();
}

/** Every command, loaded: only the top-level help needs them all. */
async function allCommands(): Promise<Map<string, Command>> {
  return new Map(await Promise.all([...commands].map(async ([name, load]) => [name, await load()] as const)));
}

async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const forCommand = name === 'help' && args[0] !== undefined ? await commandNamed(args[0]) : undefined;
    io.stdout.write(`${forCommand ? forCommand.usage() : topUsage(await allCommands())}\n`);
    return name === undefined ? USAGE : 0;
  }
  return (await commandNamed(name)).main(args, io);
}

const io: Io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
main(process.argv.slice(2), io).then((code) => { process.exitCode = code; }, (err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(`pullsecret-sync: ${err.message}`);
    process.exitCode = USAGE;
    return;
  }
  console.error(err);
  process.exitCode = 1;
});
