// Runs a command in-process with captured output, as a user at a terminal would see it.
import { Readable } from 'node:stream';
import type { Command } from '../../../src/cli/command.ts';

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCommand(command: Command, args: string[], stdin = '', env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  const code = await command.main(args, {
    stdin: Readable.from([Buffer.from(stdin)]),
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env,
  });
  return { code, stdout, stderr };
}
