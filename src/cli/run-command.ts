// `pullsecret-sync run` as a command of the binary: help, flag and environment parsing, then the daemon.
import type { Command } from './command.ts';
import { parseConfig, usage } from './config.ts';
import { run } from './run.ts';

export const runCommand: Command = {
  summary: 'run the controller daemon',
  usage,
  main: (args, io) => {
    const beforeDashDash = args.indexOf('--') < 0 ? args : args.slice(0, args.indexOf('--'));
    if (beforeDashDash.some((a) => a === '--help' || a === '-h')) {
      io.stdout.write(`${usage()}\n`);
      return Promise.resolve(0);
    }
    return run(parseConfig(args, io.env));
  },
};
