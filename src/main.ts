#!/usr/bin/env node
// The composition root: reads the command line and the environment, and starts the chosen command.
// Nothing else in the program reads process.env or creates clients at import time.
import { ConfigError } from './cli/args.ts';
import type { Command, Io } from './cli/command.ts';
import { topUsage, unknownCommand } from './cli/help.ts';
import { migrateCommand } from './cli/migrate/command.ts';
import { planCommand } from './cli/plan/command.ts';
import { runCommand } from './daemon/command.ts';
import { validateCommand } from './cli/validate/command.ts';

const commands = new Map<string, Command>([
  ['run', runCommand],
  ['plan', planCommand],
  ['validate', validateCommand],
  ['migrate', migrateCommand],
]);

/** Exit status of a usage error: an unknown command or flag, a bad flag value, a missing operand. */
const USAGE = 2;

function commandNamed(name: string): Command {
  const command = commands.get(name);
  if (!command) throw new ConfigError(unknownCommand(name, commands));
  return command;
}

async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const forCommand = name === 'help' && args[0] !== undefined ? commandNamed(args[0]) : undefined;
    io.stdout.write(`${forCommand ? forCommand.usage() : topUsage(commands)}\n`);
    return name === undefined ? USAGE : 0;
  }
  return commandNamed(name).main(args, io);
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
