// The binary's command table and its top-level help. The same entry answers as `pullsecret-sync` and,
// on the PATH as `kubectl-pullsecret_sync`, as the kubectl plugin `kubectl pullsecret-sync`.
import { closest } from './closest.ts';
import type { Command } from './command.ts';

export type Commands = ReadonlyMap<string, Command>;

export function topUsage(commands: Commands): string {
  const width = Math.max(...[...commands.keys()].map((n) => n.length));
  return [
    'usage: pullsecret-sync <command> [flags]      (also: kubectl pullsecret-sync <command>)',
    '',
    'commands:',
    ...[...commands].map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `pullsecret-sync <command> --help` for the flags of a command.',
    '',
    'Exit status: 0 done; 1 failed or found problems (see each command); 2 usage error (an unknown',
    'command or flag, a bad flag value, a missing operand), with one line saying what to fix.',
  ].join('\n');
}

/** The message for a command that does not exist, with the closest one. */
export function unknownCommand(name: string, names: readonly string[]): string {
  const hint = closest(name, names);
  return `unknown command "${name}"${hint ? `; did you mean "${hint}"?` : ''} (see pullsecret-sync --help)`;
}
