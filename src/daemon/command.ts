// `pullsecret-sync run` as a command of the binary: help, flag and environment parsing, then the daemon.
import { asksForHelp } from '../cli/args.ts';
import { printHelp, type Command } from '../cli/command.ts';
import { parseConfig, usage } from './config.ts';
import { run } from './run.ts';

export const runCommand: Command = {
  summary: 'run the controller daemon',
  usage,
  main: (args, io) => {
    if (asksForHelp(args)) return Promise.resolve(printHelp(runCommand, io));
    return run(parseConfig(args, io.env));
  },
};
