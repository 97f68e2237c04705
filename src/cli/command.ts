// What every command of the binary is: a one-line summary, a help text, and a main function that gets
// its arguments and its standard streams and environment from the composition root (so tests can run
// commands in-process and read what a user would see).
import type { Readable } from 'node:stream';

export interface Io {
  stdin: Readable;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
}

export interface Command {
  summary: string;
  usage(): string;
  /** Runs the command; resolves with the exit status. */
  main(args: string[], io: Io): Promise<number>;
}

/** Prints the command's help and returns 0 (exit status). */
export function printHelp(command: Command, io: Io): number {
  io.stdout.write(`${command.usage()}\n`);
  return 0;
}
