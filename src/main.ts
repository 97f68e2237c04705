#!/usr/bin/env node
// The composition root: reads the command line and the environment, and starts the chosen command.
// Nothing else in the program reads process.env or creates clients at import time.
import { ConfigError, parseConfig, usage } from './cli/config.ts';
import { run } from './cli/run.ts';

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'run':
      return run(parseConfig(args, process.env));
    case undefined:
    case 'help':
    case '--help':
      console.log(`usage: pullsecret-sync <command>\n\ncommands:\n  run    the controller daemon\n\n${usage()}`);
      return command === undefined ? 2 : 0;
    default:
      console.error(`pullsecret-sync: unknown command "${command}"`);
      return 2;
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
  if (err instanceof ConfigError) console.error(`pullsecret-sync: ${err.message}`);
  else console.error(err);
  process.exitCode = 1;
});
